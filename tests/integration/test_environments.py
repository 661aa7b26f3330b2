"""dev, staging and production: their shapes, idempotence and teardown rules.

Teardown leaves nothing tagged for the environment except what docs/design.md keeps on purpose
(staging and production: buckets and secrets unless purge_data; the final snapshot; every
environment: its operation history, docs/history.md), checked through the Resource Groups
Tagging API and per-service listings, with strays added first.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest

from harness import PLAYBOOK, ROOT, reset_emulator

# Each environment's full stack, twice, and its teardown: the long tier (`make test-all`).
pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"
LAMBDA_ENI = "AWS Lambda VPC ENI"


def tagged(aws, env: str) -> list:
    """ARNs still tagged Environment=<env>, ignoring NAT gateways in state 'deleted' (AWS lists those for an hour)."""
    found = aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "Environment", "Values": [env]}])["ResourceTagMappingList"]
    arns = [r["ResourceARN"] for r in found]
    deleted = {n["NatGatewayId"] for n in aws("ec2").describe_nat_gateways()["NatGateways"] if n["State"] == "deleted"}
    return [a for a in arns if a.rsplit("/", 1)[-1] not in deleted]


def leftovers(aws, env: str) -> dict:
    """Per-service listings, for what the tagging API does not cover (or covers only when tagged)."""
    ec2 = aws("ec2")
    env_filter = [{"Name": "tag:Environment", "Values": [env]}]
    prefix = f"stream-sales-{env}-"
    final = f"{prefix}final-"
    return {
        "vpcs": ec2.describe_vpcs(Filters=env_filter)["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=env_filter)["Subnets"],
        "eips": ec2.describe_addresses(Filters=env_filter)["Addresses"],
        "security_groups": ec2.describe_security_groups(Filters=env_filter)["SecurityGroups"],
        # Checked client-side: the emulator ignores tag filters on NAT gateways.
        "nat_gateways": [n for n in ec2.describe_nat_gateways()["NatGateways"]
                         if n["State"] != "deleted" and {"Key": "Environment", "Value": env} in n.get("Tags", [])],
        # Lambda names its ENIs after the function ("AWS Lambda VPC ENI-<function>-<uuid>") and tags none.
        "lambda_enis": [e for e in ec2.describe_network_interfaces(
            Filters=[{"Name": "description", "Values": [f"{LAMBDA_ENI}*"]}])["NetworkInterfaces"]
            if prefix in e["Description"]],
        "tagged_enis": ec2.describe_network_interfaces(Filters=env_filter)["NetworkInterfaces"],
        "secrets": [s for s in aws("secretsmanager").list_secrets()["SecretList"] if f"/{env}/" in s["Name"]],
        "buckets": [b for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith(prefix)],
        "parameters": aws("ssm").get_parameters_by_path(Path=f"/stream-sales/{env}", Recursive=True)["Parameters"],
        "log_groups": aws("logs").describe_log_groups(logGroupNamePrefix=f"/stream-sales/{env}/")["logGroups"],
        "lambda_log_groups": aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"],
        "functions": [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(prefix)],
        "tables": [t for t in aws("dynamodb").list_tables()["TableNames"] if t.startswith(prefix)],
        "queues": aws("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", []),
        "alarms": aws("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"],
        "clusters": [c for c in aws("rds").describe_db_clusters()["DBClusters"] if c["DBClusterIdentifier"].startswith(prefix)],
        # Every snapshot of the environment but its final ones (kept on purpose).
        "cluster_snapshots": [s for s in aws("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]
                              if (s["DBClusterIdentifier"].startswith(prefix) or s["DBClusterSnapshotIdentifier"].startswith(prefix))
                              and not s["DBClusterSnapshotIdentifier"].startswith(final)],
    }


def final_snapshots(aws, env: str) -> list:
    return [s["DBClusterSnapshotIdentifier"] for s in aws("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
            if s["DBClusterSnapshotIdentifier"].startswith(f"stream-sales-{env}-final-")]


def add_strays(aws, env: str) -> dict:
    """What a teardown by name alone would miss: an ENI Lambda left in the VPC, an unassociated
    Elastic IP and a manual snapshot tagged for the environment, a log group Lambda created."""
    ec2, tags = aws("ec2"), [{"Key": "Project", "Value": "StreamSales"}, {"Key": "Environment", "Value": env}]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"stream-sales-{env}-vpc"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "tag:Tier", "Values": ["private"]}])["Subnets"][0]
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description=f"{LAMBDA_ENI}-stream-sales-{env}-server-0f1e2d")
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags}])
    snapshot = f"stream-sales-{env}-before-upgrade"
    aws("rds").create_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot, DBClusterIdentifier=f"stream-sales-{env}-cluster", Tags=tags)
    group = f"/aws/lambda/stream-sales-{env}-server-preview"
    aws("logs").create_log_group(logGroupName=group)
    return {"eni": eni["NetworkInterface"]["NetworkInterfaceId"], "eip": eip["AllocationId"], "snapshot": snapshot, "log_group": group}


def assert_strays_gone(aws, strays: dict) -> None:
    ec2 = aws("ec2")
    assert not [e for e in ec2.describe_network_interfaces()["NetworkInterfaces"] if e["NetworkInterfaceId"] == strays["eni"]]
    assert not [a for a in ec2.describe_addresses()["Addresses"] if a["AllocationId"] == strays["eip"]]
    assert strays["snapshot"] not in [s["DBClusterSnapshotIdentifier"] for s in aws("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]]
    assert not aws("logs").describe_log_groups(logGroupNamePrefix=strays["log_group"])["logGroups"]


def history_table(env: str) -> str:
    """The operation history, which every teardown keeps (it says who tore the environment down)."""
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/stream-sales-{env}-history"


def lock_table(aws, env: str) -> list:
    return [t for t in aws("dynamodb").list_tables()["TableNames"] if t == f"stream-sales-{env}-locks"]


def kept_table(out: str) -> str:
    """The teardown's closing table of what it kept, and why."""
    return out[out.rindex("Kept on purpose by the teardown"):]


