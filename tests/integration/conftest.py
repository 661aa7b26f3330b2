"""Integration harness: run the real playbooks against the emulator, then query its state."""
from __future__ import annotations

import os
import subprocess

import pytest
from harness import PLAYBOOK, ROOT, Run, reset_emulator

EMULATOR_ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(scope="session")
def playbook(endpoint):
    """run(name, env, *args): ansible-playbook playbooks/<name>.yml -i inventories/<env>, on the emulator."""

    def run(name: str, env: str = "local", *args: str, endpoint_url: str | None = None, check: bool = True) -> Run:
        cmd = [str(PLAYBOOK), f"playbooks/{name}.yml", "-i", f"inventories/{env}"]
        if env != "local" or endpoint_url:
            cmd += ["-e", f"aws_endpoint_url={endpoint_url or endpoint}"]
        if env != "local":
            # The emulator's account, named as an operator names theirs (staging and production
            # require it: preflight pins them to it). A later -e of a test overrides it.
            cmd += ["-e", f"aws_account_id={EMULATOR_ACCOUNT}"]
        if env in ("staging", "production"):
            # Their deploys stop at security-broadening changes (a first deploy is all of them) until
            # approved; the tests approve, as the operator would. test_change_safety checks the stop.
            cmd += ["-e", "approve=broadening"]
        cmd += list(args)
        env_vars = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env_vars, timeout=900, check=False)
        result = Run(proc.returncode, proc.stdout + proc.stderr)
        if check and result.rc != 0:
            raise AssertionError(f"{' '.join(cmd)} failed (rc={result.rc}):\n{result.out[-6000:]}")
        return result

    return run


@pytest.fixture
def empty_account(endpoint):
    """A fresh, empty emulated account for this test."""
    reset_emulator(endpoint)
    yield
