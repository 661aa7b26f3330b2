"""The security modules run for real against the emulator: kms_alias_key, wafv2_web_acl_logged,
cloudwatch_logs_delivery, sns_topic, dynamodb_table - converge, rerun without
change, change, check mode, absent, and a create whose answer is lost (the front door's `lost`)."""
from __future__ import annotations

import uuid

import pytest

from modules_helper import calls_of, counters, faults, run_module

RUN = uuid.uuid4().hex[:8]
ACCOUNT = "123456789012"


@pytest.fixture
def calm(endpoint):
    faults(endpoint, "")
    yield
    faults(endpoint, "")


def key_policy(statements=()):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"}, *statements]}


def keys_tagged(aws, alias):
    kms = aws("kms")
    out = []
    for k in kms.list_keys()["Keys"]:
        tags = kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]
        if {"TagKey": "Name", "TagValue": alias} in tags:
            out.append(kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"])
    return out


def test_kms_key_lifecycle(endpoint, aws, calm):
    kms, alias = aws("kms"), f"alias/unit-{RUN}"
    args = {"alias": alias, "description": "unit", "policy": key_policy(), "tags": {"Environment": "unit"}}
    planned = run_module(endpoint, "kms_alias_key", args, check=True)
    assert planned["changed"] and "arn" not in planned["key"]
    created = run_module(endpoint, "kms_alias_key", args)
    key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    assert created["changed"] and created["key"]["arn"] == key["Arn"] and key["KeyState"] == "Enabled"
    rotation = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert rotation["KeyRotationEnabled"] and rotation["RotationPeriodInDays"] == 365
    assert {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]} == {
        "Environment": "unit", "Name": alias}

    faults(endpoint, "")  # counters from zero
    again = run_module(endpoint, "kms_alias_key", args)
    assert not again["changed"] and again["key"]["arn"] == key["Arn"]
    assert calls_of(endpoint, "kms.") == {
        "kms.DescribeKey": 1, "kms.GetKeyPolicy": 1, "kms.GetKeyRotationStatus": 1, "kms.ListResourceTags": 1}

    stricter = dict(args, policy=key_policy([{"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                                              "Action": "kms:Decrypt", "Resource": "*"}]), rotation_period_days=180)
    changed = run_module(endpoint, "kms_alias_key", stricter, diff=True)
    assert changed["changed"] and sorted(changed["updated"]) == ["policy", "rotation"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["RotationPeriodInDays"] == 180
    assert "Logs" in kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]

    gone = run_module(endpoint, "kms_alias_key", {"alias": alias, "state": "absent", "pending_window_days": 7})
    assert gone["changed"] and gone["key"]["state"] == "PendingDeletion" and gone["key"]["deletion_date"]
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert not run_module(endpoint, "kms_alias_key", {"alias": alias, "state": "absent"})["changed"]
    # A deploy before AWS deletes it brings the same key back.
    back = run_module(endpoint, "kms_alias_key", stricter)
    assert back["changed"] and "deletion cancelled" in back["updated"]
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Enabled"
    assert back["key"]["arn"] == key["Arn"]


def test_kms_key_created_once_when_the_create_answer_is_lost(endpoint, aws, calm):
    kms, alias = aws("kms"), f"alias/unit-lost-{RUN}"
    faults(endpoint, "lost=1,match=kms.CreateKey,count=1")
    created = run_module(endpoint, "kms_alias_key", {"alias": alias, "policy": key_policy()})
    assert created["changed"], created
    assert calls_of(endpoint, "kms.CreateKey") == {"kms.CreateKey": 2}  # the SDK sent it again
    live = [k for k in keys_tagged(aws, alias) if k["KeyState"] == "Enabled"]
    assert [k["Arn"] for k in live] == [created["key"]["arn"]] == [kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]]
    assert any("resent create" in w for w in created.get("warnings", []))


def test_kms_key_adopts_an_orphan_of_an_interrupted_create(endpoint, aws, calm):
    kms, alias = aws("kms"), f"alias/unit-orphan-{RUN}"
    # A run killed between CreateKey and CreateAlias left this key.
    orphan = kms.create_key(Tags=[{"TagKey": "Name", "TagValue": alias}])["KeyMetadata"]
    created = run_module(endpoint, "kms_alias_key", {"alias": alias, "policy": key_policy()})
    assert created["key"]["arn"] == orphan["Arn"] == kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    assert kms.get_key_rotation_status(KeyId=orphan["KeyId"])["KeyRotationEnabled"]
    assert len([k for k in keys_tagged(aws, alias) if k["KeyState"] == "Enabled"]) == 1


def rules(action):
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "rate"}
    return [{"Name": "rate", "Priority": 0, "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
             "Action": {action: {}}, "VisibilityConfig": visibility}]


def test_web_acl_lifecycle_with_logging(endpoint, aws, calm):
    waf, logs, name = aws("wafv2"), aws("logs"), f"unit-acl-{RUN}"
    group = f"aws-waf-logs-{name}"
    logs.create_log_group(logGroupName=group)
    destination = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"
    args = {"name": name, "rules": rules("Count"), "log_destination_arns": [destination], "tags": {"Environment": "unit"}}
    assert run_module(endpoint, "wafv2_web_acl_logged", args, check=True)["changed"]
    faults(endpoint, "lost=1,match=wafv2.CreateWebACL,count=1")
    created = run_module(endpoint, "wafv2_web_acl_logged", args)
    faults(endpoint, "")
    assert created["changed"], created
    [acl] = [a for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == name]
    assert created["web_acl"]["arn"] == acl["ARN"]
    assert waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]["LogDestinationConfigs"] == [destination]
    faults(endpoint, "")  # counters from zero
    again = run_module(endpoint, "wafv2_web_acl_logged", args)
    assert not again["changed"]
    assert calls_of(endpoint, "wafv2.") == {
        "wafv2.ListWebACLs": 1, "wafv2.GetWebACL": 1, "wafv2.ListTagsForResource": 1, "wafv2.GetLoggingConfiguration": 1}
    blocking = run_module(endpoint, "wafv2_web_acl_logged", dict(args, rules=rules("Block")), diff=True)
    assert blocking["changed"]
    got = waf.get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]
    assert got["Rules"][0]["Action"] == {"Block": {}} and got["VisibilityConfig"]["MetricName"] == name
    assert run_module(endpoint, "wafv2_web_acl_logged", {"name": name, "state": "absent"})["changed"]
    assert not [a for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == name]