def interrupt(name: str, env: str, marker: str, endpoint: str) -> str:
    """Start a playbook and kill it (its whole process group) once its output shows marker."""
    cmd = [str(PLAYBOOK), f"playbooks/{name}.yml", "-i", f"inventories/{env}", "-e", f"aws_endpoint_url={endpoint}"]
    env_vars = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    out = "".join(seen)
    assert marker in out, out[-3000:]
    return out


@pytest.fixture(scope="module")
def fresh(endpoint):
    reset_emulator(endpoint)


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_deploy_twice_changes_nothing(fresh, playbook, env):
    assert playbook("deploy", env).changed > 0
    second = playbook("deploy", env)
    assert second.changed == 0, second.out[-3000:]


def test_teardown_dev_leaves_nothing_and_spares_staging(fresh, playbook, aws, endpoint):
    staging_before = leftovers(aws, "staging")
    strays = add_strays(aws, "dev")
    # Killed halfway (alarms and CDN gone, the application going): its lock stays behind.
    interrupt("teardown", "dev", "TASK [stream_sales.platform.app_lambda", endpoint)
    refused = playbook("teardown", "dev", check=False)
    assert refused.rc != 0 and "stream-sales-dev is locked by " in refused.out and "(teardown) since" in refused.out
    # The operator breaks the dead run's lock: the teardown resumes and finishes.
    run = playbook("teardown", "dev", "-e", "break_lock=true")
    assert run.recap["failed"] == 0
    assert "Took over the lock of" in run.out
    assert tagged(aws, "dev") == [history_table("dev")]
    left = leftovers(aws, "dev")
    assert left.pop("tables") == ["stream-sales-dev-history"]
    assert all(v == [] for v in left.values()), left
    assert_strays_gone(aws, strays)
    assert lock_table(aws, "dev") == []
    kept = [line.split(" | ", 1)[0].strip() for line in kept_table(run.out).split("PLAY RECAP", 1)[0].splitlines() if " | " in line]
    assert kept == ["DynamoDB table stream-sales-dev-history"], kept
    assert {k: len(v) for k, v in leftovers(aws, "staging").items()} == {k: len(v) for k, v in staging_before.items()}
    # Idempotent: a second teardown has nothing left to do (and leaves no lock table behind).
    again = playbook("teardown", "dev")
    assert again.changed == 0, again.out[-3000:]
    assert tagged(aws, "dev") == [history_table("dev")] and lock_table(aws, "dev") == []


