"""The front door's faults (scripts/fault_front.py): AWS's own errors, lost answers, a seed.

Each protocol's throttling error must parse in botocore as the code AWS sends, with AWS's HTTP
status, and be one botocore retries; a lost answer must have taken effect; a seed must replay
the same faults; /moto-api must never be faulted; every fault is logged and counted.
"""
from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from front_control import control

ROOT = Path(__file__).resolve().parents[2]
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
PATIENT = Config(retries={"total_max_attempts": 30, "mode": "standard"})

# service, call, AWS's throttling code, HTTP status. Sources: EC2 "RequestLimitExceeded"
# (docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html); query-protocol "Throttling"
# and JSON "ThrottlingException" (each service's Common Errors page); S3 "SlowDown" 503
# (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); Lambda
# TooManyRequestsException 429 (its API reference); CloudFront and Route 53 "Throttling" 400.
THROTTLES = [
    ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded", 503),
    ("rds", lambda c: c.describe_db_clusters(), "Throttling", 400),
    ("iam", lambda c: c.list_roles(), "Throttling", 400),
    ("sns", lambda c: c.list_topics(), "Throttling", 400),
    ("sts", lambda c: c.get_caller_identity(), "Throttling", 400),
    ("cloudwatch", lambda c: c.describe_alarms(), "Throttling", 400),  # CBOR, query-compatible
    ("dynamodb", lambda c: c.list_tables(), "ThrottlingException", 400),
    ("secretsmanager", lambda c: c.list_secrets(), "ThrottlingException", 400),
    ("logs", lambda c: c.describe_log_groups(), "ThrottlingException", 400),
    ("ssm", lambda c: c.describe_parameters(), "ThrottlingException", 400),
    ("acm", lambda c: c.list_certificates(), "ThrottlingException", 400),
    ("events", lambda c: c.list_rules(), "ThrottlingException", 400),
    ("s3", lambda c: c.list_buckets(), "SlowDown", 503),
    ("lambda", lambda c: c.list_functions(), "TooManyRequestsException", 429),
    ("cloudfront", lambda c: c.list_distributions(), "Throttling", 400),
    ("route53", lambda c: c.list_hosted_zones(), "Throttling", 400),
]


def client(endpoint, service, config=NO_RETRY):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=config,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.mark.parametrize("service,call,code,status", THROTTLES, ids=[t[0] for t in THROTTLES])
def test_throttling_answers_as_each_protocol_does(endpoint, set_faults, service, call, code, status):
    set_faults("throttle=1")
    with pytest.raises(ClientError) as caught:
        call(client(endpoint, service))
    error = caught.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    # botocore's standard retry mode retries it: a throttling code, or a transient status.
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    assert code in ThrottledRetryableChecker._THROTTLED_ERROR_CODES or status in TransientRetryableChecker._TRANSIENT_STATUS_CODES


def test_throttled_head_request_is_a_bare_503(endpoint, set_faults, aws):
    aws("s3").create_bucket(Bucket="head-throttled")
    set_faults("throttle=1")
    with pytest.raises(ClientError) as caught:
        client(endpoint, "s3").head_bucket(Bucket="head-throttled")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_botocore_retries_through_throttling(endpoint, set_faults, direct):
    set_faults("throttle=0.5", seed=11)
    ec2 = client(endpoint, "ec2", PATIENT)
    for _unused in range(10):
        ec2.describe_vpcs()
    counters = control(endpoint, "faults")["counters"]
    assert counters["faults"]["throttle"] > 0
    assert counters["calls"]["ec2.DescribeVpcs"]["requests"] == 10 + counters["faults"]["throttle"]


def test_lost_answer_took_effect(endpoint, set_faults, direct):
    set_faults(r"lost=1,match=ec2\.CreateVpc")
    with pytest.raises(ClientError) as caught:
        client(endpoint, "ec2").create_vpc(CidrBlock="10.77.0.0/16")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    vpcs = direct("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.77.0.0/16"]}])["Vpcs"]
    assert len(vpcs) == 1  # done, though the client never heard


def test_lost_answer_resent_by_botocore_duplicates(endpoint, set_faults, direct):
    """What the product must survive: botocore resends a create whose answer was lost."""
    set_faults(r"lost=1,match=ec2\.CreateVpc")
    with pytest.raises(ClientError):
        client(endpoint, "ec2", Config(retries={"total_max_attempts": 3, "mode": "standard"})).create_vpc(
            CidrBlock="10.78.0.0/16")
    vpcs = direct("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.78.0.0/16"]}])["Vpcs"]
    assert len(vpcs) == 3


def test_error_fault_does_nothing(endpoint, set_faults, direct):
    set_faults(r"error=1,match=ec2\.CreateVpc")
    with pytest.raises(ClientError) as caught:
        client(endpoint, "ec2").create_vpc(CidrBlock="10.79.0.0/16")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert direct("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.79.0.0/16"]}])["Vpcs"] == []


def test_lost_s3_upload_is_stored(endpoint, set_faults, aws, direct):
    aws("s3").create_bucket(Bucket="lost-answers")
    set_faults(r"lost=1,match=s3\.PutObject")
    with pytest.raises(ClientError):
        client(endpoint, "s3").put_object(Bucket="lost-answers", Key="k", Body=b"x" * 70000)
    assert direct("s3").get_object(Bucket="lost-answers", Key="k")["Body"].read() == b"x" * 70000


