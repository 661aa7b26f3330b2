"""secretsmanager.current_version_follows_the_label."""
from __future__ import annotations

import uuid


def labels(sm, name):
    return {v: sorted(s) for v, s in sm.describe_secret(SecretId=name)["VersionIdsToStages"].items()}


def test_moving_awscurrent_moves_the_unqualified_answer(aws):
    sm = aws("secretsmanager")
    name = "t/" + uuid.uuid4().hex
    first = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    second = sm.put_secret_value(SecretId=name, SecretString="two", VersionStages=["AWSPENDING"])["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=second,
                                   RemoveFromVersionId=first)
    answer = sm.get_secret_value(SecretId=name)
    assert (answer["VersionId"], answer["SecretString"]) == (second, "two")
    assert labels(sm, name)[first] == ["AWSPREVIOUS"]

    # A later PutSecretValue: AWSPREVIOUS goes to the version that held AWSCURRENT (second).
    third = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "three"
    found = labels(sm, name)
    assert found[third] == ["AWSCURRENT"] and found[second] == ["AWSPENDING", "AWSPREVIOUS"]
    assert found.get(first, []) == []
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
