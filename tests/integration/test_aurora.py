"""The aurora role: cluster shape per environment, in-place changes, the secret and the engine, the tag alone, teardown."""
from __future__ import annotations

import json
import time
import urllib.request

import psycopg
import pytest

from harness import reset_emulator

# Only the roles the database depends on: the app/cdn roles are tested on their own.
TAGS = ("--tags", "kms,network,secrets,aurora")
TIMINGS: dict = {}


def cluster(aws, env):
    found = aws("rds").describe_db_clusters(
        Filters=[{"Name": "db-cluster-id", "Values": [f"stream-sales-{env}-cluster"]}])["DBClusters"]
    return found[0] if found else None


def instances(aws, env):
    return {i["DBInstanceIdentifier"]: i for i in aws("rds").describe_db_instances()["DBInstances"]
            if i.get("DBClusterIdentifier") == f"stream-sales-{env}-cluster"}


def secret(aws, env, stage="AWSCURRENT"):
    value = aws("secretsmanager").get_secret_value(
        SecretId=f"stream-sales/{env}/database/credentials", VersionStage=stage)["SecretString"]
    return json.loads(value)


def login(creds, **options):
    """A session as the app opens one: the secret's host, port, user and password, TLS required."""
    options.setdefault("sslmode", "require")
    return psycopg.connect(host=creds["host"], port=creds["port"], user=creds["username"], password=creds["password"],
                           dbname=creds["dbname"], connect_timeout=5, **options)