def pattern(endpoint, set_faults, seed):
    set_faults("throttle=0.3,lost=0.1", seed=seed)
    sqs = client(endpoint, "sqs")
    fates = []
    for i in range(40):
        try:
            sqs.list_queues() if i % 2 else sqs.get_queue_url(QueueName="absent")
            fates.append("ok")
        except ClientError as exc:
            fates.append(exc.response["Error"]["Code"])
    return fates


def test_seed_replays_the_same_faults(endpoint, set_faults):
    first = pattern(endpoint, set_faults, seed=7)
    assert pattern(endpoint, set_faults, seed=7) == first
    assert pattern(endpoint, set_faults, seed=8) != first
    assert {"Throttling", "InternalFailure"} & set(first)


def test_faults_are_logged_and_counted(endpoint, set_faults):
    log = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state")) / "faults.log"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    set_faults("throttle=1", seed=1)
    for _unused in range(3):
        with pytest.raises(ClientError):
            client(endpoint, "secretsmanager").list_secrets()
    lines = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    assert [(e["service"], e["operation"], e["fault"]) for e in lines] == [("secretsmanager", "ListSecrets", "throttle")] * 3
    assert all(e["time"].endswith("Z") for e in lines)
    report = control(endpoint, "faults")
    assert report["counters"]["calls"]["secretsmanager.ListSecrets"] == {"requests": 3, "throttle": 3}
    assert report["counters"]["faults"] == {"throttle": 3}
    counters_file = log.with_name("faults.json")
    assert json.loads(counters_file.read_text())["faults"] == {"throttle": 3}


@pytest.mark.parametrize("service,call,operation", [
    ("lambda", lambda c: c.get_function(FunctionName="nope"), "GetFunction"),
    ("s3", lambda c: c.get_bucket_tagging(Bucket="nope"), "GetBucketTagging"),
    ("s3", lambda c: c.list_objects_v2(Bucket="nope"), "ListObjectsV2"),
    ("cloudfront", lambda c: c.get_distribution_config(Id="nope"), "GetDistributionConfig"),
    ("ec2", lambda c: c.describe_subnets(), "DescribeSubnets"),
    ("cloudwatch", lambda c: c.describe_alarms(), "DescribeAlarms"),
])
def test_operation_is_named(endpoint, set_faults, service, call, operation):
    set_faults("")
    try:
        call(client(endpoint, service))
    except ClientError:
        pass
    assert f"{service}.{operation}" in control(endpoint, "faults")["counters"]["calls"]


def test_moto_api_is_never_faulted(endpoint, set_faults):
    set_faults("throttle=1")
    import urllib.request

    assert urllib.request.urlopen(endpoint + "/moto-api/", timeout=10).status == 200


def test_latency_is_added(endpoint, set_faults):
    ec2 = client(endpoint, "ec2")
    ec2.describe_vpcs()
    set_faults("latency=300ms")
    start = time.monotonic()
    ec2.describe_vpcs()
    assert time.monotonic() - start >= 0.3


def test_spec_errors_are_refused(endpoint):
    import urllib.error

    for spec in ("throttle=2", "latency=fast", "bogus=1", "throttle=0.6,lost=0.6"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            control(endpoint, "faults", {"spec": spec})
        assert caught.value.code == 400


def test_connections_are_kept_alive_across_faults(endpoint, set_faults, aws):
    """One connection serves a throttled upload (its body drained) and the next request."""
    aws("s3").create_bucket(Bucket="keep-alive")
    set_faults(r"throttle=1,match=s3\.PutObject")
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
    conn.request("PUT", "/keep-alive/k", body=b"z" * 50000, headers={"Authorization": auth})
    first = conn.getresponse()
    assert first.status == 503 and b"SlowDown" in first.read()
    conn.request("GET", "/keep-alive", headers={"Authorization": auth})
    second = conn.getresponse()
    second.read()
    assert second.status == 200
    assert first.getheader("Connection") != "close"


def test_count_caps_the_faults(endpoint, set_faults, direct):
    set_faults(r"lost=1,count=1,match=ec2\.CreateVpc")
    ec2 = client(endpoint, "ec2", Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    ec2.create_vpc(CidrBlock="10.80.0.0/16")  # first answer lost, the resend answered
    assert len(direct("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.80.0.0/16"]}])["Vpcs"]) == 2
    assert control(endpoint, "faults")["counters"]["faults"] == {"lost": 1}


def test_identical_calls_are_counted_as_repeats(endpoint, set_faults):
    """The benchmark's "repeated calls": the same call again (region, operation, parameters)."""
    set_faults("")  # resets the counters
    ssm = client(endpoint, "ssm")
    ssm.describe_parameters()
    ssm.describe_parameters()
    ssm.describe_parameters(MaxResults=5)  # other parameters: not a repeat
    client(endpoint, "ssm").describe_parameters()  # a new client, the same call: a repeat
    boto3.client("ssm", endpoint_url=endpoint, region_name="eu-west-1", config=NO_RETRY,
                 aws_access_key_id="testing", aws_secret_access_key="testing").describe_parameters()  # another region
    # JSON protocols name the operation in a header: the same body to another operation is
    # another call (KMS's GetKeyRotationStatus and ListResourceTags of one key).
    kms = client(endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.get_key_rotation_status(KeyId=key)
    kms.list_resource_tags(KeyId=key)
    kms.list_resource_tags(KeyId=key)
    counters = control(endpoint, "faults")["counters"]
    assert counters["calls"]["ssm.DescribeParameters"] == {"requests": 5}
    assert counters["repeats"] == {"ssm.DescribeParameters": 2, "kms.ListResourceTags": 1}
