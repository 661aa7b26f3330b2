"""The aurora role's modules, run for real against the emulator (its RDS runs each cluster on PostgreSQL)."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from modules_helper import calls_of, counters, faults, run_module

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


def test_cluster_parameter_group_read_once_and_a_resent_create_adopted(endpoint, aws):
    """rds_cluster_parameter_group as the aurora role calls it: values compared (AWS reports
    ApplyMethod pending-reboot whatever was sent), one read of each kind on a no-change run."""
    rds, name = aws("rds"), f"unit-params-{RUN}"
    args = {"name": name, "family": "aurora-postgresql16", "description": "unit", "parameters": {"rds.force_ssl": "1"},
            "tags": {"Project": "unit"}}
    module = "rds_cluster_parameter_group"
    assert run_module(endpoint, module, args, check=True)["changed"]
    assert name not in [g["DBClusterParameterGroupName"] for g in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]]
    faults(endpoint, r"lost=1,count=1,match=rds\.CreateDBClusterParameterGroup")  # took effect, its answer lost: resent
    made = run_module(endpoint, module, args)
    lost = counters(endpoint)["faults"]
    faults(endpoint)
    assert made["changed"] and not made.get("failed") and lost == {"lost": 1}, made.get("msg")
    values = {q["ParameterName"]: q.get("ParameterValue") for q in rds.describe_db_cluster_parameters(
        DBClusterParameterGroupName=name)["Parameters"]}
    assert values["rds.force_ssl"] == "1"
    arn = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=name)["DBClusterParameterGroups"][0]["DBClusterParameterGroupArn"]
    assert {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]} == {"Project": "unit"}
    faults(endpoint)
    again = run_module(endpoint, module, args, diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {"rds.DescribeDBClusterParameterGroups": 1, "rds.DescribeDBClusterParameters": 1,
                                      "rds.ListTagsForResource": 1}
    # A value changed out of band is put back; a family change is refused.
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=name, Parameters=[
        {"ParameterName": "rds.force_ssl", "ParameterValue": "0", "ApplyMethod": "immediate"}])
    assert run_module(endpoint, module, dict(args, apply_method="immediate"))["changed"]
    assert not run_module(endpoint, module, dict(args, apply_method="immediate"))["changed"]  # converges whatever the method
    refused = run_module(endpoint, module, dict(args, family="aurora-postgresql15", parameters={"rds.force_ssl": "0"}))
    assert refused.get("failed") and "cannot change in place" in refused["msg"]
    assert run_module(endpoint, module, {"name": name, "state": "absent"})["changed"]
    assert not run_module(endpoint, module, {"name": name, "state": "absent"})["changed"]


def test_db_subnet_group_read_once_and_a_resent_create_adopted(endpoint, aws):
    ec2, rds, name = aws("ec2"), aws("rds"), f"unit-subnets-{RUN}"
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"), (3, "c"))]
    args = {"name": name, "description": "unit", "subnets": subnets[:2], "tags": {"Project": "unit"}}
    module = "rds_db_subnet_group"
    assert run_module(endpoint, module, args, check=True)["changed"]
    faults(endpoint, r"lost=1,count=1,match=rds\.CreateDBSubnetGroup")  # took effect, its answer lost: resent
    made = run_module(endpoint, module, args)
    lost = counters(endpoint)["faults"]
    faults(endpoint)
    assert made["changed"] and not made.get("failed") and lost == {"lost": 1}, made.get("msg")
    assert made["subnet_group"]["vpc_id"] == vpc
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(subnets[:2])
    faults(endpoint)
    again = run_module(endpoint, module, args, diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {"rds.DescribeDBSubnetGroups": 1, "rds.ListTagsForResource": 1}
    wider = dict(args, subnets=subnets, tags={"Project": "unit", "Tier": "isolated"})
    assert run_module(endpoint, module, wider)["changed"]
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    assert len(group["Subnets"]) == 3
    assert {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"]} == wider["tags"]
    assert not run_module(endpoint, module, wider)["changed"]
    assert run_module(endpoint, module, {"name": name, "state": "absent"})["changed"]
    assert not run_module(endpoint, module, {"name": name, "state": "absent"})["changed"]
    assert name not in [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]


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
    # The engine: the secret's user logs in with the secret's password, over TLS, and owns the database.
    described = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]
    assert described["HttpEndpointEnabled"] is True
    with psycopg.connect(host=described["Endpoint"], port=described["Port"], user=db_secret[1]["username"],
                         password=PASSWORD, dbname="streams", sslmode="require") as conn:
        assert conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'streams'").fetchone() == \
            (db_secret[1]["username"],)
    assert not run_module(endpoint, "rds_serverless_cluster", args)["changed"]
    # The Data API switch goes through EnableHttpEndpoint/DisableHttpEndpoint.
    off = run_module(endpoint, "rds_serverless_cluster", dict(args, enable_http_endpoint=False))
    assert off["changed"] and rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["HttpEndpointEnabled"] is False
    assert run_module(endpoint, "rds_serverless_cluster", args)["changed"]
    assert not run_module(endpoint, "rds_serverless_cluster", args)["changed"]
    # A scaling change is made in place.
    scaled = run_module(endpoint, "rds_serverless_cluster", dict(args, max_capacity=8), diff=True)
    assert scaled["changed"] and scaled["diff"]["before"]["max_capacity"] == 4.0 and scaled["cluster"]["max_capacity"] == 8.0
    assert rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["DbClusterResourceId"] == resource_id
    # What cannot change in place is refused, never replaced.
    refused = run_module(endpoint, "rds_serverless_cluster", dict(args, database_name="other"))
    assert refused.get("failed") and "cannot change in place" in refused["msg"]
    # Instances: writer, then refusal to delete a cluster that still has them.
    # rds_cluster_instances as the aurora role calls it (launched, not awaited).
    role = aws("iam").create_role(RoleName=f"unit-monitoring-{RUN}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    writer = {"identifier": f"{ident}-writer", "availability_zone": "us-east-1a", "promotion_tier": 0}
    reader = {"identifier": f"{ident}-reader", "availability_zone": "us-east-1b", "promotion_tier": 1, "tags": {"Name": f"{ident}-reader"}}
    instances = {"cluster_identifier": ident, "instances": [writer, reader], "monitoring_interval": 60, "monitoring_role_arn": role,
                 "performance_insights": True, "performance_insights_retention_period": 7, "tags": {"Project": "unit"}}
    planned = run_module(endpoint, "rds_cluster_instances", instances, check=True, diff=True)
    assert planned["changed"] and [i["identifier"] for i in planned["diff"]["after"]["instances"]] == [writer["identifier"], reader["identifier"]]
    assert rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [ident]}])["DBInstances"] == []
    # The writer's CreateDBInstance takes effect and its answer is lost: botocore resends it, and
    # the instance AWS made is adopted.
    faults(endpoint, r"lost=1,count=1,match=rds\.CreateDBInstance")
    made = run_module(endpoint, "rds_cluster_instances", instances)
    lost = counters(endpoint)["faults"]
    faults(endpoint)
    assert not made.get("failed") and made["changed"], made.get("msg")
    assert lost == {"lost": 1} and set(made["instances"]) == {writer["identifier"], reader["identifier"]}
    in_cluster = [{"Name": "db-cluster-id", "Values": [ident]}]
    listed = {i["DBInstanceIdentifier"]: i for i in rds.describe_db_instances(Filters=in_cluster)["DBInstances"]}
    assert set(listed) == {writer["identifier"], reader["identifier"]}
    assert listed[writer["identifier"]]["PerformanceInsightsEnabled"] is True
    assert listed[writer["identifier"]]["DBSubnetGroup"]["DBSubnetGroupName"] == subnet_group
    assert listed[writer["identifier"]]["MonitoringInterval"] == 60 and listed[reader["identifier"]]["PromotionTier"] == 1
    assert listed[reader["identifier"]]["AvailabilityZone"] == "us-east-1b"
    assert {t["Key"]: t["Value"] for t in listed[reader["identifier"]]["TagList"]} == {"Project": "unit", "Name": f"{ident}-reader"}
    # A no-change run reads the cluster's instances once.
    faults(endpoint)
    again = run_module(endpoint, "rds_cluster_instances", instances, diff=True)
    assert not again.get("failed") and not again["changed"], again.get("msg")
    assert again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {"rds.DescribeDBInstances": 1}
    # Monitoring off, a tag changed out of band: both put back in place.
    rds.add_tags_to_resource(ResourceName=listed[writer["identifier"]]["DBInstanceArn"], Tags=[{"Key": "Project", "Value": "other"}])
    off = dict(instances, monitoring_interval=0, monitoring_role_arn="", performance_insights=False)
    assert run_module(endpoint, "rds_cluster_instances", off)["changed"]
    made = rds.describe_db_instances(DBInstanceIdentifier=writer["identifier"])["DBInstances"][0]
    assert made["MonitoringInterval"] == 0 and made["PerformanceInsightsEnabled"] is False
    assert {t["Key"]: t["Value"] for t in made["TagList"]} == {"Project": "unit"}
    assert not run_module(endpoint, "rds_cluster_instances", off)["changed"]
    moved = run_module(endpoint, "rds_cluster_instances", dict(off, instances=[dict(writer, availability_zone="us-east-1c")]))
    assert moved.get("failed") and "cannot change in place" in moved["msg"]
    # The reader goes; the writer is kept for what follows.
    gone = run_module(endpoint, "rds_cluster_instances", dict(off, instances=[writer, dict(reader, state="absent")]))
    assert gone["changed"] and set(gone["instances"]) == {writer["identifier"]}
    # Deletion protection stops the deletion unless it may be turned off.
    protected = run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent"})
    assert protected.get("failed") and "deletion protection on" in protected["msg"]
    assert run_module(endpoint, "rds_cluster_instances", {"cluster_identifier": ident,
                                                          "instances": [{"identifier": f"{ident}-writer", "state": "absent"}]})["changed"]
    gone = run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent", "disable_deletion_protection": True,
                                                           "final_snapshot_identifier": f"{ident}-final", "wait": True})
    assert gone["changed"] and gone["final_snapshot"] == f"{ident}-final"
    snaps = rds.describe_db_cluster_snapshots(DBClusterIdentifier=ident)["DBClusterSnapshots"]
    assert [(s["DBClusterSnapshotIdentifier"], s["SnapshotType"]) for s in snaps] == [(f"{ident}-final", "manual")]
    assert not run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent"})["changed"]
    with pytest.raises(psycopg.OperationalError):  # the engine is gone with the cluster
        psycopg.connect(host=described["Endpoint"], port=described["Port"], user=db_secret[1]["username"],
                        password=PASSWORD, dbname="streams", connect_timeout=5)
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
    cluster = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]
    assert cluster["MasterUsername"] == f"u{RUN}"
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == dict(value, username=f"u{RUN}")
    with psycopg.connect(host=cluster["Endpoint"], port=cluster["Port"], user=f"u{RUN}", password=PASSWORD,
                         dbname="postgres", sslmode="require") as conn:  # the master has the secret's password
        assert conn.execute("SELECT current_user").fetchone() == (f"u{RUN}",)
    again = run_module(endpoint, "rds_serverless_cluster", args)
    assert not again["changed"] and not again["secret_realigned"]
    refused = run_module(endpoint, "rds_serverless_cluster", dict(args, master_username="someoneelse"))
    assert refused.get("failed") and "master_username" in refused["msg"]
    assert run_module(endpoint, "rds_serverless_cluster", {"identifier": ident, "state": "absent", "wait": True})["changed"]


def test_cluster_rejects_bad_capacity_before_any_call():
    bad = run_module("http://127.0.0.1:9", "rds_serverless_cluster", {"identifier": "x", "min_capacity": 8, "max_capacity": 4})
    assert bad.get("failed") and "allowed 0 <= min <= max <= 256 ACU" in bad["msg"]
