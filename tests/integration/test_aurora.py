"""The aurora role: cluster shape per environment, in-place changes, the secret, the stand-in, teardown."""
from __future__ import annotations

import json
import re
import time

import psycopg
import pytest

from harness import reset_emulator

# Only the roles the database depends on: the app/cdn roles are tested on their own.
TAGS = ("--tags", "network,secrets,aurora")
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


def test_dev_first_deploy_never_shows_the_password(dev, aws):
    password = secret(aws, "dev")["password"]
    assert len(dev.out) > 50000 and password not in dev.out  # -vvv: module args and results in full


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
    assert {p["ParameterName"]: p["ParameterValue"] for p in params}["rds.force_ssl"] == "1"
    members = instances(aws, "dev")
    assert list(members) == ["stream-sales-dev-writer"]
    assert members["stream-sales-dev-writer"]["DBInstanceClass"] == "db.serverless"
    assert members["stream-sales-dev-writer"].get("MonitoringInterval", 0) == 0


def test_dev_secret_gets_host_and_keeps_password(dev, aws):
    current, previous = secret(aws, "dev"), secret(aws, "dev", "AWSPREVIOUS")
    c = cluster(aws, "dev")
    assert current["host"] == c["Endpoint"] and current["port"] == "5432"
    assert current["engine"] == "postgres" and current["dbname"] == "streams" and current["username"] == "dbadmin"
    assert previous["host"] == "" and current["password"] == previous["password"] and len(current["password"]) == 32
    out = outputs(aws, "dev")
    assert out["DatabaseEndpoint"] == c["Endpoint"]
    command = out["DatabaseConnectCommand"]
    arn = aws("secretsmanager").describe_secret(SecretId="stream-sales/dev/database/credentials")["ARN"]
    assert command.startswith("aws secretsmanager get-secret-value") and arn in command and "| jq -r" in command
    assert current["password"] not in command and "sslmode=require" in command


def test_dev_rerun_changes_nothing(dev, playbook):
    start = time.monotonic()
    second = playbook("deploy", "dev", *TAGS)
    TIMINGS["no-change rerun (dev)"] = time.monotonic() - start
    assert second.changed == 0, second.out[-3000:]


