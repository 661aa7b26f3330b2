"""dev, staging and production: their shapes, idempotence and teardown rules."""
from __future__ import annotations

import pytest

from conftest import reset_emulator

ACCOUNT = "123456789012"


def tagged(aws, env: str) -> list:
    """ARNs still tagged Environment=<env>, ignoring NAT gateways in state 'deleted' (AWS lists those for an hour)."""
    found = aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "Environment", "Values": [env]}])["ResourceTagMappingList"]
    arns = [r["ResourceARN"] for r in found]
    deleted = {n["NatGatewayId"] for n in aws("ec2").describe_nat_gateways()["NatGateways"] if n["State"] == "deleted"}
    return [a for a in arns if a.rsplit("/", 1)[-1] not in deleted]


def leftovers(aws, env: str) -> dict:
    """Per-service listings, for what the tagging API does not cover."""
    ec2 = aws("ec2")
    env_filter = [{"Name": "tag:Environment", "Values": [env]}]
    return {
        "vpcs": ec2.describe_vpcs(Filters=env_filter)["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=env_filter)["Subnets"],
        "eips": ec2.describe_addresses(Filters=env_filter)["Addresses"],
        "security_groups": ec2.describe_security_groups(Filters=env_filter)["SecurityGroups"],
        # Checked client-side: the emulator ignores tag filters on NAT gateways.
        "nat_gateways": [n for n in ec2.describe_nat_gateways()["NatGateways"]
                         if n["State"] != "deleted" and {"Key": "Environment", "Value": env} in n.get("Tags", [])],
        "secrets": [s for s in aws("secretsmanager").list_secrets()["SecretList"] if f"/{env}/" in s["Name"]],
        "buckets": [b for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith(f"stream-sales-{env}-")],
        "parameters": aws("ssm").get_parameters_by_path(Path=f"/stream-sales/{env}", Recursive=True)["Parameters"],
        "log_groups": aws("logs").describe_log_groups(logGroupNamePrefix=f"/stream-sales/{env}/")["logGroups"],
    }


@pytest.fixture(scope="module")
def fresh(endpoint):
    reset_emulator(endpoint)


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_deploy_twice_changes_nothing(fresh, playbook, env):
    assert playbook("deploy", env).changed > 0
    second = playbook("deploy", env)
    assert second.changed == 0, second.out[-3000:]


def test_teardown_dev_leaves_nothing_and_spares_staging(fresh, playbook, aws):
    staging_before = leftovers(aws, "staging")
    run = playbook("teardown", "dev")
    assert run.recap["failed"] == 0
    assert tagged(aws, "dev") == []
    assert all(v == [] for v in leftovers(aws, "dev").values()), leftovers(aws, "dev")
    assert {k: len(v) for k, v in leftovers(aws, "staging").items()} == {k: len(v) for k, v in staging_before.items()}
    # Idempotent: a second teardown has nothing left to do.
    assert playbook("teardown", "dev").changed == 0


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
    assert {k: len(v) for k, v in leftovers(aws, "production").items()} == before
    run = playbook("teardown", "production", *confirm, "-e", "disable_deletion_protection=true")
    snapshots = aws("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    final = [s["DBClusterSnapshotIdentifier"] for s in snapshots
             if s["DBClusterSnapshotIdentifier"].startswith("stream-sales-production-final-")]
    assert len(final) == 1
    assert "stream-sales-production-cluster" not in [c["DBClusterIdentifier"] for c in aws("rds").describe_db_clusters()["DBClusters"]]
    left = leftovers(aws, "production")
    assert len(left["secrets"]) == 3 and len(left["buckets"]) == 2
    assert all(v == [] for k, v in left.items() if k not in ("secrets", "buckets")), left
    assert "Kept on purpose" in run.out and "secret stream-sales/production/jwt/secret" in run.out
    # The kept secrets keep their values: a redeploy reuses them.
    purged = playbook("teardown", "production", *confirm, "-e", "purge_data=true")
    assert purged.changed > 0
    # Purged production secrets stay restorable for 7 days (scheduled for deletion); the final
    # snapshot is kept on purpose; nothing else is left.
    sm = aws("secretsmanager")
    remaining = [arn for arn in tagged(aws, "production") if ":cluster-snapshot:" not in arn]
    assert len(remaining) == 3 and all(":secret:stream-sales/production/" in arn for arn in remaining)
    assert all(sm.describe_secret(SecretId=arn).get("DeletedDate") for arn in remaining)
    assert leftovers(aws, "production")["buckets"] == []
