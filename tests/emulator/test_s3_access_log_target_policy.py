"""Fix s3.access_log_target_policy_read_as_aws_reads_it: PutBucketLogging reads the target's policy
as AWS does (any statement shape around it; the grant by service, action and covering resource)."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def buckets(aws, statements):
    s3 = aws("s3")
    source, target = f"emu-src-{uuid.uuid4().hex[:8]}", f"emu-logs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    policy = {"Version": "2012-10-17", "Statement": [
        # The TLS-only statement every bucket of ours carries: Principal is the string "*".
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{target}", f"arn:aws:s3:::{target}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ] + [json.loads(json.dumps(s).replace("TARGET", target).replace("SOURCE", source)) for s in statements]}
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps(policy))
    return s3, source, target


def enable(s3, source, target, prefix="s3/"):
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": prefix,
        "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}}})


def test_grant_beside_a_principal_star_statement_and_a_prefix_wildcard(aws):
    s3, source, target = buckets(aws, [{
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::TARGET/s3/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                      "ArnLike": {"aws:SourceArn": ["arn:aws:s3:::SOURCE"]}}}])
    enable(s3, source, target)
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"] == {"TargetBucket": target, "TargetPrefix": "s3/"}
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def test_grant_with_lists_of_services_actions_and_resources(aws):
    s3, source, target = buckets(aws, [{
        "Effect": "Allow", "Principal": {"Service": ["delivery.logs.amazonaws.com", "logging.s3.amazonaws.com"]},
        "Action": ["s3:GetBucketAcl", "s3:PutObject"], "Resource": ["arn:aws:s3:::TARGET", "arn:aws:s3:::TARGET/*"]}])
    enable(s3, source, target, prefix="logs/")
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetPrefix"] == "logs/"


@pytest.mark.parametrize("grant", [
    # another service
    {"Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::TARGET/*"},
    # another prefix
    {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::TARGET/cloudfront/*"},
    # a Deny
    {"Effect": "Deny", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::TARGET/*"},
])
def test_no_grant_for_the_log_objects_is_refused(aws, grant):
    s3, source, target = buckets(aws, [grant])
    with pytest.raises(ClientError) as err:
        enable(s3, source, target)
    assert err.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
