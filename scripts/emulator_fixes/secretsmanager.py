"""Secrets Manager: the current version is the one labelled AWSCURRENT."""
from __future__ import annotations

from moto.secretsmanager import models as sm_models


def current_version_follows_the_label() -> None:
    """GetSecretValue without VersionId/VersionStage answers the version labelled AWSCURRENT,
    and PutSecretValue labels that version AWSPREVIOUS.

    moto 5.2.5 answers from a `default_version_id` that only PutSecretValue moves: after
    UpdateSecretVersionStage moved AWSCURRENT (the last step of every rotation) it went on
    answering the old value, and the next PutSecretValue labelled the wrong version AWSPREVIOUS
    (and wiped every other label of it). AWS: the label is the truth; moving AWSCURRENT moves
    what an unqualified GetSecretValue returns, and a new AWSCURRENT version takes the label from
    the version holding it, which becomes AWSPREVIOUS (its other labels stay).
    """
    secret_cls = sm_models.FakeSecret

    def holder(secret, label="AWSCURRENT"):
        return next((vid for vid, v in secret.versions.items() if label in v["version_stages"]), None)

    def reset_default_version(self, secret_version, version_id):
        previous = holder(self)
        for version in self.versions.values():
            if "AWSPREVIOUS" in version["version_stages"]:
                version["version_stages"].remove("AWSPREVIOUS")
        if previous and previous != version_id:
            stages = self.versions[previous]["version_stages"]
            stages.remove("AWSCURRENT")
            stages.append("AWSPREVIOUS")
        self.versions[version_id] = secret_version
        self.default_version_id = version_id

    secret_cls.reset_default_version = reset_default_version

    backend_cls = sm_models.SecretsManagerBackend
    update_stage = backend_cls.update_secret_version_stage

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        answer = update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        secret = self.secrets[secret_id]
        if version_stage == "AWSCURRENT":
            secret.default_version_id = holder(secret) or secret.default_version_id
        return answer

    backend_cls.update_secret_version_stage = update_secret_version_stage


FIXES = (current_version_follows_the_label,)
