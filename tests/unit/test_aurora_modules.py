"""The aurora role's modules, run for real against the emulator (and its PostgreSQL server)."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from modules_helper import run_module

RUN = uuid.uuid4().hex[:8]  # names unique to this run: no test depends on earlier state
PASSWORD = "Unit0Test0Password0" + RUN


@pytest.fixture(scope="module")
def db_secret(aws):
    name = f"unit/aurora-{RUN}"
    value = {"username": f"u{RUN}", "password": PASSWORD, "engine": "postgres", "host": "", "port": "5432", "dbname": f"d{RUN}"}
    return aws("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))["ARN"], value


@pytest.fixture(scope="module")
def subnet_group(aws):
    ec2, rds = aws("ec2"), aws("rds")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    rds.create_db_subnet_group(DBSubnetGroupName=f"unit-{RUN}", DBSubnetGroupDescription="unit", SubnetIds=subnets)
    return f"unit-{RUN}"


def test_secret_fields_touch_only_their_keys_and_never_show_the_value(endpoint, aws, db_secret):
    arn, value = db_secret
    sm = aws("secretsmanager")
    fields = {"host": "db.example.internal", "port": "5432", "engine": "postgres", "dbname": value["dbname"]}
    planned = run_module(endpoint, "secretsmanager_secret_fields", {"secret_id": arn, "fields": fields}, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"]["host"] == "" and json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == value
    done = run_module(endpoint, "secretsmanager_secret_fields", {"secret_id": arn, "fields": fields}, diff=True)
    assert done["changed"] and done["secret"]["changed_fields"] == ["host"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == dict(value, host="db.example.internal")
    assert PASSWORD not in done["_stdout"] and PASSWORD not in planned["_stdout"]
    assert not run_module(endpoint, "secretsmanager_secret_fields", {"secret_id": arn, "fields": fields})["changed"]
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps(value))  # back, for the next tests


def test_secret_fields_refuse_a_non_json_secret_without_showing_it(endpoint, aws):
    arn = aws("secretsmanager").create_secret(Name=f"unit/plain-{RUN}", SecretString=PASSWORD)["ARN"]
    out = run_module(endpoint, "secretsmanager_secret_fields", {"secret_id": arn, "fields": {"host": "x"}})
    assert out.get("failed") and "does not hold a JSON object" in out["msg"] and PASSWORD not in out["_stdout"]


def test_secret_info_finds_the_arn_without_reading_the_value(endpoint, db_secret):
    out = run_module(endpoint, "secretsmanager_secret_info", {"name": f"unit/aurora-{RUN}"})
    assert out["secret"]["arn"] == db_secret[0] and PASSWORD not in out["_stdout"]
    missing = run_module(endpoint, "secretsmanager_secret_info", {"name": f"unit/none-{RUN}"})
    assert missing.get("failed") and "does not exist" in missing["msg"]


def test_cluster_parameter_group_plans_creates_and_changes_parameters(endpoint, aws):
    rds, name = aws("rds"), f"unit-params-{RUN}"
    args = {"name": name, "family": "aurora-postgresql16", "description": "unit", "parameters": {"rds.force_ssl": 1}}
    planned = run_module(endpoint, "rds_cluster_parameter_group", args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["after"]["parameters"] == {"rds.force_ssl": "1"}
    assert name not in [g["DBClusterParameterGroupName"] for g in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]]
    assert run_module(endpoint, "rds_cluster_parameter_group", args)["changed"]
    assert not run_module(endpoint, "rds_cluster_parameter_group", args)["changed"]
    changed = run_module(endpoint, "rds_cluster_parameter_group", dict(args, parameters={"rds.force_ssl": "0"}), diff=True)
    assert changed["changed"] and changed["diff"]["before"]["parameters"] == {"rds.force_ssl": "1"}
    refused = run_module(endpoint, "rds_cluster_parameter_group", dict(args, family="aurora-postgresql15"))
    assert refused.get("failed") and "a family cannot change" in refused["msg"]
    assert run_module(endpoint, "rds_cluster_parameter_group", {"name": name, "state": "absent"})["changed"]
    assert not run_module(endpoint, "rds_cluster_parameter_group", {"name": name, "state": "absent"})["changed"]


def test_cluster_lifecycle(endpoint, aws, db_secret, subnet_group):
    rds, ident = aws("rds"), f"unit-cluster-{RUN}"
    args = {"identifier": ident, "engine_version": "16.6", "master_user_secret": db_secret[0], "database_name": "streams",
            "db_subnet_group_name": subnet_group, "min_capacity": 0, "max_capacity": 4, "seconds_until_auto_pause": 600,
            "deletion_protection": True, "cloudwatch_logs_exports": ["postgresql"]}
    planned = run_module(endpoint, "rds_serverless_cluster", args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["after"]["master_user_password"].startswith("(read from the secret")
    assert rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": [ident]}])["DBClusters"] == []
    created = run_module(endpoint, "rds_serverless_cluster", args)
    assert created["changed"] and PASSWORD not in created["_stdout"]
    resource_id = created["cluster"]["resource_id"]
    assert not run_module(endpoint, "rds_serverless_cluster", args)["changed"]
    # A scaling change is made in place.
    scaled = run_module(endpoint, "rds_serverless_cluster", dict(args, max_capacity=8), diff=True)
    assert scaled["changed"] and scaled["diff"]["before"]["max_capacity"] == 4.0 and scaled["cluster"]["max_capacity"] == 8.0
    assert rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["DbClusterResourceId"] == resource_id
    # What cannot change in place is refused, never replaced.
    refused = run_module(endpoint, "rds_serverless_cluster", dict(args, database_name="other"))
    assert refused.get("failed") and "cannot change in place" in refused["msg"]
    # Instances: writer, then refusal to delete a cluster that still has them.
    writer = {"identifier": f"{ident}-writer", "cluster_identifier": ident, "availability_zone": "us-east-1a",
              "monitoring_interval": 60, "monitoring_role_arn": "arn:aws:iam::123456789012:role/unit", "performance_insights": True}
    assert run_module(endpoint, "rds_cluster_instance", writer)["changed"]
    assert not run_module(endpoint, "rds_cluster_instance", writer)["changed"]
    assert run_module(endpoint, "rds_cluster_instance", dict(writer, monitoring_interval=0))["changed"]
    assert rds.describe_db_instances(DBInstanceIdentifier=f"{ident}-writer")["DBInstances"][0]["MonitoringInterval"] == 0
    # Deletion protection stops the deletion unless it may be turned off.
    protected = run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent"})
    assert protected.get("failed") and "deletion protection on" in protected["msg"]
    assert run_module(endpoint, "rds_cluster_instance", {"identifier": f"{ident}-writer", "state": "absent", "wait": True})["changed"]
    gone = run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent", "disable_deletion_protection": True,
                                                           "final_snapshot_identifier": f"{ident}-final", "wait": True})
    assert gone["changed"] and gone["final_snapshot"] == f"{ident}-final"
    snaps = rds.describe_db_cluster_snapshots(DBClusterIdentifier=ident)["DBClusterSnapshots"]
    assert [(s["DBClusterSnapshotIdentifier"], s["SnapshotType"]) for s in snaps] == [(f"{ident}-final", "manual")]
    assert not run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent"})["changed"]
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=f"{ident}-final")


def test_cluster_created_from_a_rotated_secret_gets_the_master_user(endpoint, aws, subnet_group):
    """After a rotation the kept secret names the clone, which a new cluster lacks: the cluster is
    created with master_username and the secret's password, and the secret names the master again."""
    sm, rds, ident = aws("secretsmanager"), aws("rds"), f"unit-rotated-{RUN}"
    value = {"username": f"u{RUN}_clone", "password": PASSWORD, "engine": "postgres", "host": "", "port": "5432", "dbname": "streams"}
    arn = sm.create_secret(Name=f"unit/rotated-{RUN}", SecretString=json.dumps(value))["ARN"]
    args = {"identifier": ident, "engine_version": "16.6", "master_user_secret": arn, "master_username": f"u{RUN}",
            "db_subnet_group_name": subnet_group}
    created = run_module(endpoint, "rds_serverless_cluster", args)
    assert created["changed"] and created["secret_realigned"] and PASSWORD not in created["_stdout"]
    assert any("now names" in w for w in created.get("warnings", []))
    assert rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["MasterUsername"] == f"u{RUN}"
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == dict(value, username=f"u{RUN}")
    again = run_module(endpoint, "rds_serverless_cluster", args)
    assert not again["changed"] and not again["secret_realigned"]
    refused = run_module(endpoint, "rds_serverless_cluster", dict(args, master_username="someoneelse"))
    assert refused.get("failed") and "master_username" in refused["msg"]
    assert run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent", "wait": True})["changed"]


