"""dev, staging and production: their shapes, idempotence and teardown rules.

Teardown leaves nothing tagged for the environment except what docs/design.md keeps on purpose
(staging and production: buckets and secrets unless purge_data; the final snapshot and the KMS
key; every environment: its operation history, docs/history.md), checked through the Resource
Groups Tagging API and per-service listings, with strays added first. The production deploy (the
suite's only one) also carries the security checks of issue 14.
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


def kms_key_arn(aws, env: str) -> str:
    return aws("kms").describe_key(KeyId=f"alias/stream-sales-{env}")["KeyMetadata"]["Arn"]


def history_table(env: str) -> str:
    """The operation history, which every teardown keeps (it says who tore the environment down)."""
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/stream-sales-{env}-history"


def assert_only_history_and_key_left(aws, env: str) -> bool:
    """After a dev teardown: nothing tagged for the environment but its history and its KMS key,
    pending deletion."""
    key = kms_key_arn(aws, env)
    left = sorted(tagged(aws, env))
    assert left == sorted([key, history_table(env)]), left
    assert aws("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    return True


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
    # Only its history and its KMS key are left, the key's deletion scheduled (AWS waits 7 days), and said so.
    assert_only_history_and_key_left(aws, "dev")
    left = leftovers(aws, "dev")
    assert left.pop("tables") == ["stream-sales-dev-history"]
    assert all(v == [] for v in left.values()), left
    assert_strays_gone(aws, strays)
    assert lock_table(aws, "dev") == []
    table = kept_table(run.out)
    kept = [line.split(" | ", 1)[0].strip() for line in table.split("PLAY RECAP", 1)[0].splitlines() if " | " in line]
    assert sorted(kept) == ["DynamoDB table stream-sales-dev-history", "KMS key alias/stream-sales-dev (us-east-1)"], kept
    assert "deletion scheduled" in table, table
    assert {k: len(v) for k, v in leftovers(aws, "staging").items()} == {k: len(v) for k, v in staging_before.items()}
    # Idempotent: a second teardown has nothing left to do (and leaves no lock table behind).
    again = playbook("teardown", "dev")
    assert again.changed == 0, again.out[-3000:]
    assert_only_history_and_key_left(aws, "dev")
    assert lock_table(aws, "dev") == []


def test_teardown_staging_keeps_buckets_secrets_and_final_snapshot_only(fresh, playbook, aws):
    strays = add_strays(aws, "staging")
    run = playbook("teardown", "staging", "-e", "confirm_teardown=stream-sales-staging")
    assert_strays_gone(aws, strays)
    left = leftovers(aws, "staging")
    assert len(left["secrets"]) == 3 and len(left["buckets"]) == 3  # images, site, logs
    assert left["tables"] == ["stream-sales-staging-history"]
    assert all(v == [] for k, v in left.items() if k not in ("secrets", "buckets", "tables")), left
    [final] = final_snapshots(aws, "staging")
    kept = sorted(tagged(aws, "staging"))
    assert len(kept) == 9, kept
    assert all(":secret:stream-sales/staging/" in a or a.startswith("arn:aws:s3:::stream-sales-staging-")
               or a.endswith(f":cluster-snapshot:{final}") or a in (kms_key_arn(aws, "staging"), history_table("staging"))
               for a in kept), kept
    assert aws("kms").describe_key(KeyId="alias/stream-sales-staging")["KeyMetadata"]["KeyState"] == "Enabled"
    assert lock_table(aws, "staging") == []
    # The closing table names every one of them, and why.
    table = kept_table(run.out)
    for resource in (f"DB cluster snapshot {final}", "secret stream-sales/staging/database/credentials",
                     "secret stream-sales/staging/jwt/secret", "secret stream-sales/staging/encryption/key",
                     f"bucket stream-sales-staging-images-{ACCOUNT}", f"bucket stream-sales-staging-site-{ACCOUNT}",
                     f"bucket stream-sales-staging-logs-{ACCOUNT}", "KMS key alias/stream-sales-staging (us-east-1)",
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
    assert group["retentionInDays"] == 30 and group["kmsKeyId"] == kms_key_arn(aws, "production")
    # Only NAT gateways (with their Elastic IPs) in the public subnets: no subnet maps public addresses.
    assert not [s["SubnetId"] for s in subnets if s["MapPublicIpOnLaunch"]]
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


def test_production_network_least_privilege(production, aws):
    """The S3 gateway endpoint lets this account reach the environment's images and site buckets
    only; the VPC's default security group has no rule left (AWS gives it two)."""
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["stream-sales-production-vpc"]}])["Vpcs"][0]["VpcId"]
    [endpoint] = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
    assert endpoint["ServiceName"] == "com.amazonaws.us-east-1.s3" and endpoint["VpcEndpointType"] == "Gateway"
    [allow] = json.loads(endpoint["PolicyDocument"])["Statement"]
    buckets = [f"stream-sales-production-{what}-{ACCOUNT}" for what in ("images", "site")]
    assert allow["Effect"] == "Allow" and allow["Principal"] == "*"
    assert sorted(allow["Resource"]) == sorted([f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets])
    assert allow["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    [default] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                      {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


# The security settings of the production deploy, read back with boto3 (issue 14; docs/security.md):
# what `make audit` (prowler) checks in minutes. The environment's KMS key and everything it
# encrypts, the logs bucket and what logs into it, the WAF in front of CloudFront, trust policies,
# secret resource policies, Aurora's IAM authentication, dead-letter queues and encrypted topics.
ENV = "production"
PREFIX = f"stream-sales-{ENV}"
REGION = "us-east-1"
ALIAS = f"alias/{PREFIX}"


@pytest.fixture(scope="module")
def production_key(production, aws):
    return aws("kms").describe_key(KeyId=ALIAS)["KeyMetadata"]


def statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def test_one_customer_managed_key_rotated_with_a_policy_naming_its_users(production_key, aws):
    kms = aws("kms")
    assert production_key["KeyManager"] == "CUSTOMER" and production_key["KeyState"] == "Enabled"
    assert not production_key.get("MultiRegion")
    rotation = kms.get_key_rotation_status(KeyId=production_key["KeyId"])
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 365
    # One alias per environment (dev's and staging's keys are this module's too), each on its own key.
    aliased = {a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases()["Aliases"]
               if a["AliasName"].startswith("alias/stream-sales-")}
    assert aliased[ALIAS] == production_key["KeyId"]
    assert sorted(aliased) == [f"alias/stream-sales-{e}" for e in ("dev", "production", "staging")], aliased
    assert len(set(aliased.values())) == len(aliased), aliased
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=production_key["KeyId"])["Tags"]}
    assert tags["Environment"] == ENV and tags["Project"] == "StreamSales"

    policy = json.loads(kms.get_key_policy(KeyId=production_key["KeyId"], PolicyName="default")["Policy"])
    admin = statement(policy, "AccountAdministersTheKey")
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    roles = statement(policy, "EnvironmentRolesThroughItsServices")
    assert roles["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT
    assert sorted(roles["Condition"]["StringEquals"]["kms:ViaService"]) == sorted(
        f"{s}.{REGION}.amazonaws.com" for s in ("s3", "sqs", "dynamodb", "secretsmanager", "lambda"))
    assert roles["Condition"]["ArnLike"]["aws:PrincipalArn"] == f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-*"
    assert "kms:*" not in roles["Action"] and "kms:ScheduleKeyDeletion" not in roles["Action"]
    logs = statement(policy, "CloudWatchLogsForTheEnvironmentsLogGroups")
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    contexts = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}-*" in contexts
    alarms = statement(policy, "CloudWatchAlarmsPublishToTheEnvironmentsTopic")
    assert alarms["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{PREFIX}-*"


def test_everything_that_stores_data_uses_the_key(production_key, aws):
    arn = production_key["Arn"]
    s3 = aws("s3")
    for what in ("images", "site"):
        rule = s3.get_bucket_encryption(Bucket=f"{PREFIX}-{what}-{ACCOUNT}")["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn}
        assert rule["BucketKeyEnabled"] is True
    sm = aws("secretsmanager")
    secrets = [s for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"stream-sales/{ENV}/")]
    assert len(secrets) == 3 and all(s["KmsKeyId"] == arn for s in secrets)
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{PREFIX}-")["logGroups"]
    groups += aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/rds/cluster/{PREFIX}-cluster/")["logGroups"]
    groups += aws("logs").describe_log_groups(logGroupNamePrefix=f"aws-waf-logs-{PREFIX}")["logGroups"]  # us-east-1's key
    assert len(groups) >= 7 and all(g.get("kmsKeyId") == arn for g in groups), [(g["logGroupName"], g.get("kmsKeyId")) for g in groups]
    sqs = aws("sqs")
    urls = sqs.list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]
    assert len(urls) == 3
    assert all(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["KmsMasterKeyId"])["Attributes"]["KmsMasterKeyId"] == arn
               for u in urls)
    sse = aws("dynamodb").describe_table(TableName=f"{PREFIX}-tag-cache")["Table"]["SSEDescription"]
    assert (sse["SSEType"], sse["KMSMasterKeyArn"]) == ("KMS", arn)
    functions = [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(f"{PREFIX}-")]
    with_env = [f for f in functions if (f.get("Environment") or {}).get("Variables")]
    assert with_env and all(f.get("KMSKeyArn") == arn for f in with_env), [(f["FunctionName"], f.get("KMSKeyArn")) for f in with_env]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-alarms"
    assert aws("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == arn
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=f"{PREFIX}-cluster")["DBClusters"][0]
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] == arn
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert cluster["EnabledCloudwatchLogsExports"] == ["postgresql"]
    instances = aws("rds").describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [cluster["DBClusterIdentifier"]]}])
    assert all(i["PerformanceInsightsKMSKeyId"] == arn for i in instances["DBInstances"])


