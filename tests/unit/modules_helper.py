"""Run one of our modules (or an upstream one, by FQCN) for real (ansible ad hoc, JSON callback) against the emulator."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_module(endpoint: str, name: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    args = dict(args, endpoint_url=endpoint, region="us-east-1", access_key="testing", secret_key="testing")
    fqcn = name if "." in name else f"stream_sales.platform.{name}"  # ours, or e.g. amazon.aws.rds_instance
    cmd = [str(ROOT / ".venv/bin/ansible"), "localhost", "-m", fqcn, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv/bin/python"))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    out = json.loads(proc.stdout)
    result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stdout"] = proc.stdout
    return result
