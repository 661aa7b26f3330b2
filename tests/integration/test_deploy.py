"""Deploy the local inventory (dev's shape, with an alarm address) into an empty emulator, then check real state.

Every playbook here runs at -vvv and no secret value may appear in its output nor in any file
the project writes (brief, rule 5); the same deployed stack serves the check-mode test of a
deployed account, and the teardown comes last.
"""
from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from harness import ROOT, reset_emulator

STATE_DIR = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state"))  # per xdist worker

# The whole stack: the alarms and their topic need an address.
EMAIL = ("-e", "alarm_email=oncall@example.com")
TAGS = {"Project": "StreamSales", "Environment": "local", "ManagedBy": "Ansible", "CostCenter": "Engineering"}
ACCOUNT = "123456789012"


def tags_of(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or []}


def assert_tagged(resource: dict, name: str | None = None) -> None:
    tags = tags_of(resource)
    assert {k: tags.get(k) for k in TAGS} == TAGS, tags
    if name:
        assert tags.get("Name") == name


def secret_values(values: dict) -> list[str]:
    """Every secret string, and the database password inside its JSON."""
    found = []
    for raw in values.values():
        found.append(raw)
        if raw.startswith("{"):
            found.append(json.loads(raw)["password"])
    return found


def assert_no_secret(run, values: list[str]) -> None:
    leaked = [v[:3] + "..." for v in values if v in run.out]
    assert not leaked, f"secret values in the output: {leaked}"


@pytest.fixture(scope="module")
def deployed(endpoint, playbook, aws):
    reset_emulator(endpoint)
    first = playbook("deploy", "local", "-vvv", *EMAIL)
    secrets = aws("secretsmanager")
    values = {
        s["Name"]: secrets.get_secret_value(SecretId=s["ARN"])["SecretString"]
        for s in secrets.list_secrets()["SecretList"]
    }
    versions = {name: len(secrets.list_secret_version_ids(SecretId=name)["Versions"]) for name in values}
    second = playbook("deploy", "local", "-vvv", "--diff", *EMAIL)
    return {"first": first, "second": second, "values_after_first": values, "versions_after_first": versions,
            "secret_values": secret_values(values)}


def test_no_secret_in_deploy_output_at_vvv_nor_in_any_file(deployed):
    values = deployed["secret_values"]
    assert len(values) == 4  # database JSON + its password, JWT secret, encryption key
    assert_no_secret(deployed["first"], values)
    assert_no_secret(deployed["second"], values)
    # os.walk, not rglob: PostgreSQL and the emulator remove files and folders while we read.
    for folder, _dirs, files in os.walk(STATE_DIR):
        for name in files:
            path = Path(folder) / name
            try:
                if not path.is_file() or path.stat().st_size >= 5_000_000:
                    continue
                text = path.read_bytes().decode("utf-8", "replace")
            except FileNotFoundError:
                continue  # removed since it was listed (PostgreSQL's pg_internal.init): nothing left to leak
            assert not any(v in text for v in values), path


@pytest.fixture(scope="module")
def vpc(deployed, aws):
    vpcs = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["stream-sales-local-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1
    return vpcs[0]


def test_second_deploy_changes_nothing(deployed):
    assert deployed["first"].changed > 0
    assert deployed["second"].changed == 0, deployed["second"].out[-3000:]
    assert deployed["second"].recap["failed"] == 0


def test_vpc_has_dns_and_tags(vpc, aws):
    ec2 = aws("ec2")
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert_tagged(vpc, "stream-sales-local-vpc")
    for attr, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attr)[key]["Value"] is True


