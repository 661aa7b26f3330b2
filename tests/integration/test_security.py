"""The security settings of a production deploy, read back from the emulator with boto3 (issue 14).

What `make audit` (prowler) checks in minutes, checked here on one deploy: the environment's KMS key
and everything it encrypts, the logs bucket and what logs into it, the WAF in front of CloudFront,
trust policies, secret resource policies, Aurora's IAM authentication, dead-letter queues and
encrypted topics. docs/security.md describes them.
"""
from __future__ import annotations

import json

import pytest

from harness import reset_emulator

ENV = "production"
PREFIX = f"stream-sales-{ENV}"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ALIAS = f"alias/{PREFIX}"


@pytest.fixture(scope="module")
def deployed(endpoint, playbook):
    reset_emulator(endpoint)
    return playbook("deploy", ENV, "-e", "alarm_email=oncall@example.com")


@pytest.fixture(scope="module")
def key(deployed, aws):
    return aws("kms").describe_key(KeyId=ALIAS)["KeyMetadata"]


def statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def test_one_customer_managed_key_rotated_with_a_policy_naming_its_users(key, aws):
    kms = aws("kms")
    assert key["KeyManager"] == "CUSTOMER" and key["KeyState"] == "Enabled"
    assert not key.get("MultiRegion")
    rotation = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 365
    aliased = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/stream-sales-")]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in aliased] == [(ALIAS, key["KeyId"])]
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert tags["Environment"] == ENV and tags["Project"] == "StreamSales"

    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
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


def test_everything_that_stores_data_uses_the_key(key, aws):
    arn = key["Arn"]
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


def test_logs_bucket_takes_the_access_logs_and_cloudfront_logs_only(deployed, aws):
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
    assert sorted(access["Condition"]["ArnLike"]["aws:SourceArn"]) == [f"arn:aws:s3:::{PREFIX}-images-{ACCOUNT}",
                                                                      f"arn:aws:s3:::{PREFIX}-site-{ACCOUNT}"]
    delivery = statement(policy, "AWSLogDeliveryWrite")
    assert delivery["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert delivery["Resource"] == f"arn:aws:s3:::{logs}/cloudfront/*"
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:delivery-source:{PREFIX}-cloudfront"
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow" and s.get("Principal") == "*"]
    for what in ("images", "site"):
        assert s3.get_bucket_logging(Bucket=f"{PREFIX}-{what}-{ACCOUNT}")["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": "s3/"}


def test_waf_blocks_in_front_of_cloudfront_and_logs(deployed, aws):
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


def test_service_roles_trust_this_account_only(deployed, aws):
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


def test_secrets_deny_principals_outside_the_account(deployed, aws):
    sm = aws("secretsmanager")
    for secret in [s for s in sm.list_secrets()["SecretList"] if s["Name"].startswith(f"stream-sales/{ENV}/")]:
        policy = json.loads(sm.get_resource_policy(SecretId=secret["ARN"])["ResourcePolicy"])
        [deny] = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "secretsmanager:*"
        assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}


def test_asynchronous_functions_have_dead_letter_queues(deployed, aws):
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