def test_teardown_staging_keeps_buckets_secrets_and_final_snapshot_only(fresh, playbook, aws):
    strays = add_strays(aws, "staging")
    run = playbook("teardown", "staging", "-e", "confirm_teardown=stream-sales-staging")
    assert_strays_gone(aws, strays)
    left = leftovers(aws, "staging")
    assert len(left["secrets"]) == 3 and len(left["buckets"]) == 2
    assert left["tables"] == ["stream-sales-staging-history"]
    assert all(v == [] for k, v in left.items() if k not in ("secrets", "buckets", "tables")), left
    [final] = final_snapshots(aws, "staging")
    kept = sorted(tagged(aws, "staging"))
    assert len(kept) == 7, kept
    assert all(":secret:stream-sales/staging/" in a or a.startswith("arn:aws:s3:::stream-sales-staging-")
               or a.endswith(f":cluster-snapshot:{final}") or a == history_table("staging") for a in kept), kept
    assert lock_table(aws, "staging") == []
    # The closing table names every one of them, and why.
    table = kept_table(run.out)
    for resource in (f"DB cluster snapshot {final}", "secret stream-sales/staging/database/credentials",
                     "secret stream-sales/staging/jwt/secret", "secret stream-sales/staging/encryption/key",
                     f"bucket stream-sales-staging-images-{ACCOUNT}", f"bucket stream-sales-staging-site-{ACCOUNT}",
                     "DynamoDB table stream-sales-staging-history"):
        assert resource in table, table


@pytest.fixture(scope="module")
def production(fresh, playbook, aws):
    first = playbook("deploy", "production", "-e", "alarm_email=oncall@example.com")
    return first