def manual_snapshots(aws, env):
    snaps = aws("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]
    return [s["DBClusterSnapshotIdentifier"] for s in snaps
            if s["DBClusterSnapshotIdentifier"].startswith(f"stream-sales-{env}-")]


def outputs(aws, env):
    params = aws("ssm").get_parameters_by_path(Path=f"/stream-sales/{env}/outputs")["Parameters"]
    return {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in params}


# ---- dev: auto-pause, in-place change, secret, teardown without snapshot ----------------------

@pytest.fixture(scope="module")
def dev(endpoint, playbook):
    reset_emulator(endpoint)
    start = time.monotonic()
    first = playbook("deploy", "dev", *TAGS, "-vvv", "--diff")
    TIMINGS["first deploy (dev, -vvv)"] = time.monotonic() - start
    return first


def test_check_on_empty_account_plans_the_database_and_creates_nothing(endpoint, playbook, aws):
    reset_emulator(endpoint)
    run = playbook("deploy", "dev", *TAGS, "--check", "--diff")
    assert aws("rds").describe_db_clusters()["DBClusters"] == []
    assert aws("rds").describe_db_subnet_groups()["DBSubnetGroups"] == []
    plan = " ".join(run.out.split())  # the YAML callback wraps long lines
    assert "cluster stream-sales-dev-cluster aurora-postgresql 16.6, 0-4 ACU, auto-pause after 600 s" in plan
    assert "writer stream-sales-dev-writer db.serverless" in plan and "DB subnet group stream-sales-dev-database" in plan


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_first_deploy_never_shows_the_password(dev, aws):
    password = secret(aws, "dev")["password"]
    assert len(dev.out) > 50000 and password not in dev.out  # -vvv: module args and results in full


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_cluster_shape(dev, aws):
    c = cluster(aws, "dev")
    assert c["Engine"] == "aurora-postgresql" and c["EngineVersion"] == "16.6" and c["EngineMode"] == "provisioned"
    assert c["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.0, "MaxCapacity": 4.0, "SecondsUntilAutoPause": 600}
    assert c["MasterUsername"] == "dbadmin" and c["DatabaseName"] == "streams"
    assert c["StorageEncrypted"] is True and c["BackupRetentionPeriod"] == 7 and c["DeletionProtection"] is False
    assert c["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert {"Key": "Environment", "Value": "dev"} in c["TagList"]
    ec2, rds = aws("ec2"), aws("rds")
    db_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["stream-sales-dev-database"]}])["SecurityGroups"][0]
    assert [g["VpcSecurityGroupId"] for g in c["VpcSecurityGroups"]] == [db_sg["GroupId"]]
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=c["DBSubnetGroup"])["DBSubnetGroups"][0]
    subnet_ids = [s["SubnetIdentifier"] for s in group["Subnets"]]
    tiers = {t["Value"] for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"] for t in s["Tags"] if t["Key"] == "Tier"}
    assert len(subnet_ids) == 2 and tiers == {"isolated"}
    params = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=c["DBClusterParameterGroup"])["Parameters"]
    assert {p["ParameterName"]: p.get("ParameterValue") for p in params}["rds.force_ssl"] == "1"
    members = instances(aws, "dev")
    assert list(members) == ["stream-sales-dev-writer"]
    assert members["stream-sales-dev-writer"]["DBInstanceClass"] == "db.serverless"
    assert members["stream-sales-dev-writer"].get("MonitoringInterval", 0) == 0


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_secret_gets_host_and_keeps_password(dev, aws):
    current, previous = secret(aws, "dev"), secret(aws, "dev", "AWSPREVIOUS")
    c = cluster(aws, "dev")
    assert current["host"] == c["Endpoint"] and current["port"] == str(c["Port"])
    assert current["engine"] == "postgres" and current["dbname"] == "streams" and current["username"] == "dbadmin"
    assert previous["host"] == "" and current["password"] == previous["password"] and len(current["password"]) == 32
    out = outputs(aws, "dev")
    assert out["DatabaseEndpoint"] == c["Endpoint"]
    command = out["DatabaseConnectCommand"]
    arn = aws("secretsmanager").describe_secret(SecretId="stream-sales/dev/database/credentials")["ARN"]
    assert command.startswith("aws secretsmanager get-secret-value") and arn in command and "| jq -r" in command
    assert current["password"] not in command and "sslmode=require" in command
    # The engine: the secret logs in over TLS (rds.force_ssl=1 refuses anything else), to a
    # database its user owns; the Data API is on.
    assert c["HttpEndpointEnabled"] is True
    with login(current) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user, pg_get_userbyid(datdba) FROM pg_database "
                            "WHERE datname = current_database()").fetchone() == ("dbadmin", "dbadmin")
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        login(current, sslmode="disable")


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_rerun_changes_nothing(dev, playbook):
    start = time.monotonic()
    second = playbook("deploy", "dev", *TAGS)
    TIMINGS["no-change rerun (dev)"] = time.monotonic() - start
    assert second.changed == 0, second.out[-3000:]


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_aurora_tag_alone_applies_a_scaling_change_in_place(dev, playbook, aws):
    """--tags aurora alone: the network and secrets roles do not run; the role finds the isolated
    subnets, the database security group and the secret, and changes exactly the capacity."""
    before = cluster(aws, "dev")
    run = playbook("deploy", "dev", "--tags", "aurora", "-e", "aurora_max_capacity=8", "--diff")
    assert run.changed == 1, run.out[-3000:]
    assert "Network |" not in run.out and "Secrets |" not in run.out
    after = cluster(aws, "dev")
    assert after["DbClusterResourceId"] == before["DbClusterResourceId"]
    assert after["ClusterCreateTime"] == before["ClusterCreateTime"]
    assert after["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8.0
    assert after["ServerlessV2ScalingConfiguration"]["SecondsUntilAutoPause"] == 600
    assert len(aws("rds").describe_db_clusters()["DBClusters"]) == 1
    # And back, in place again; the tag alone then changes nothing.
    assert playbook("deploy", "dev", *TAGS).changed == 1
    assert cluster(aws, "dev")["DbClusterResourceId"] == before["DbClusterResourceId"]
    assert playbook("deploy", "dev", "--tags", "aurora").changed == 0


@pytest.mark.slow  # long tier: dev's own stack (the gate's local stack in test_deploy has dev's shape)
def test_dev_teardown_leaves_no_cluster_and_no_snapshot(dev, playbook, aws):
    creds = secret(aws, "dev")
    run = playbook("teardown", "dev", "--tags", "aurora")
    assert run.recap["failed"] == 0
    with pytest.raises(psycopg.OperationalError):  # the engine went with the cluster
        login(creds)
    rds = aws("rds")
    assert cluster(aws, "dev") is None and instances(aws, "dev") == {}
    assert rds.describe_db_cluster_snapshots()["DBClusterSnapshots"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert [g for g in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
            if g["DBClusterParameterGroupName"].startswith("stream-sales-dev")] == []
    assert playbook("teardown", "dev", "--tags", "aurora").changed == 0


# ---- production: its database shape, rerun and teardown with deletion protection are checked
# on test_environments.py's full production deploy (one production deploy in the suite).


# ---- the tag alone on an empty account says what it needs ------------------------------------

def test_aurora_tag_alone_on_an_empty_account_names_what_it_needs(endpoint, playbook, aws):
    reset_emulator(endpoint)
    for extra in ((), ("--check",)):
        run = playbook("deploy", "dev", "--tags", "aurora", *extra, check=False)
        assert run.rc != 0, run.out[-2000:]
        message = " ".join(run.out.split())
        assert "The database of dev needs two isolated subnets tagged Tier=isolated, Environment=dev" in message
        assert "the security group stream-sales-dev-database (network role)" in message
        assert "the secret stream-sales/dev/database/credentials (secrets role)" in message
    assert aws("rds").describe_db_clusters()["DBClusters"] == []
    assert aws("rds").describe_db_subnet_groups()["DBSubnetGroups"] == []


def test_report_timings():
    print("\n" + "\n".join(f"{k}: {v:.1f} s" for k, v in TIMINGS.items()))


# ---- on AWS's clock: the deploy goes on while the instances come up; migrate waits for them --

def clock(endpoint: str, factor: str | None) -> None:
    """The emulator's scaled AWS clock (scripts/emulator_fixes/clock.py; None: instant)."""
    req = urllib.request.Request(f"{endpoint}/_stream_sales/clock", data=json.dumps({"factor": factor}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def test_deploy_leaves_the_instances_coming_up_and_migrate_waits_for_them(endpoint, playbook, aws):
    """Instances take 480 s on AWS (1/16 here: 30 s): the deploy ends while they are creating,
    nothing it made needed them; migrate waits until they are available, then applies."""
    reset_emulator(endpoint)
    clock(endpoint, "1/16")
    try:
        playbook("deploy", "local", *TAGS)
        assert {i["DBInstanceStatus"] for i in instances(aws, "local").values()} == {"creating"}
        run = playbook("migrate", "local", "-v")  # -v: the ok wait task is shown
        assert "Aurora | Wait for the instances" in run.out and "applied: " in run.out
        assert {i["DBInstanceStatus"] for i in instances(aws, "local").values()} == {"available"}
        assert playbook("migrate", "local").changed == 0
    finally:
        clock(endpoint, None)