def test_dev_scaling_change_modifies_in_place(dev, playbook, aws):
    before = cluster(aws, "dev")
    run = playbook("deploy", "dev", *TAGS, "-e", "aurora_max_capacity=8", "--diff")
    assert run.changed == 1, run.out[-3000:]
    after = cluster(aws, "dev")
    assert after["DbClusterResourceId"] == before["DbClusterResourceId"]
    assert after["ClusterCreateTime"] == before["ClusterCreateTime"]
    assert after["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8.0
    assert after["ServerlessV2ScalingConfiguration"]["SecondsUntilAutoPause"] == 600
    assert len(aws("rds").describe_db_clusters()["DBClusters"]) == 1
    # And back, in place again.
    assert playbook("deploy", "dev", *TAGS).changed == 1
    assert cluster(aws, "dev")["DbClusterResourceId"] == before["DbClusterResourceId"]


def test_dev_teardown_leaves_no_cluster_and_no_snapshot(dev, playbook, aws):
    run = playbook("teardown", "dev", "--tags", "aurora")
    assert run.recap["failed"] == 0
    rds = aws("rds")
    assert cluster(aws, "dev") is None and instances(aws, "dev") == {}
    assert rds.describe_db_cluster_snapshots()["DBClusterSnapshots"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert [g for g in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
            if g["DBClusterParameterGroupName"].startswith("stream-sales-dev")] == []
    assert playbook("teardown", "dev", "--tags", "aurora").changed == 0


# ---- production: writer + reader, monitoring, deletion protection, final snapshot -------------

@pytest.fixture(scope="module")
def production(endpoint, playbook):
    reset_emulator(endpoint)
    start = time.monotonic()
    first = playbook("deploy", "production", *TAGS, "--diff")
    TIMINGS["first deploy (production)"] = time.monotonic() - start
    return first


def test_production_shape(production, aws):
    c = cluster(aws, "production")
    assert c["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 4.0, "MaxCapacity": 16.0}
    assert c["BackupRetentionPeriod"] == 30 and c["DeletionProtection"] is True
    members = instances(aws, "production")
    writer, reader = members["stream-sales-production-writer"], members["stream-sales-production-reader"]
    assert writer["AvailabilityZone"] != reader["AvailabilityZone"]
    assert writer["PromotionTier"] == 0 and reader["PromotionTier"] == 1
    role = aws("iam").get_role(RoleName="stream-sales-production-rds-monitoring")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    for member in (writer, reader):
        assert member["MonitoringInterval"] == 60 and member["MonitoringRoleArn"] == role["Arn"]
    # moto does not report PerformanceInsightsEnabled: what the module asked for is in its result.
    assert re.search(r"performance_insights\W+true", production.out)


def test_production_rerun_changes_nothing(production, playbook):
    second = playbook("deploy", "production", *TAGS)
    assert second.changed == 0, second.out[-3000:]


def test_production_teardown_honours_deletion_protection(production, playbook, aws):
    confirm = ("-e", "confirm_teardown=stream-sales-production")
    refused = playbook("teardown", "production", *confirm, check=False)
    assert refused.rc != 0
    assert "has deletion protection on" in refused.out and "-e disable_deletion_protection=true" in refused.out
    assert cluster(aws, "production") is not None and len(instances(aws, "production")) == 2
    assert "DatabaseEndpoint" in outputs(aws, "production")  # stopped before anything was deleted

    run = playbook("teardown", "production", *confirm, "-e", "disable_deletion_protection=true", "--tags", "aurora")
    assert cluster(aws, "production") is None and instances(aws, "production") == {}
    snaps = manual_snapshots(aws, "production")
    assert len(snaps) == 1 and re.fullmatch(r"stream-sales-production-final-\d{14}", snaps[0])
    assert f"DB cluster snapshot {snaps[0]}" in run.out  # reported as kept on purpose
    with pytest.raises(aws("iam").exceptions.NoSuchEntityException):
        aws("iam").get_role(RoleName="stream-sales-production-rds-monitoring")
    again = playbook("teardown", "production", *confirm, "--tags", "aurora")
    assert again.changed == 0 and manual_snapshots(aws, "production") == snaps


# ---- local: the real PostgreSQL stand-in ------------------------------------------------------

@pytest.fixture(scope="module")
def local(endpoint, playbook, pg_admin_url):
    reset_emulator(endpoint)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS streams WITH (FORCE)")
        conn.execute("DROP ROLE IF EXISTS dbadmin")
    return playbook("deploy", "local", *TAGS)


def test_stand_in_login_works_with_the_secret(local, aws, emulator):
    creds = secret(aws, "local")
    assert creds["host"] == "127.0.0.1" and creds["port"] == str(emulator["pg_port"])
    with psycopg.connect(host=creds["host"], port=creds["port"], user=creds["username"],
                         password=creds["password"], dbname=creds["dbname"]) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("dbadmin", "streams")
    assert creds["password"] not in local.out


def test_stand_in_rerun_changes_nothing_and_never_shows_the_password(local, playbook, aws):
    run = playbook("deploy", "local", *TAGS, "-vvv", "--diff")
    assert run.changed == 0, run.out[-3000:]
    assert secret(aws, "local")["password"] not in run.out


def test_stand_in_follows_a_new_password(local, playbook, aws):
    # Rotation (or a recreated secret) changes the password: the stand-in role follows it.
    creds = secret(aws, "local")
    creds["password"] = "Rotated0Password0For0The0Test0x"
    aws("secretsmanager").put_secret_value(SecretId="stream-sales/local/database/credentials", SecretString=json.dumps(creds))
    run = playbook("deploy", "local", *TAGS, "-vvv")
    assert run.changed == 1 and creds["password"] not in run.out
    with psycopg.connect(host=creds["host"], port=creds["port"], user="dbadmin", password=creds["password"], dbname="streams"):
        pass


def test_report_timings():
    print("\n" + "\n".join(f"{k}: {v:.1f} s" for k, v in TIMINGS.items()))
