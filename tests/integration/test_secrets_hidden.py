"""No secret value appears in any playbook's output, even at -vvv (brief, rule 4)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from harness import ROOT

STATE_DIR = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state"))  # per xdist worker


def secret_values(aws, env: str) -> list[str]:
    sm = aws("secretsmanager")
    values = []
    for secret in sm.list_secrets()["SecretList"]:
        if f"/{env}/" not in secret["Name"]:
            continue
        raw = sm.get_secret_value(SecretId=secret["ARN"])["SecretString"]
        values.append(raw)
        if raw.startswith("{"):
            values.append(json.loads(raw)["password"])
    return values


def test_deploy_outputs_and_teardown_at_vvv_show_no_secret(empty_account, playbook, aws):
    deploy = playbook("deploy", "local", "-vvv")
    values = secret_values(aws, "local")
    assert len(values) == 4  # database JSON + its password, JWT secret, encryption key
    rerun = playbook("deploy", "local", "-vvv", "--diff")
    outputs = playbook("outputs", "local", "-vvv")
    for run in (deploy, rerun, outputs):
        for value in values:
            assert value not in run.out
    # Nothing the project writes to disk holds them either.
    written = [p for p in STATE_DIR.rglob("*") if p.is_file() and p.stat().st_size < 5_000_000]
    for path in written:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not any(v in text for v in values), path
    teardown = playbook("teardown", "local", "-vvv")
    for value in values:
        assert value not in teardown.out
