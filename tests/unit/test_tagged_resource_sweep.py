"""tagged_resources_info finds an environment's strays, tagged_resource_sweep deletes them: run
for real against the emulator, each test with an environment name of its own."""
from __future__ import annotations

import uuid

import pytest

from modules_helper import run_module
from ansible_collections.stream_sales.platform.plugins.module_utils.resource_arns import parse_arn


@pytest.fixture
def env(aws):
    """A fresh environment name, a VPC tagged for it, and its tags."""
    name = f"unit{uuid.uuid4().hex[:6]}"
    tags = [{"Key": "Project", "Value": "StreamSales"}, {"Key": "Environment", "Value": name}]
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24",
                               TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}])["Subnet"]["SubnetId"]
    return {"name": name, "tags": tags, "vpc": vpc, "subnet": subnet, "filter": {"Project": "StreamSales", "Environment": name}}


def strays(aws, env) -> dict:
    ec2 = aws("ec2")
    eni = ec2.create_network_interface(SubnetId=env["subnet"], Description=f"AWS Lambda VPC ENI-stream-sales-{env['name']}-server-1")
    other_eni = ec2.create_network_interface(SubnetId=env["subnet"], Description="somebody else's")
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": env["tags"]}])
    group = f"/aws/lambda/stream-sales-{env['name']}-orphan"
    aws("logs").create_log_group(logGroupName=group)
    queue = aws("sqs").create_queue(QueueName=f"stream-sales-{env['name']}-q", tags={t["Key"]: t["Value"] for t in env["tags"]})
    secret = aws("secretsmanager").create_secret(Name=f"stream-sales/{env['name']}/kept", SecretString="x", Tags=env["tags"])
    return {"eni": eni["NetworkInterface"]["NetworkInterfaceId"], "other_eni": other_eni["NetworkInterface"]["NetworkInterfaceId"],
            "eip": eip["AllocationId"], "log_group": group, "queue": queue["QueueUrl"], "secret": secret["ARN"]}


def test_parse_arn_names_types_as_the_tagging_api():
    assert parse_arn("arn:aws:secretsmanager:us-east-1:1:secret:stream-sales/dev/jwt/secret-AbCdEf") == (
        "secretsmanager", "secretsmanager:secret", "stream-sales/dev/jwt/secret-AbCdEf")
    assert parse_arn("arn:aws:rds:us-east-1:1:cluster-snapshot:stream-sales-dev-final-1")[1:] == ("rds:cluster-snapshot", "stream-sales-dev-final-1")
    assert parse_arn("arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x:*")[1:] == ("logs:log-group", "/aws/lambda/x")
    assert parse_arn("arn:aws:ec2:us-east-1:1:elastic-ip/eipalloc-1")[1:] == ("ec2:elastic-ip", "eipalloc-1")
    assert parse_arn("arn:aws:s3:::stream-sales-dev-images-1")[1:] == ("s3", "stream-sales-dev-images-1")


def test_find_then_sweep_keeps_what_is_kept_and_is_idempotent(aws, endpoint, env):
    made = strays(aws, env)
    found = run_module(endpoint, "tagged_resources_info", {
        "tags": env["filter"], "log_group_prefixes": [f"/aws/lambda/stream-sales-{env['name']}-"]})
    arns = found["arns"]
    by_id = {r["id"]: r for r in found["resources"]}
    assert "lambda_enis" in by_id[made["eni"]]["found_by"]
    assert made["other_eni"] not in by_id  # neither Lambda's nor tagged
    assert "addresses" in by_id[made["eip"]]["found_by"]
    assert "log_groups" in by_id[made["log_group"]]["found_by"]
    assert made["secret"] in arns and env["vpc"] in by_id
    aws("ec2").delete_network_interface(NetworkInterfaceId=made["other_eni"])
    # Only some types; and exclusions.
    enis = run_module(endpoint, "tagged_resources_info", {"tags": env["filter"], "resource_types": ["ec2:network-interface"],
                                                          "exclude": [f":secret:stream-sales/{env['name']}/"]})
    assert [r["id"] for r in enis["resources"]] == [made["eni"]]

    keep = [{"pattern": f":secret:stream-sales/{env['name']}/", "why": "kept on purpose"}]
    args = {"resources": arns, "keep": keep, "secret_recovery_window_days": 0}
    planned = run_module(endpoint, "tagged_resource_sweep", args, check=True, diff=True)
    assert planned["changed"] and planned["deleted"]
    assert aws("logs").describe_log_groups(logGroupNamePrefix=made["log_group"])["logGroups"]  # check mode deleted nothing

    swept = run_module(endpoint, "tagged_resource_sweep", args)
    assert swept["changed"]
    deleted = {d["resource"] for d in swept["deleted"]}
    assert {f"network interface {made['eni']}", f"Elastic IP {made['eip']}", f"log group {made['log_group']}",
            f"SQS queue stream-sales-{env['name']}-q", f"subnet {env['subnet']}", f"VPC {env['vpc']}"} <= deleted
    assert swept["kept"] == [{"arn": made["secret"], "resource": f"secret stream-sales/{env['name']}/kept", "why": "kept on purpose"}]
    ec2 = aws("ec2")
    assert made["eni"] not in [e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces()["NetworkInterfaces"]]
    assert made["eip"] not in [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    assert not aws("logs").describe_log_groups(logGroupNamePrefix=made["log_group"])["logGroups"]

    # A rerun (resuming an interrupted sweep) has nothing left to do; what vanished is "gone".
    again = run_module(endpoint, "tagged_resource_sweep", args)
    assert not again["changed"] and again["deleted"] == []
    assert set(again["gone"]) == set(arns) - {made["secret"]}


def test_what_cannot_be_deleted_is_reported_with_the_reason(aws, endpoint, env):
    sm = aws("secretsmanager")
    pending = sm.create_secret(Name=f"stream-sales/{env['name']}/purged", SecretString="x", Tags=env["tags"])["ARN"]
    sm.delete_secret(SecretId=pending, RecoveryWindowInDays=7)
    foreign = "arn:aws:rds:us-east-1:123456789012:cluster:stream-sales-somebody-cluster"
    swept = run_module(endpoint, "tagged_resource_sweep", {"resources": [pending, foreign]})
    assert not swept["changed"]
    why = {k["resource"]: k["why"] for k in swept["kept"]}
    assert why[f"secret stream-sales/{env['name']}/purged"].startswith("scheduled for deletion")
    assert "aurora role" in why["DB cluster stream-sales-somebody-cluster"]
    aws("ec2").delete_subnet(SubnetId=env["subnet"])
    aws("ec2").delete_vpc(VpcId=env["vpc"])