def test_production_shape(production, aws):
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["stream-sales-production-vpc"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 9
    assert len({s["AvailabilityZone"] for s in subnets}) == 3
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    assert len([n for n in nats if n["State"] == "available"]) == 2
    assert len(ec2.describe_addresses(Filters=[{"Name": "tag:Environment", "Values": ["production"]}])["Addresses"]) == 2
    flow = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    assert len(flow) == 1 and flow[0]["TrafficType"] == "ALL"
    assert flow[0]["LogGroupName"] == "/stream-sales/production/vpc-flow-logs"
    group = aws("logs").describe_log_groups(logGroupNamePrefix="/stream-sales/production/vpc-flow-logs")["logGroups"][0]
    assert group["retentionInDays"] == 30
    s3 = aws("s3")
    bucket = f"stream-sales-production-images-{ACCOUNT}"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["Transitions"][0] == {"Days": 90, "StorageClass": "STANDARD_IA"}
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedOrigins"] == ["https://*"]


def test_production_database_shape(production, aws):
    """Writer and reader in two AZs, enhanced monitoring and Performance Insights, deletion protection."""
    rds = aws("rds")
    c = rds.describe_db_clusters(DBClusterIdentifier="stream-sales-production-cluster")["DBClusters"][0]
    assert c["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 4.0, "MaxCapacity": 16.0}
    assert c["BackupRetentionPeriod"] == 30 and c["DeletionProtection"] is True
    members = {i["DBInstanceIdentifier"]: i for i in rds.describe_db_instances()["DBInstances"]
               if i.get("DBClusterIdentifier") == "stream-sales-production-cluster"}
    writer, reader = members["stream-sales-production-writer"], members["stream-sales-production-reader"]
    assert writer["AvailabilityZone"] != reader["AvailabilityZone"]
    assert writer["PromotionTier"] == 0 and reader["PromotionTier"] == 1
    role = aws("iam").get_role(RoleName="stream-sales-production-rds-monitoring")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    for member in (writer, reader):
        assert member["MonitoringInterval"] == 60 and member["MonitoringRoleArn"] == role["Arn"]
        assert member["PerformanceInsightsEnabled"] is True and member["PerformanceInsightsRetentionPeriod"] == 7
        assert member["DBSubnetGroup"]["DBSubnetGroupName"] == c["DBSubnetGroup"]


def test_production_second_deploy_changes_nothing(production, playbook):
    second = playbook("deploy", "production", "-e", "alarm_email=oncall@example.com")
    assert second.changed == 0, second.out[-3000:]


def test_production_teardown_needs_confirmation(production, playbook, aws):
    before = {k: len(v) for k, v in leftovers(aws, "production").items()}
    run = playbook("teardown", "production", check=False)
    assert run.rc != 0
    assert "confirm_teardown must be 'stream-sales-production'" in run.out
    assert {k: len(v) for k, v in leftovers(aws, "production").items()} == before


def test_production_teardown_keeps_buckets_secrets_and_final_snapshot(production, playbook, aws):
    confirm = ["-e", "confirm_teardown=stream-sales-production"]
    # Deletion protection (on in production) stops the teardown before anything is deleted.
    before = {k: len(v) for k, v in leftovers(aws, "production").items()}
    protected = playbook("teardown", "production", *confirm, check=False)
    assert protected.rc != 0 and "-e disable_deletion_protection=true" in protected.out
    assert "has deletion protection on" in protected.out
    assert {k: len(v) for k, v in leftovers(aws, "production").items()} == before
    outputs = aws("ssm").get_parameters_by_path(Path="/stream-sales/production/outputs")["Parameters"]
    assert "DatabaseEndpoint" in [p["Name"].rsplit("/", 1)[-1] for p in outputs]  # stopped before any delete
    strays = add_strays(aws, "production")
    run = playbook("teardown", "production", *confirm, "-e", "disable_deletion_protection=true")
    [final] = final_snapshots(aws, "production")
    assert re.fullmatch(r"stream-sales-production-final-\d{14}", final)
    assert_strays_gone(aws, strays)
    with pytest.raises(aws("iam").exceptions.NoSuchEntityException):
        aws("iam").get_role(RoleName="stream-sales-production-rds-monitoring")
    assert "stream-sales-production-cluster" not in [c["DBClusterIdentifier"] for c in aws("rds").describe_db_clusters()["DBClusters"]]
    left = leftovers(aws, "production")
    assert len(left["secrets"]) == 3 and len(left["buckets"]) == 2
    assert left["tables"] == ["stream-sales-production-history"]
    assert all(v == [] for k, v in left.items() if k not in ("secrets", "buckets", "tables")), left
    assert len(tagged(aws, "production")) == 7 and history_table("production") in tagged(aws, "production")
    table = kept_table(run.out)
    assert "secret stream-sales/production/jwt/secret" in table and f"DB cluster snapshot {final}" in table
    assert "DynamoDB table stream-sales-production-history" in table
    assert f"bucket stream-sales-production-images-{ACCOUNT}" in table
    # The kept secrets keep their values: a redeploy reuses them.
    purged = playbook("teardown", "production", *confirm, "-e", "purge_data=true")
    assert purged.changed > 0
    # Purged production secrets stay restorable for 7 days (scheduled for deletion); the final
    # snapshot is kept on purpose; nothing else is left.
    sm = aws("secretsmanager")
    remaining = [arn for arn in tagged(aws, "production") if ":cluster-snapshot:" not in arn and arn != history_table("production")]
    assert history_table("production") in tagged(aws, "production")
    assert len(remaining) == 3 and all(":secret:stream-sales/production/" in arn for arn in remaining)
    assert all(sm.describe_secret(SecretId=arn).get("DeletedDate") for arn in remaining)
    assert [a for a in tagged(aws, "production") if ":cluster-snapshot:" in a] == [
        f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:{final}"]
    assert leftovers(aws, "production")["buckets"] == []
    assert lock_table(aws, "production") == []
    # This run's table still names the final snapshot (found by the sweep: the cluster was gone)
    # and says the purged secrets are only scheduled for deletion.
    table = kept_table(purged.out)
    assert f"DB cluster snapshot {final}" in table
    assert "secret stream-sales/production/jwt/secret" in table and "scheduled for deletion" in table