def test_cloudfront_log_delivery_lifecycle(endpoint, aws, calm):
    logs, name = aws("logs"), f"unit-cf-{RUN}"
    args = {"name": name, "resource_arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/EUNIT{RUN.upper()}",
            "destination_arn": f"arn:aws:s3:::unit-logs-{RUN}/cloudfront", "tags": {"Environment": "unit"}}
    assert run_module(endpoint, "cloudwatch_logs_delivery", args, check=True)["changed"]
    created = run_module(endpoint, "cloudwatch_logs_delivery", args)
    assert created["changed"] and created["delivery"]["id"]
    [delivery] = [d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == name]
    assert delivery["id"] == created["delivery"]["id"] and delivery["deliveryDestinationType"] == "S3"
    assert logs.get_delivery_destination(name=f"{name}-destination")["deliveryDestination"]["outputFormat"] == "w3c"
    assert not run_module(endpoint, "cloudwatch_logs_delivery", args)["changed"]
    assert run_module(endpoint, "cloudwatch_logs_delivery", {"name": name, "state": "absent"})["changed"]
    assert not [d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == name]
    assert not run_module(endpoint, "cloudwatch_logs_delivery", {"name": name, "state": "absent"})["changed"]


@pytest.mark.parametrize("operation", ["PutDeliverySource", "PutDeliveryDestination"])
def test_log_delivery_created_once_when_a_put_answer_is_lost(endpoint, aws, calm, operation):
    """A put resent with tags conflicts (tags are taken only at creation): the module puts again
    without them and tags afterwards (chaos lost_answers seed 3 failed on it)."""
    logs, name = aws("logs"), f"unit-cf-{operation[-6:].lower()}-{RUN}"
    args = {"name": name, "resource_arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/ELOST{RUN.upper()}",
            "destination_arn": f"arn:aws:s3:::unit-logs-{RUN}/cloudfront", "tags": {"Environment": "unit"}}
    faults(endpoint, f"lost=1,match=logs\\.{operation},count=1")
    created = run_module(endpoint, "cloudwatch_logs_delivery", args)
    assert not created.get("failed"), created.get("msg")
    assert calls_of(endpoint, f"logs.{operation}")[f"logs.{operation}"] >= 2  # the SDK sent it again
    for arn in (logs.get_delivery_source(name=name)["deliverySource"]["arn"],
                logs.get_delivery_destination(name=f"{name}-destination")["deliveryDestination"]["arn"]):
        assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"Environment": "unit"}, arn
    assert len([d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == name]) == 1
    assert not run_module(endpoint, "cloudwatch_logs_delivery", args)["changed"]
    run_module(endpoint, "cloudwatch_logs_delivery", {"name": name, "state": "absent"})