def test_three_tiers_of_24_per_az(vpc, aws):
    subnets = aws("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 6
    by_tier: dict = {}
    for s in subnets:
        assert_tagged(s)
        assert ipaddress.ip_network(s["CidrBlock"]).prefixlen == 24
        by_tier.setdefault(tags_of(s)["Tier"], []).append(s)
    assert sorted(by_tier) == ["isolated", "private", "public"]
    for items in by_tier.values():
        assert sorted(s["AvailabilityZone"] for s in items) == ["us-east-1a", "us-east-1b"]
        assert all(s["MapPublicIpOnLaunch"] is False for s in items)  # public ones too: NAT gateways have Elastic IPs
    assert sorted(s["CidrBlock"] for s in by_tier["private"]) == ["10.0.64.0/24", "10.0.65.0/24"]


def test_routing_per_tier(vpc, aws):
    ec2 = aws("ec2")
    subnets = {s["SubnetId"]: tags_of(s)["Tier"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                              {"Name": "state", "Values": ["available", "pending"]}])["NatGateways"]
    assert len(nats) == 1
    nat = nats[0]
    assert subnets[nat["SubnetId"]] == "public"
    assert_tagged(nat, "stream-sales-local-nat-us-east-1a")
    eips = ec2.describe_addresses(Filters=[{"Name": "tag:Environment", "Values": ["local"]}])["Addresses"]
    assert [e["AllocationId"] for e in eips] == [nat["NatGatewayAddresses"][0]["AllocationId"]]
    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    assert len(igw) == 1
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["VpcEndpoints"]
    assert len(endpoints) == 1 and endpoints[0]["ServiceName"] == "com.amazonaws.us-east-1.s3"
    # Only the environment's images and site buckets, for this account (not AWS's allow-all default).
    [allow] = json.loads(endpoints[0]["PolicyDocument"])["Statement"]
    assert sorted(allow["Resource"]) == sorted(f"arn:aws:s3:::stream-sales-local-{what}-{ACCOUNT}{rest}"
                                               for what in ("images", "site") for rest in ("", "/*"))
    assert allow["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    s3_tables = set(endpoints[0]["RouteTableIds"])
    for table in tables:
        tiers = {subnets[a["SubnetId"]] for a in table["Associations"] if a.get("SubnetId")}
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        if tiers == {"public"}:
            assert len(table["Associations"]) == 2 and default[0]["GatewayId"] == igw[0]["InternetGatewayId"]
        elif tiers == {"private"}:
            assert default[0]["NatGatewayId"] == nat["NatGatewayId"] and table["RouteTableId"] in s3_tables
        elif tiers == {"isolated"}:
            assert not default and table["RouteTableId"] in s3_tables
        else:
            assert not tiers, f"route table {table['RouteTableId']} mixes tiers {tiers}"


def test_database_security_group_only_from_app(vpc, aws):
    groups = {g["GroupName"]: g for g in aws("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]}
    app, db = groups["stream-sales-local-app"], groups["stream-sales-local-database"]
    assert_tagged(db)
    assert db["IpPermissionsEgress"] == []
    assert len(db["IpPermissions"]) == 1
    rule = db["IpPermissions"][0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [app["GroupId"]]
    assert rule["IpRanges"] == [] and rule.get("Ipv6Ranges", []) == []
    # The VPC's default group keeps no rule (AWS makes it with two).
    assert groups["default"]["IpPermissions"] == [] and groups["default"]["IpPermissionsEgress"] == []


def test_secrets_shape_generated_once(deployed, aws):
    sm = aws("secretsmanager")
    before = deployed["values_after_first"]
    assert sorted(before) == [
        "stream-sales/local/database/credentials", "stream-sales/local/encryption/key", "stream-sales/local/jwt/secret",
    ]
    db = json.loads(before["stream-sales/local/database/credentials"])
    assert sorted(db) == ["dbname", "engine", "host", "password", "port", "username"]
    assert (db["username"], db["engine"], db["dbname"]) == ("dbadmin", "postgres", "streams")
    # The aurora role pointed host and port at the cluster's endpoint, as RDS reports it.
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier="stream-sales-local-cluster")["DBClusters"][0]
    assert (db["host"], db["port"]) == (cluster["Endpoint"], str(cluster["Port"]))
    assert len(db["password"]) == 32 and db["password"].isalnum()
    for name, length in (("stream-sales/local/jwt/secret", 64), ("stream-sales/local/encryption/key", 64)):
        assert len(before[name]) == length and before[name].isalnum()
    for name, value in before.items():
        # The rerun kept the value and wrote no new version.
        assert sm.get_secret_value(SecretId=name)["SecretString"] == value
        assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == deployed["versions_after_first"][name]
        assert_tagged(sm.describe_secret(SecretId=name))


def test_images_bucket_private_encrypted_tls_only(deployed, aws):
    s3 = aws("s3")
    bucket = f"stream-sales-local-images-{ACCOUNT}"
    # SSE-KMS with the environment's own key (docs/security.md), with bucket keys.
    key = aws("kms").describe_key(KeyId="alias/stream-sales-local")["KeyMetadata"]["Arn"]
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert enc["BucketKeyEnabled"] is True
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow" and s.get("Principal") == "*"]
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors[0]["AllowedOrigins"] == ["*"]
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") is None
    assert_tagged(s3.get_bucket_tagging(Bucket=bucket))
    site = f"stream-sales-local-site-{ACCOUNT}"
    assert all(s3.get_public_access_block(Bucket=site)["PublicAccessBlockConfiguration"].values())


def test_security_settings_of_the_local_stack(deployed, aws):
    """Issue 14's settings on the gate's one stack (dev's shape): the environment's key encrypts
    what stores data, secrets deny other accounts, service roles trust this account only, the
    asynchronous functions have dead letters, Aurora takes IAM authentication, the WAF counts
    in front of CloudFront, the buckets log into the logs bucket. test_environments checks them
    all, in more detail, on its production deploy (the long tier)."""
    prefix, region = "stream-sales-local", "us-east-1"
    key = aws("kms").describe_key(KeyId=f"alias/{prefix}")["KeyMetadata"]
    arn = key["Arn"]
    assert key["KeyManager"] == "CUSTOMER" and key["KeyState"] == "Enabled"
    assert aws("kms").get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
    sm = aws("secretsmanager")
    secrets = [x for x in sm.list_secrets()["SecretList"] if x["Name"].startswith("stream-sales/local/")]
    assert len(secrets) == 3 and all(x["KmsKeyId"] == arn for x in secrets)
    for secret in secrets:
        [deny] = json.loads(sm.get_resource_policy(SecretId=secret["ARN"])["ResourcePolicy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}
    sqs = aws("sqs")
    urls = sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    assert len(urls) == 3 and all(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["KmsMasterKeyId"])["Attributes"]
                                  ["KmsMasterKeyId"] == arn for u in urls)
    sse = aws("dynamodb").describe_table(TableName=f"{prefix}-tag-cache")["Table"]["SSEDescription"]
    assert (sse["SSEType"], sse["KMSMasterKeyArn"]) == ("KMS", arn)
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:{prefix}-alarms"
    assert aws("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == arn
    lam = aws("lambda")
    functions = [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(f"{prefix}-")]
    with_env = [f for f in functions if (f.get("Environment") or {}).get("Variables")]
    assert with_env and all(f.get("KMSKeyArn") == arn for f in with_env), [(f["FunctionName"], f.get("KMSKeyArn")) for f in with_env]
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}-")["logGroups"]
    assert groups and all(g.get("kmsKeyId") == arn for g in groups), [(g["logGroupName"], g.get("kmsKeyId")) for g in groups]
    for name in ("revalidation", "warmer"):
        config = lam.get_function_configuration(FunctionName=f"{prefix}-{name}")
        assert config["DeadLetterConfig"] == {"TargetArn": f"arn:aws:sqs:{region}:{ACCOUNT}:{prefix}-dead-letters"}
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=f"{prefix}-cluster")["DBClusters"][0]
    assert cluster["KmsKeyId"] == arn and cluster["IAMDatabaseAuthenticationEnabled"] is True
    iam = aws("iam")
    roles = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{prefix}-")]
    # dev's shape has no flow-log or monitoring role: the functions' roles, at least, are checked.
    assert {f["Role"].rsplit("/", 1)[-1] for f in functions} <= {r["RoleName"] for r in roles}
    for role in roles:
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        for stmt in trust["Statement"]:
            if stmt["Principal"].get("Service") in ("edgelambda.amazonaws.com", ["edgelambda.amazonaws.com"]):
                continue  # Lambda@Edge documents no source-context key (scripts/audit_exceptions.yml)
            assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, (role["RoleName"], stmt)
    cf, waf = aws("cloudfront"), aws("wafv2")
    [dist] = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == prefix]
    [acl] = [a for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == prefix]
    assert cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["WebACLId"] == acl["ARN"]
    rules = {r["Name"]: r for r in waf.get_web_acl(Name=prefix, Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]["Rules"]}
    assert rules["rate-per-ip"]["Action"] == {"Count": {}}  # dev's shape counts; staging and production block
    assert all(r["OverrideAction"] == {"Count": {}} for r in rules.values() if "ManagedRuleGroupStatement" in r["Statement"])
    s3, logs = aws("s3"), f"{prefix}-logs-{ACCOUNT}"
    for what in ("images", "site"):
        assert s3.get_bucket_logging(Bucket=f"{prefix}-{what}-{ACCOUNT}")["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": "s3/"}


def test_outputs_in_ssm_and_printed(deployed, vpc, aws):
    params = aws("ssm").get_parameters_by_path(Path="/stream-sales/local/outputs")["Parameters"]
    outputs = {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in params}
    assert outputs["VPCId"] == vpc["VpcId"]
    assert outputs["ImagesBucketName"] == f"stream-sales-local-images-{ACCOUNT}"
    assert outputs["DatabaseSecretArn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:stream-sales/local/database/credentials")
    assert outputs["JWTSecretArn"].split(":secret:")[1].startswith("stream-sales/local/jwt/secret")
    for key in ("VPCId", "ImagesBucketName", "DatabaseSecretArn", "JWTSecretArn", "ImagesBucketURL"):
        assert f" {key} " in deployed["second"].out
    assert vpc["VpcId"] in deployed["second"].out


def test_outputs_playbook_reads_back_json(deployed, vpc, playbook):
    run = playbook("outputs", "local", "-vvv", "-e", "outputs_format=json")
    assert f'"VPCId": "{vpc["VpcId"]}"' in run.out
    assert_no_secret(run, deployed["secret_values"])


def test_check_reports_no_change_then_shows_a_change_without_applying_it(deployed, playbook, aws):
    """`--check --diff` on the deployed stack is `cdk diff`: nothing to do, then one setting changed."""
    ec2 = aws("ec2")

    def counts():
        return (len(ec2.describe_subnets()["Subnets"]), len(ec2.describe_addresses()["Addresses"]),
                len(aws("secretsmanager").list_secrets()["SecretList"]), len(aws("s3").list_buckets()["Buckets"]),
                len(aws("ssm").describe_parameters()["Parameters"]))

    before = counts()
    assert playbook("deploy", "local", "--check", "--diff", *EMAIL).changed == 0
    # The changed setting through its role's tag (a whole-stack check run is the one above).
    run = playbook("deploy", "local", "--check", "--diff", "--tags", "storage", *EMAIL,
                   "-e", '{"storage_images_cors_origins": ["https://shop.example.com"]}')
    assert run.changed == 1 and "https://shop.example.com" in run.out
    cors = aws("s3").get_bucket_cors(Bucket="stream-sales-local-images-123456789012")["CORSRules"]
    assert cors[0]["AllowedOrigins"] == ["*"]
    assert counts() == before


# ---- alarms and dashboard; the edge roles' tags alone (--tags alarms, --tags cdn) ----------------

def alarms(aws, prefix="stream-sales-local-alarm-"):
    return {a["AlarmName"][len(prefix):]: a for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}


def test_seed_alarms_exactly(deployed, aws):
    found = alarms(aws)
    cluster = [{"Name": "DBClusterIdentifier", "Value": "stream-sales-local-cluster"}]
    expected = {
        "db-cpu": ("AWS/RDS", "CPUUtilization", cluster, "Average", 300, 2, 80.0, "GreaterThanThreshold"),
        "db-connections": ("AWS/RDS", "DatabaseConnections", cluster, "Average", 300, 2, 90.0, "GreaterThanThreshold"),
        "server-errors": ("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": "stream-sales-local-server"}],
                          "Sum", 300, 2, 10.0, "GreaterThanThreshold"),
    }
    for name, (ns, metric, dims, stat, period, periods, threshold, op) in expected.items():
        a = found[name]
        assert (a["Namespace"], a["MetricName"], a["Dimensions"], a["Statistic"], a["Period"],
                a["EvaluationPeriods"], a["Threshold"], a["ComparisonOperator"]) == (ns, metric, dims, stat, period, periods, threshold, op)
    topic = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"] if t["TopicArn"].endswith(":stream-sales-local-alarms")]
    assert len(topic) == 1
    for a in found.values():
        assert a["AlarmActions"] == topic and a["OKActions"] == topic
    subs = aws("sns").list_subscriptions_by_topic(TopicArn=topic[0])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]


