"""One operation per environment at a time: deploy, migrate and teardown take the environment's
lock (roles/lock, a conditional write in DynamoDB), give it back on success and on failure, and
refuse clearly while someone else holds it. Deploys stay small (--tags network / secrets)."""
from __future__ import annotations

import datetime
import os
import re
import subprocess
import time

import pytest

from harness import PLAYBOOK, ROOT, Run, reset_emulator

ENV = "local"
TABLE = f"stream-sales-{ENV}-locks"
LOCK_ID = f"stream-sales-{ENV}"


def start(name: str, *args: str) -> subprocess.Popen:
    """ansible-playbook playbooks/<name>.yml -i inventories/local, in the background."""
    env_vars = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    return subprocess.Popen([str(PLAYBOOK), f"playbooks/{name}.yml", "-i", f"inventories/{ENV}", *args], cwd=ROOT,
                            env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> Run:
    out = proc.communicate(timeout=600)[0]
    return Run(proc.returncode, out)


def held(aws) -> dict | None:
    ddb = aws("dynamodb")
    if TABLE not in ddb.list_tables()["TableNames"]:
        return None
    return ddb.get_item(TableName=TABLE, Key={"lock_id": {"S": LOCK_ID}}, ConsistentRead=True).get("Item")


def release_status(out: str) -> str:
    """ok / skipping: how the run's `always:` step that gives the lock back ended (in a run made
    with -v: the concise callback prints no ok or skipped task otherwise)."""
    return re.findall(r"Give the environment's lock back\] \*+\n(\w+)", out)[-1]


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hold_lock(aws, owner: str = "alice@laptop", operation: str = "rotate", token: str = "alices-token") -> dict:
    """A colleague's lock, valid for an hour (written as operation_lock writes it)."""
    now = time.time()
    item = {"lock_id": {"S": LOCK_ID}, "owner": {"S": owner}, "operation": {"S": operation},
            "started_at": {"S": iso(now)}, "expires_at": {"S": iso(now + 3600)},
            "expires_epoch": {"N": str(int(now + 3600))}, "token": {"S": token}}
    aws("dynamodb").put_item(TableName=TABLE, Item=item)
    return item


def state(aws) -> dict:
    """What a refused run must leave untouched."""
    ec2, sm = aws("ec2"), aws("secretsmanager")
    env = [{"Name": "tag:Environment", "Values": [ENV]}]
    return {
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs(Filters=env)["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=env)["Subnets"]),
        "secrets": sorted((s["Name"], bool(s.get("DeletedDate"))) for s in sm.list_secrets()["SecretList"]),
        "versions": sorted(len(sm.list_secret_version_ids(SecretId=s["ARN"])["Versions"]) for s in sm.list_secrets()["SecretList"]),
        "parameters": sorted(p["Name"] for p in aws("ssm").describe_parameters()["Parameters"]),
    }


@pytest.fixture(scope="module")
def fresh(endpoint):
    reset_emulator(endpoint)


def test_concurrent_deploys_one_refuses_clearly_the_other_completes(fresh, playbook, aws):
    runs = [start("deploy", "--tags", "network", "-v"), start("deploy", "--tags", "network", "-v")]
    first, second = (finish(p) for p in runs)
    done, refused = (first, second) if first.rc == 0 else (second, first)
    assert done.rc == 0, done.out[-3000:]
    assert refused.rc != 0, "both deploys ran: the lock let two operations in at once"
    assert f"{LOCK_ID} is locked by " in refused.out and "(deploy) since " in refused.out and ", until " in refused.out
    assert "Nothing was changed" in refused.out and "-e break_lock=true" in refused.out
    assert refused.changed == 0
    # The refused run did not take, and so did not give back, the winner's lock.
    assert release_status(refused.out) == "skipping"
    assert held(aws) is None  # the winner gave the lock back
    # Nothing half-built: the network is complete (a rerun changes nothing).
    again = playbook("deploy", ENV, "--tags", "network")
    assert again.changed == 0, again.out[-3000:]
    assert held(aws) is None


def test_a_waiting_deploy_runs_after_the_other(fresh, playbook, aws):
    runs = [start("deploy", "--tags", "kms,secrets", "-e", "lock_wait_seconds=300") for _run in range(2)]
    results = [finish(p) for p in runs]
    assert [r.rc for r in results] == [0, 0], results[0].out[-2000:] + results[1].out[-2000:]
    assert held(aws) is None
    assert len(aws("secretsmanager").list_secrets()["SecretList"]) == 3


@pytest.mark.parametrize("operation,args", [
    ("deploy", ("--tags", "kms,secrets")),
    ("teardown", ()),
    ("migrate", ()),
])
def test_a_held_lock_refuses_before_anything_changes(fresh, playbook, aws, operation, args):
    lock = hold_lock(aws)
    before = state(aws)
    run = playbook(operation, ENV, *args, check=False)
    assert run.rc != 0
    assert run.recap["changed"] == 0 and run.recap["failed"] == 1
    msg = (f"{LOCK_ID} is locked by alice@laptop (rotate) since {lock['started_at']['S']}, "
           f"until {lock['expires_at']['S']}. Nothing was changed.")
    assert msg in " ".join(run.out.split()), run.out[-3000:]
    assert "-e break_lock=true" in run.out
    assert state(aws) == before
    assert held(aws) == lock  # still alice's


def test_check_mode_reads_the_lock_and_plans_anyway(fresh, playbook, aws):
    lock = hold_lock(aws)
    run = playbook("deploy", ENV, "--tags", "kms,secrets", "--check", "--diff")
    assert "is locked by alice@laptop (rotate)" in run.out
    assert held(aws) == lock


def test_break_lock_takes_a_stale_lock_over(fresh, playbook, aws):
    hold_lock(aws, owner="killed@ci", operation="deploy")
    run = playbook("deploy", ENV, "--tags", "kms,secrets", "-e", "break_lock=true")
    assert "Took over the lock of killed@ci (deploy, since " in " ".join(run.out.split())
    assert run.changed == 0
    assert held(aws) is None


@pytest.mark.parametrize("operation,args", [
    # The app role alone on an empty account: it finds no network to run in, under the lock (a
    # missing build is refused earlier, in preflight, before the lock is taken).
    ("deploy", ("--tags", "app")),
    # Only secrets were deployed: the database secret has no host yet.
    ("migrate", ()),
])
def test_a_failing_run_gives_the_lock_back(fresh, playbook, aws, operation, args):
    assert held(aws) is None
    run = playbook(operation, ENV, *args, "-v", check=False)
    assert run.rc != 0 and run.recap["failed"] == 1
    assert "TASK [stream_sales.platform.lock : Lock | Take the environment's lock" in run.out, run.out[-3000:]  # failed under it
    assert release_status(run.out) == "ok"
    assert held(aws) is None
    # The next operation is not refused.
    assert playbook("deploy", ENV, "--tags", "kms,secrets").changed == 0