def test_encrypted_topic_and_table_encryption(endpoint, aws, calm):
    sns, ddb, kms = aws("sns"), aws("dynamodb"), aws("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    name = f"unit-topic-{RUN}"
    args = {"name": name, "display_name": "unit", "kms_key_id": key, "tags": {"Environment": "unit"},
            "subscriptions": [{"protocol": "email", "endpoint": "oncall@example.com"}]}
    planned = run_module(endpoint, "sns_topic", args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"] == {} and planned["sns_arn"] == ""
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":" + name)]  # check mode made nothing
    created = run_module(endpoint, "sns_topic", args)
    topic = created["sns_arn"]
    assert created["changed"] and sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == key
    assert [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == ["oncall@example.com"]
    assert {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic)["Tags"]} == {"Environment": "unit"}
    faults(endpoint, "")  # counters from zero
    again = run_module(endpoint, "sns_topic", args, diff=True)
    assert not again["changed"] and again["sns_arn"] == topic and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "sns.") == {
        "sns.ListTopics": 1, "sns.GetTopicAttributes": 1, "sns.ListSubscriptionsByTopic": 1, "sns.ListTagsForResource": 1}
    moved = dict(args, kms_key_id="", subscriptions=[{"protocol": "email", "endpoint": "ops@example.com"}])
    assert run_module(endpoint, "sns_topic", moved)["changed"]
    assert "KmsMasterKeyId" not in sns.get_topic_attributes(TopicArn=topic)["Attributes"] or \
        not sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    assert sorted(s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == ["ops@example.com"]
    assert run_module(endpoint, "sns_topic", {"name": name, "state": "absent"})["changed"]
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"] == topic]
    assert not run_module(endpoint, "sns_topic", {"name": name, "state": "absent"})["changed"]
    table = f"unit-table-{RUN}"
    args = {"name": table, "hash_key": {"name": "tag", "type": "S"}, "range_key": {"name": "path", "type": "S"},
            "indexes": [{"name": "revalidate", "hash_key": {"name": "path", "type": "S"},
                         "range_key": {"name": "revalidatedAt", "type": "N"}}],
            "kms_key_arn": key, "tags": {"Environment": "unit"}}
    planned = run_module(endpoint, "dynamodb_table", args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"] == {} and table not in ddb.list_tables()["TableNames"]
    # CreateTable took effect, its answer lost: botocore resends it (ResourceInUseException), adopted.
    faults(endpoint, r"lost=1,count=1,match=dynamodb\.CreateTable")
    created = run_module(endpoint, "dynamodb_table", args)
    lost = counters(endpoint)["faults"]
    faults(endpoint, "")
    assert not created.get("failed"), created.get("msg")
    assert created["changed"] and created["table"]["arn"].endswith(f":table/{table}")
    described = ddb.describe_table(TableName=table)["Table"]
    assert described["SSEDescription"]["KMSMasterKeyArn"] == key and described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["revalidate"]
    assert ddb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"] == [{"Key": "Environment", "Value": "unit"}]
    assert lost == {"lost": 1}
    faults(endpoint, "")  # counters from zero
    again = run_module(endpoint, "dynamodb_table", args, diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "dynamodb.") == {"dynamodb.DescribeTable": 1, "dynamodb.ListTagsOfResource": 1}
    assert run_module(endpoint, "dynamodb_table", dict(args, kms_key_arn=""))["changed"]
    assert "SSEDescription" not in ddb.describe_table(TableName=table)["Table"]
    moved = run_module(endpoint, "dynamodb_table", dict(args, range_key={"name": "other", "type": "S"}))
    assert moved.get("failed") and "cannot change" in moved["msg"]
    assert run_module(endpoint, "dynamodb_table", {"name": table, "state": "absent"})["changed"]
    assert not run_module(endpoint, "dynamodb_table", {"name": table, "state": "absent"})["changed"]