def test_on_call_alarms(deployed, aws):
    found = alarms(aws)
    assert found["db-acu"]["MetricName"] == "ACUUtilization" and found["db-acu"]["Threshold"] == 90.0
    assert found["server-throttles"]["MetricName"] == "Throttles"
    assert found["revalidation-queue-age"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    tags = aws("cloudwatch").list_tags_for_resource(ResourceARN=found["db-cpu"]["AlarmArn"])["Tags"]
    assert {"Key": "Environment", "Value": "local"} in tags


@pytest.mark.slow  # long tier: one more deploy of the whole stack
def test_threshold_change_updates_in_place(deployed, aws, playbook):
    before = alarms(aws)["db-cpu"]
    assert playbook("deploy", "local", *EMAIL).changed == 0
    changed = playbook("deploy", "local", *EMAIL, "-e", "alarms_db_cpu_percent=70", "--tags", "alarms")
    assert changed.changed == 1
    after = alarms(aws)["db-cpu"]
    assert after["Threshold"] == 70.0 and after["AlarmArn"] == before["AlarmArn"]


def test_cdn_tag_alone_applies_a_changed_price_class(deployed, aws, playbook):
    cf = aws("cloudfront")
    [dist] = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == "stream-sales-local"]
    before = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    invalidations = cf.list_invalidations(DistributionId=dist["Id"])["InvalidationList"]["Quantity"]
    assert before["PriceClass"] == "PriceClass_100"

    # The storage and app roles do not run: the cdn role finds the buckets, build and function URLs by name.
    run = playbook("deploy", "local", *EMAIL, "--tags", "cdn", "-e", "cdn_price_class=PriceClass_All", "-v")  # -v: ok tasks shown
    assert run.changed == 1 and "found by name" in run.out
    after = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    assert after["PriceClass"] == "PriceClass_All"
    assert after["Origins"] == before["Origins"] and after["CacheBehaviors"] == before["CacheBehaviors"]
    assert after["DefaultCacheBehavior"] == before["DefaultCacheBehavior"]
    # Same build: nothing to invalidate.
    assert cf.list_invalidations(DistributionId=dist["Id"])["InvalidationList"]["Quantity"] == invalidations

    back = playbook("deploy", "local", *EMAIL, "--tags", "cdn")
    assert back.changed == 1
    assert cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["PriceClass"] == "PriceClass_100"
    assert playbook("deploy", "local", *EMAIL, "--tags", "cdn").changed == 0


