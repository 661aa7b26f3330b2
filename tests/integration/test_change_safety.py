"""Issue 13 against the emulator: the plan line, drift and approval on a deployed production stack;
dev applying without asking, the history and the cost on the local inventory.

The production inventory, aimed at the emulator, is deployed once for the module; each of its
tests changes it out of band or reads it, and asserts on the account's real state. Those tests
(and staging's check run) are the slow tier (`make test-all`); the local ones need no stack of
production and run in `make test`.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
from harness import PLAYBOOK, ROOT, reset_emulator

SERVER_LOG_GROUP = "/aws/lambda/stream-sales-production-server"


@pytest.fixture(scope="module")
def emptied(endpoint):
    """An empty emulator, once for the module."""
    reset_emulator(endpoint)


@pytest.fixture(scope="module")
def production(emptied, playbook):
    first = playbook("deploy", "production")
    return first


def lines(out: str) -> list:
    return [line for line in out.splitlines() if line.strip()]


def summary(out: str) -> str:
    """The run's last line on stdout (Run.out has stderr's warnings after it)."""
    found = re.findall(r"^(Plan: .*|Applied: .*|No changes\.)$", out, re.M)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
def test_a_deploy_ends_with_what_it_did_by_role(production):
    last = summary(production.out)
    assert re.fullmatch(r"Applied: \d+ created, \d+ changed, 0 deleted(, \d+ changed without a diff)?\.", last), last
    assert int(re.match(r"Applied: (\d+) created", last).group(1)) >= 30
    for role in ("network", "secrets", "storage", "aurora", "app_lambda", "cdn", "outputs"):
        assert re.search(rf"^\s+{role}\s+\d+ created", production.out, re.M), role


@pytest.mark.slow
def test_check_on_an_empty_account_ends_with_the_plan(production, playbook, aws):
    # staging has never been deployed on this emulator: its check run plans from nothing.
    run = playbook("deploy", "staging", "--check", "--diff")
    plan = summary(run.out)
    found = re.fullmatch(r"Plan: (\d+) to create, (\d+) to change, 0 to delete\.", plan)
    assert found, plan
    assert int(found.group(1)) >= 40  # VPC, 6 subnets, gateways, route tables, secrets, buckets, functions...
    assert found.group(2) == "0", plan  # nothing exists to change (the site's files are creates too)
    for role in ("network", "secrets", "storage", "aurora", "app_lambda", "cdn"):
        assert re.search(rf"^\s+{role}\s+\d+ to create", run.out, re.M), role
    assert not [v for v in aws("ec2").describe_vpcs()["Vpcs"] if {"Key": "Environment", "Value": "staging"} in v.get("Tags", [])]


def db_ingress(aws, env):
    groups = aws("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"stream-sales-{env}-database"]}])["SecurityGroups"]
    return groups[0]


def revoke_db_ingress(aws, env):
    group = db_ingress(aws, env)
    assert group["IpPermissions"], "the 5432 rule should be there"
    aws("ec2").revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])


def retention(aws):
    return aws("logs").describe_log_groups(logGroupNamePrefix=SERVER_LOG_GROUP)["logGroups"][0]["retentionInDays"]


# One out-of-band scenario on the deployed stack, so that the stack is planned as few times as the
# assertions need: the server's log retention shortened (drift, not security) and the database's
# ingress rule revoked (putting it back broadens access, so production asks first).
@pytest.mark.slow
def test_drift_then_a_broadening_redeploy_of_production_stops_until_approved(production, playbook, aws):
    aws("logs").put_retention_policy(logGroupName=SERVER_LOG_GROUP, retentionInDays=1)
    revoke_db_ingress(aws, "production")
    app_group = aws("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["stream-sales-production-app"]}])["SecurityGroups"][0]["GroupId"]

    # Drift, over the whole stack: exactly these two differences, and nothing written.
    drift = playbook("drift", "production", check=False)
    assert drift.rc == 2
    assert "Drift: stream-sales-production differs from the code" in " ".join(drift.out.split())
    assert "Log groups, created by us with the environment's retention" in drift.out  # the differences, listed
    assert "Network | Security groups" in drift.out
    assert summary(drift.out) == "Plan: 0 to create, 2 to change, 0 to delete."
    assert retention(aws) == 1 and db_ingress(aws, "production")["IpPermissions"] == []  # drift changed nothing

    # The deploy's plan pass finds one broadening change (the rule, not the retention) and stops
    # before anything changes. The drift above planned the whole stack: these two roles hold all
    # its changes. -e approve= takes back the approval the test harness gives staging and production.
    stopped = playbook("deploy", "production", "--tags", "network,app", "-e", "approve=", check=False)
    flat = " ".join(stopped.out.split())
    assert stopped.rc != 0
    assert (f"security group stream-sales-production-database | rule opened: ingress tcp 5432 from {app_group} | yes") in flat
    assert "1 security-broadening change(s) need approval in production" in flat and "nothing was changed" in flat
    assert summary(stopped.out) == "No changes."
    assert db_ingress(aws, "production")["IpPermissions"] == [] and retention(aws) == 1  # nothing was changed

    listed = playbook("deploy", "production", "--tags", "network", "--check", "--diff", "-e", "approve=")
    assert f"rule opened: ingress tcp 5432 from {app_group}" in listed.out
    assert db_ingress(aws, "production")["IpPermissions"] == []

    # Approved, the roles that differ are redeployed (each role's tag works alone).
    approved = playbook("deploy", "production", "--tags", "network,app", "-e", "approve=broadening")
    assert summary(approved.out) == "Applied: 0 created, 2 changed, 0 deleted."
    rule = db_ingress(aws, "production")["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"], [p["GroupId"] for p in r["UserIdGroupPairs"]]) for r in rule] == [(5432, 5432, [app_group])]
    assert retention(aws) == 30
    assert playbook("drift", "production", "--tags", "network,app").rc == 0


@pytest.mark.slow
def test_a_no_change_deploy_of_production_asks_nothing_and_changes_nothing(production, playbook):
    # no change, no question: one plan pass, then nothing to approve or apply
    again = playbook("deploy", "production", "-e", "approve=")
    assert again.changed == 0 and summary(again.out) == "No changes."


@pytest.mark.slow
def test_no_change_check_of_production_prints_no_changes_in_a_few_lines(production, playbook):
    run = playbook("deploy", "production", "--check", "--diff")
    assert run.changed == 0
    assert summary(run.out) == "No changes."
    assert len(run.out.splitlines()) <= 40, run.out  # stdout and stderr


@pytest.mark.slow
def test_production_history_holds_no_secret(production, playbook, aws):
    records = history(playbook, "-e", "history_limit=50", env="production")
    text = json.dumps(records)
    # production's own deploys, the stopped one included
    assert {(r["operation"], r["result"]) for r in records} >= {("deploy", "succeeded"), ("deploy", "failed")}
    for name in ("database/credentials", "jwt/secret", "encryption/key"):
        value = aws("secretsmanager").get_secret_value(SecretId=f"stream-sales/production/{name}")["SecretString"]
        assert value not in text
        if name == "database/credentials":
            assert json.loads(value)["password"] not in text


def test_dev_applies_the_same_without_asking(emptied, playbook, aws):
    playbook("deploy", "local", "--tags", "network")
    revoke_db_ingress(aws, "local")
    run = playbook("deploy", "local", "--tags", "network", "-e", "approve=")
    assert "Security-relevant changes planned" not in run.out and "need approval" not in run.out
    assert summary(run.out) == "Applied: 0 created, 1 changed, 0 deleted."
    assert db_ingress(aws, "local")["IpPermissions"][0]["FromPort"] == 5432


# History, on the local inventory and its secrets (a small, complete operation each time).
SECRETS = ("--tags", "kms,secrets")  # the secrets are encrypted with the environment's key


def history(playbook, *args, env="local"):
    run = playbook("history", env, "-e", "history_format=json", *args)
    return json.loads(re.search(r"msg: \|-\n(.*?)\n\n", run.out, re.S).group(1))


def test_history_lists_a_deploy_a_failed_deploy_and_a_teardown(emptied, playbook, aws):
    # The outputs' parameters are there already when an earlier run of local left them (the
    # network's VPCId): then the deploy changes them rather than creating them.
    outputs_before = aws("ssm").get_parameters_by_path(Path="/stream-sales/local/outputs")["Parameters"]
    deployed = playbook("deploy", "local", *SECRETS)
    assert deployed.rc == 0
    secrets = [aws("secretsmanager").get_secret_value(SecretId=f"stream-sales/local/{name}")["SecretString"]
               for name in ("database/credentials", "jwt/secret", "encryption/key")]
    secrets.append(json.loads(secrets[0])["password"])
    # A colleague's lock makes the next deploy fail, after its start was recorded.
    now = int(time.time())
    aws("dynamodb").put_item(TableName="stream-sales-local-locks", Item={
        "lock_id": {"S": "stream-sales-local"}, "owner": {"S": "alice@laptop"}, "operation": {"S": "deploy"},
        "started_at": {"S": "2026-12-04T10:00:00Z"}, "expires_at": {"S": "2099-01-01T00:00:00Z"},
        "expires_epoch": {"N": str(now + 3600)}, "token": {"S": "alice"}})
    failed = playbook("deploy", "local", *SECRETS, check=False)
    assert failed.rc != 0
    aws("dynamodb").delete_item(TableName="stream-sales-local-locks", Key={"lock_id": {"S": "stream-sales-local"}})
    playbook("teardown", "local", *SECRETS)

    records = history(playbook)
    assert [(r["operation"], r["result"]) for r in records[:3]] == [
        ("teardown", "succeeded"), ("deploy", "failed"), ("deploy", "succeeded")]
    teardown, failed_deploy, deploy = records[:3]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    for record in (teardown, failed_deploy, deploy):
        assert record["user"] and record["host"] and record["caller"] == "arn:aws:sts::123456789012:user/moto"
        assert record["collection_version"] == "0.1.0" and record["git_commit"] == commit
        assert record["duration_seconds"] > 0 and record["finished_at"] > record["started_at"]
    # the three secrets, and the outputs in SSM
    outputs_action = "change" if outputs_before else "create"
    # and the environment's KMS key (made, or its scheduled deletion cancelled when a teardown left it)
    [key] = [c for c in deploy["changes"] if c["role"] == "kms"]
    assert {(c["role"], c["action"]) for c in deploy["changes"] if c["role"] != "kms"} == {
        ("secrets", "create"), ("outputs", outputs_action)}
    counts = {"create": 3, outputs_action: 1} if outputs_before else {"create": 4}
    counts[key["action"]] = counts.get(key["action"], 0) + 1
    assert deploy["counts"] == counts, deploy["changes"]
    assert {(c["role"], c["item"]) for c in deploy["changes"]} >= {("secrets", "stream-sales/local/jwt/secret"), ("outputs", "")}
    assert "Lock | Take the environment's lock" in failed_deploy["failed_task"]["task"]
    assert "stream-sales-local is locked by alice@laptop (deploy)" in failed_deploy["failed_task"]["msg"]
    assert teardown["counts"].get("delete", 0) >= 3

    assert not [value for value in secrets if value in json.dumps(records)]  # no secret in the history

    table = playbook("history", "local").out
    assert re.search(r"teardown\s+\| succeeded \|\s+\d+ s \|", table)
    assert re.search(r"deploy\s+\| failed\s+\|.*Lock \| Take the environment's lock", table)
    assert re.search(rf"deploy\s+\| succeeded \|.*\| {counts.get('create', 0)} ~ {counts.get('change', 0)} - 0\s+\|", table)


def test_a_killed_run_stays_visible_as_unfinished(emptied, playbook, aws, endpoint):
    cmd = [str(PLAYBOOK), "playbooks/deploy.yml", "-i", "inventories/local", *SECRETS]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            items = aws("dynamodb").scan(TableName="stream-sales-local-history").get("Items", []) \
                if "stream-sales-local-history" in aws("dynamodb").list_tables()["TableNames"] else []
            if any(json.loads(i["record"]["S"])["result"] == "running" for i in items):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the deploy never recorded its start")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    records = history(playbook)
    assert (records[0]["operation"], records[0]["result"]) == ("deploy", "running")
    records = history(playbook, "-e", "history_stale_after_seconds=0")
    assert records[0]["result"] == "unfinished" and "finished_at" not in records[0]
    # its lock is left behind: the next run takes it over, as for any killed run
    playbook("teardown", "local", *SECRETS, "-e", "break_lock=true")


def test_cost_of_the_three_environments(playbook):
    totals = {}
    for env in ("dev", "staging", "production"):
        run = playbook("cost", env)
        total = re.search(r"Total\s+\|\s+([\d,.]+) \|\s+([\d,.]+) \|", run.out)
        totals[env] = tuple(float(t.replace(",", "")) for t in total.groups())
        # The emulator has no Price List API: the dated table, and the output says so.
        assert "Prices: the table of 2025-11-01 (us-east-1 prices): the Price List API did not answer" in run.out
        for profile in ("idle", "active"):
            assert re.search(rf"  {profile}: \$[\d,.]+ is (within the seed's \$\d+-\d+\.|(above|below) the seed's \$\d+-\d+; "
                             r"the largest items: .+ \$[\d,.]+ \(.+\))", run.out), (env, profile)
        for resource in ("Aurora Serverless v2 capacity", "NAT gateways", "Lambda", "CloudFront", "S3", "CloudWatch",
                         "Secrets Manager", "KMS", "AWS WAF"):
            assert re.search(rf"^\s+{re.escape(resource)}", run.out, re.M), (env, resource)
    assert totals["dev"][0] < totals["staging"][0] < totals["production"][0]
    assert totals["dev"][1] < totals["staging"][1] < totals["production"][1]
    assert 50 <= totals["dev"][1] <= 100  # dev active: within the seed's range