def test_logs_bucket_takes_the_access_logs_and_cloudfront_logs_only(production, aws):
    s3 = aws("s3")
    logs = f"{PREFIX}-logs-{ACCOUNT}"
    assert s3.get_bucket_ownership_controls(Bucket=logs)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert all(s3.get_public_access_block(Bucket=logs)["PublicAccessBlockConfiguration"].values())
    # S3 server access logging cannot write into an SSE-KMS bucket.
    rule = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    expire = next(r for r in s3.get_bucket_lifecycle_configuration(Bucket=logs)["Rules"] if r["ID"] == "expire-logs")
    assert expire["Status"] == "Enabled" and expire["Expiration"]["Days"] == 365
    policy = json.loads(s3.get_bucket_policy(Bucket=logs)["Policy"])
    tls = statement(policy, "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    access = statement(policy, "S3ServerAccessLogs")
    assert access["Principal"] == {"Service": "logging.s3.amazonaws.com"} and access["Resource"] == f"arn:aws:s3:::{logs}/s3/*"
    assert access["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert sorted(access["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        f"arn:aws:s3:::{PREFIX}-images-{ACCOUNT}", f"arn:aws:s3:::{PREFIX}-site-{ACCOUNT}"]
    delivery = statement(policy, "AWSLogDeliveryWrite")
    assert delivery["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert delivery["Resource"] == f"arn:aws:s3:::{logs}/cloudfront/*"
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:delivery-source:{PREFIX}-cloudfront"
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow" and s.get("Principal") == "*"]
    for what in ("images", "site"):
        assert s3.get_bucket_logging(Bucket=f"{PREFIX}-{what}-{ACCOUNT}")["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": "s3/"}


def test_waf_blocks_in_front_of_cloudfront_and_logs(production, aws):
    cf, waf = aws("cloudfront"), aws("wafv2")
    [dist] = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == PREFIX]
    [acl] = [a for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == PREFIX]
    assert cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["WebACLId"] == acl["ARN"]
    web_acl = waf.get_web_acl(Name=PREFIX, Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]
    assert web_acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in web_acl["Rules"]}
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r for r in web_acl["Rules"]
              if "ManagedRuleGroupStatement" in r["Statement"]}
    assert sorted(groups) == ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                              "AWSManagedRulesKnownBadInputsRuleSet"]
    # Production blocks: the groups keep their own (blocking) actions, the rate rule blocks.
    assert all(g["OverrideAction"] == {"None": {}} for g in groups.values())
    rate = rules["rate-per-ip"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in web_acl["Rules"])
    logging = waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"] == [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-waf-logs-{PREFIX}"]
    # CloudFront's standard logs (v2) into the logs bucket.
    logs = aws("logs")
    source = logs.get_delivery_source(name=f"{PREFIX}-cloudfront")["deliverySource"]
    assert source["resourceArns"] == [dist["ARN"]] and source["logType"] == "ACCESS_LOGS"
    destination = logs.get_delivery_destination(name=f"{PREFIX}-cloudfront-destination")["deliveryDestination"]
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"] == f"arn:aws:s3:::{PREFIX}-logs-{ACCOUNT}/cloudfront"
    assert [d for d in logs.describe_deliveries()["deliveries"]
            if d["deliverySourceName"] == source["name"] and d["deliveryDestinationArn"] == destination["arn"]]
    # Its metrics on the dashboard, and an alarm on a spike of blocked requests.
    body = aws("cloudwatch").get_dashboard(DashboardName=PREFIX)["DashboardBody"]
    assert '"AWS/WAFV2"' in body and "BlockedRequests" in body
    [alarm] = aws("cloudwatch").describe_alarms(AlarmNamePrefix=f"{PREFIX}-global-alarm-waf")["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/WAFV2", "BlockedRequests")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"WebACL": PREFIX, "Rule": "ALL"}
    assert alarm["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-alarms"]


def test_service_roles_trust_this_account_only(production, aws):
    iam = aws("iam")
    roles = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{PREFIX}-")]
    assert len(roles) >= 7
    for role in roles:
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        for stmt in trust["Statement"]:
            services = stmt["Principal"].get("Service")
            services = [services] if isinstance(services, str) else services
            if services == ["edgelambda.amazonaws.com"]:
                continue  # Lambda@Edge documents no source-context key (scripts/audit_exceptions.yml)
            assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, (role["RoleName"], stmt)


def test_secrets_deny_principals_outside_the_account(production, aws):
    sm = aws("secretsmanager")
    for secret in [s for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"stream-sales/{ENV}/")]:
        policy = json.loads(sm.get_resource_policy(SecretId=secret["ARN"])["ResourcePolicy"])
        [deny] = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "secretsmanager:*"
        assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}


def test_asynchronous_functions_have_dead_letter_queues(production, aws):
    sqs, lam = aws("sqs"), aws("lambda")
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-dead-letters"
    fifo_dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-revalidation-dead-letters.fifo"
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-revalidation.fifo")["QueueUrl"]
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == fifo_dlq and int(redrive["maxReceiveCount"]) == 5
    for name in ("revalidation", "warmer"):
        config = lam.get_function_configuration(FunctionName=f"{PREFIX}-{name}")
        assert config["DeadLetterConfig"] == {"TargetArn": dlq_arn}
        policy = aws("iam").get_role_policy(RoleName=f"{PREFIX}-{name}", PolicyName=f"{PREFIX}-{name}")["PolicyDocument"]
        assert statement(policy, "DeadLetters")["Resource"] == [dlq_arn]
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName=f"{PREFIX}-server")


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
    assert len(left["secrets"]) == 3 and len(left["buckets"]) == 3  # images, site, logs
    assert left["tables"] == ["stream-sales-production-history"]
    assert all(v == [] for k, v in left.items() if k not in ("secrets", "buckets", "tables")), left
    # + the final snapshot, the KMS key and the history
    assert len(tagged(aws, "production")) == 9 and history_table("production") in tagged(aws, "production")
    table = kept_table(run.out)
    assert "KMS key alias/stream-sales-production (us-east-1)" in table
    assert "secret stream-sales/production/jwt/secret" in table and f"DB cluster snapshot {final}" in table
    assert "DynamoDB table stream-sales-production-history" in table
    assert f"bucket stream-sales-production-images-{ACCOUNT}" in table
    # The kept secrets keep their values: a redeploy reuses them.
    purged = playbook("teardown", "production", *confirm, "-e", "purge_data=true")
    assert purged.changed > 0
    # Purged production secrets stay restorable for 7 days (scheduled for deletion); the final
    # snapshot is kept on purpose, and so is the KMS key that encrypts it (and the secrets that
    # can still be restored); nothing else is left.
    sm = aws("secretsmanager")
    key = kms_key_arn(aws, "production")
    remaining = [arn for arn in tagged(aws, "production")
                 if ":cluster-snapshot:" not in arn and arn not in (key, history_table("production"))]
    assert history_table("production") in tagged(aws, "production")
    assert len(remaining) == 3 and all(":secret:stream-sales/production/" in arn for arn in remaining)
    assert all(sm.describe_secret(SecretId=arn).get("DeletedDate") for arn in remaining)
    assert key in tagged(aws, "production")
    assert aws("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert [a for a in tagged(aws, "production") if ":cluster-snapshot:" in a] == [
        f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:{final}"]
    assert leftovers(aws, "production")["buckets"] == []
    assert lock_table(aws, "production") == []
    # This run's table still names the final snapshot (found by the sweep: the cluster was gone)
    # and says the purged secrets are only scheduled for deletion.
    table = kept_table(purged.out)
    assert f"DB cluster snapshot {final}" in table
    assert "secret stream-sales/production/jwt/secret" in table and "scheduled for deletion" in table
    assert "KMS key alias/stream-sales-production (us-east-1)" in table