def test_dashboard_widgets_reference_existing_resources(deployed, aws):
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName="stream-sales-local")["DashboardBody"])
    titles = " ".join(w["properties"]["title"] for w in body["widgets"])
    for part in ("Server function", "Database", "Error rate"):
        assert part in titles
    referenced = set()
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            names = [x for x in row if isinstance(x, str)]
            referenced |= {(names[i], names[i + 1]) for i in range(2, len(names) - 1, 2) if names[i] != "."}
    assert referenced, body
    for dim, value in referenced:
        if dim == "DBClusterIdentifier":
            assert aws("rds").describe_db_clusters(DBClusterIdentifier=value)["DBClusters"]
        elif dim == "FunctionName":
            assert aws("lambda").get_function(FunctionName=value)["Configuration"]["FunctionName"] == value
        elif dim == "DistributionId":
            assert aws("cloudfront").get_distribution(Id=value)["Distribution"]["Id"] == value


def test_no_email_no_alarms(deployed, aws, playbook):
    """Last before the teardown: without an address the alarms role removes the alarms."""
    playbook("deploy", "local", "--tags", "alarms")
    assert alarms(aws) == {}
    assert aws("cloudwatch").get_dashboard(DashboardName="stream-sales-local")["DashboardBody"]


# ---- teardown (last: it removes what the tests above looked at) ------------------------------

