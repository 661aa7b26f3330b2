"""kill -9 of ansible leaves no module behind that keeps calling AWS (module_utils/controller_watch).

A module waiting on a lock held by someone else polls DynamoDB every few seconds; the test kills
the ansible process that runs it and asserts that the module process ends and the polling stops.
The test process makes itself the subreaper of what it starts, so orphans stay visible to it.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from modules_helper import run_module

ROOT = Path(__file__).resolve().parents[2]


def descendants() -> list:
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                procs[int(pid)] = (int(fields[1]), fields[0])
            except OSError:
                pass
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {p for p, (ppid, ignored) in procs.items() if ppid in frontier} - mine
        mine |= frontier
    return sorted(p for p in mine if procs[p][1] != "Z")


def get_items(endpoint) -> int:
    calls = json.loads(urllib.request.urlopen(endpoint + "/_stream_sales/faults", timeout=10).read())["counters"]["calls"]
    return calls.get("dynamodb.GetItem", {}).get("requests", 0)


@pytest.fixture
def held_lock(emulator, tmp_path):
    if not Path("/proc/self").is_dir():
        pytest.skip("the controller watch needs /proc")
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    endpoint = emulator["aws_endpoint_url"]
    args = {"table": f"watch-{uuid.uuid4().hex[:8]}", "lock_id": "watched"}
    assert run_module(endpoint, "operation_lock", dict(args, owner="colleague"))["changed"]
    # The waiter: polls the held lock for up to 5 minutes.
    waiter = dict(args, owner="me", wait_seconds=300, endpoint_url=endpoint, region="us-east-1",
                  access_key="testing", secret_key="testing")
    yield endpoint, waiter
    ctypes.CDLL(None).prctl(36, 0, 0, 0, 0)


def killed_and_quiet(proc, endpoint, log: Path, base: set, polls: int):
    deadline = time.monotonic() + 120
    while get_items(endpoint) < polls + 2:  # the module is polling
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(4)
    survivors = [p for p in descendants() if p not in base]
    polled = get_items(endpoint)
    time.sleep(8)
    calls = get_items(endpoint) - polled
    for pid in survivors:  # ours: do not leave them to the next test
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert survivors == [], f"left behind: {survivors}"
    assert calls == 0  # nobody calls AWS any more


@pytest.mark.slow
def test_ad_hoc_module_stops_with_ansible(held_lock, tmp_path):
    """Without the callback (ad hoc): the module finds ansible among its ancestors."""
    endpoint, waiter = held_lock
    log = tmp_path / "adhoc.log"
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv/bin/python"))
    env.pop("STREAM_SALES_CONTROLLER", None)
    base, polls = set(descendants()), get_items(endpoint)  # the emulator may be ours too
    proc = subprocess.Popen([str(ROOT / ".venv/bin/ansible"), "localhost", "-m", "stream_sales.platform.operation_lock",
                             "-a", json.dumps(waiter)], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    killed_and_quiet(proc, endpoint, log, base, polls)


# The default strategy (ansible.cfg) in the gate; plain linear in the long tier.
@pytest.mark.parametrize("strategy", [pytest.param("linear", marks=pytest.mark.slow), "mitogen_linear"])
def test_playbook_module_stops_with_ansible_playbook(held_lock, tmp_path, strategy):
    """ansible-playbook with the collection's ansible.cfg: the controller_pid callback names it."""
    endpoint, waiter = held_lock
    playbook = tmp_path / "wait.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Wait for the lock", "stream_sales.platform.operation_lock": waiter}]}]))
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=str(ROOT / ".venv/bin/python"))
    if strategy != "linear":
        import ansible_mitogen

        env.update(ANSIBLE_STRATEGY_PLUGINS=str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"),
                   ANSIBLE_STRATEGY=strategy)
    log = tmp_path / "playbook.log"
    base, polls = set(descendants()), get_items(endpoint)
    proc = subprocess.Popen([str(ROOT / ".venv/bin/ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local"],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    killed_and_quiet(proc, endpoint, log, base, polls)