def test_cluster_rejects_bad_capacity_before_any_call():
    bad = run_module("http://127.0.0.1:9", "rds_serverless_cluster", {"identifier": "x", "min_capacity": 8, "max_capacity": 4})
    assert bad.get("failed") and "allowed 0 <= min <= max <= 256 ACU" in bad["msg"]


def test_master_user_follows_the_secret_and_drops_cleanly(endpoint, aws, db_secret, pg_admin_url):
    arn, value = db_secret
    args = {"admin_url": pg_admin_url, "secret_id": arn}
    planned = run_module(endpoint, "postgresql_master_user", args, check=True)
    assert planned["changed"] and planned["actions"] == [f"create role {value['username']}", f"create database {value['dbname']} owned by {value['username']}"]
    made = run_module(endpoint, "postgresql_master_user", args)
    assert made["changed"] and PASSWORD not in made["_stdout"]
    login = made["login"]
    with psycopg.connect(host=login["host"], port=login["port"], user=value["username"], password=PASSWORD, dbname=value["dbname"]):
        pass
    assert not run_module(endpoint, "postgresql_master_user", args)["changed"]
    # A new password in the secret (rotation): the role follows it.
    aws("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(dict(value, password=PASSWORD + "x")))
    moved = run_module(endpoint, "postgresql_master_user", args)
    assert moved["actions"] == [f"set the password of role {value['username']} to the secret's"] and PASSWORD not in moved["_stdout"]
    dropped = run_module(endpoint, "postgresql_master_user",
                         {"admin_url": pg_admin_url, "username": value["username"], "database": value["dbname"], "state": "absent"})
    assert dropped["changed"] and dropped["actions"] == [f"drop database {value['dbname']}", f"drop role {value['username']}"]
    aws("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(value))