HISTORY_TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/stream-sales-local-history"


def kept_resources(out: str) -> list:
    """The first column of the teardown's closing table of what it kept on purpose."""
    table = out[out.rindex("Kept on purpose by the teardown"):].split("\n\n", 1)[0]
    return [line.split(" | ", 1)[0].strip() for line in table.splitlines() if " | " in line]


def test_teardown_leaves_nothing_tagged_even_strays(deployed, vpc, playbook, aws):
    """local (dev's shape) keeps nothing but its history and its KMS key, pending deletion (AWS
    deletes a key no sooner than 7 days later): after a teardown no other resource is tagged for
    it, not even what the roles never made - an ENI Lambda left, an Elastic IP, a manual snapshot,
    a log group Lambda created - and a second teardown has nothing to do."""
    ec2, tags = aws("ec2"), [{"Key": "Project", "Value": "StreamSales"}, {"Key": "Environment", "Value": "local"}]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Description="AWS Lambda VPC ENI-stream-sales-local-server-5b6c")
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags}])
    aws("rds").create_db_cluster_snapshot(DBClusterSnapshotIdentifier="stream-sales-local-by-hand",
                                          DBClusterIdentifier="stream-sales-local-cluster", Tags=tags)
    aws("logs").create_log_group(logGroupName="/aws/lambda/stream-sales-local-server-old")

    run = playbook("teardown", "local", "-vvv")
    assert run.recap["failed"] == 0
    assert_no_secret(run, deployed["secret_values"])
    # The closing table names the history (kept in every environment: it says who tore it down,
    # docs/history.md) and the key, its deletion scheduled.
    kept = kept_resources(run.out)
    assert sorted(kept) == ["DynamoDB table stream-sales-local-history", "KMS key alias/stream-sales-local (us-east-1)"], kept
    table = run.out[run.out.rindex("Kept on purpose by the teardown of stream-sales-local"):].split("PLAY RECAP")[0]
    assert "deletion scheduled" in table, table
    key = aws("kms").describe_key(KeyId="alias/stream-sales-local")["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    found = aws("resourcegroupstaggingapi").get_resources(TagFilters=[
        {"Key": "Project", "Values": ["StreamSales"]}, {"Key": "Environment", "Values": ["local"]}])["ResourceTagMappingList"]
    deleted_nats = {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] == "deleted"}
    assert sorted(r["ResourceARN"] for r in found if r["ResourceARN"].rsplit("/", 1)[-1] not in deleted_nats) == \
        sorted([key["Arn"], HISTORY_TABLE_ARN])
    # Per-service listings, for what the tagging API does not see.
    assert eni["NetworkInterface"]["NetworkInterfaceId"] not in [
        e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces()["NetworkInterfaces"]]
    assert ec2.describe_addresses(Filters=[{"Name": "tag:Environment", "Values": ["local"]}])["Addresses"] == []
    assert eip["AllocationId"] not in [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["local"]}])["Vpcs"] == []
    assert aws("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"] == []
    assert aws("rds").describe_db_clusters()["DBClusters"] == []
    assert aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/stream-sales-local-")["logGroups"] == []
    assert aws("secretsmanager").list_secrets()["SecretList"] == []
    assert [b for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith("stream-sales-local-")] == []
    assert aws("dynamodb").list_tables()["TableNames"] == ["stream-sales-local-history"]  # the tag cache and the lock table gone
    assert aws("lambda").list_functions()["Functions"] == []  # the edge body signer too
    assert aws("ssm").get_parameters_by_path(Path="/stream-sales/local", Recursive=True)["Parameters"] == []
    assert [q for q in aws("sqs").list_queues().get("QueueUrls", []) if "stream-sales-local" in q] == []
    cf = aws("cloudfront")
    assert (cf.list_distributions()["DistributionList"].get("Items") or []) == []
    assert [o for o in cf.list_origin_access_controls()["OriginAccessControlList"].get("Items") or []
            if o["Name"].startswith("stream-sales-local")] == []
    assert [f for f in cf.list_functions()["FunctionList"].get("Items") or [] if f["Name"].startswith("stream-sales-local")] == []
    assert aws("acm").list_certificates()["CertificateSummaryList"] == []
    assert [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith("stream-sales-local")] == []
    assert [r for r in aws("events").list_rules()["Rules"] if r["Name"].startswith("stream-sales-local")] == []
    again = playbook("teardown", "local")
    assert again.changed == 0, again.out[-3000:]
    assert aws("dynamodb").list_tables()["TableNames"] == ["stream-sales-local-history"]
