"""The scaled clock on Lambda (clock.py: lambda_states_follow_the_clock).

State is Pending after create and LastUpdateStatus InProgress after each update, for their
typical times times the clock factor; what Lambda refuses meanwhile (ResourceConflictException)
is refused. A Lambda@Edge function cannot be deleted while a distribution associates it, nor for
the replicas' lifetime after the last association went.
"""
from __future__ import annotations

import io
import json
import uuid
import zipfile

import time

import pytest
from botocore.exceptions import ClientError
from clockwork import watch


def code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.js", "exports.handler = async () => ({statusCode: 200});")
    return buf.getvalue()


@pytest.fixture
def role(aws):
    iam = aws("iam")
    name = f"clock-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def conflict(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    return caught.value.response["Error"]["Message"]


def test_pending_then_active_and_updates_in_progress(aws, set_clock, role):
    set_clock(1.0)  # lambda_create 2 s, lambda_update 3 s
    lam = aws("lambda")
    created = lam.create_function(FunctionName="clock-fn", Runtime="nodejs20.x", Role=role, Handler="index.handler",
                                  Code={"ZipFile": code()})
    assert created["State"] == "Pending" and created["StateReasonCode"] == "Creating"
    assert "Pending" in conflict(lambda: lam.update_function_configuration(FunctionName="clock-fn", Timeout=9))
    conflict(lambda: lam.invoke(FunctionName="clock-fn"))

    def states():
        config = lam.get_function(FunctionName="clock-fn")["Configuration"]
        return config["State"], config.get("LastUpdateStatus")

    watch(states, lambda s: s == ("Active", "Successful"), limit=20)
    lam.update_function_configuration(FunctionName="clock-fn", Timeout=9)
    assert states() == ("Active", "InProgress")
    assert "update is in progress" in conflict(lambda: lam.update_function_code(FunctionName="clock-fn", ZipFile=code()))
    conflict(lambda: lam.publish_version(FunctionName="clock-fn"))
    updated = watch(states, lambda s: s == ("Active", "Successful"), limit=20)
    assert updated[-1][0] >= 2.0
    assert lam.publish_version(FunctionName="clock-fn")["Version"] == "1"
    # The waiter the product relies on agrees.
    lam.update_function_code(FunctionName="clock-fn", ZipFile=code())
    lam.get_waiter("function_updated_v2").wait(FunctionName="clock-fn", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert states() == ("Active", "Successful")


def test_vpc_function_pending_longer(aws, set_clock, role):
    set_clock(0.05)  # lambda_create_vpc 3 s
    ec2, lam = aws("ec2"), aws("lambda")
    vpc = ec2.create_vpc(CidrBlock="10.92.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.92.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="clock-fn", Description="fn", VpcId=vpc)["GroupId"]
    since = time.monotonic()
    created = lam.create_function(FunctionName="clock-vpc-fn", Runtime="nodejs20.x", Role=role,
                                  Handler="index.handler", Code={"ZipFile": code()},
                                  VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [sg]})
    assert created["State"] == "Pending"
    states = watch(lambda: lam.get_function(FunctionName="clock-vpc-fn")["Configuration"]["State"],
                   lambda s: s == "Active", limit=20, since=since)
    assert states[-1][0] >= 2.5


def test_edge_function_held_by_its_replicas(aws, set_clock, role):
    set_clock(0.0005)  # lambda_edge_replicas 3.6 s, cloudfront_deploy 0.15 s
    lam, cf = aws("lambda"), aws("cloudfront")
    lam.create_function(FunctionName="clock-edge", Runtime="nodejs20.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": code()})
    watch(lambda: lam.get_function(FunctionName="clock-edge")["Configuration"]["State"], lambda s: s == "Active", limit=10)
    version_arn = lam.publish_version(FunctionName="clock-edge")["FunctionArn"]
    behaviour = {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                 "LambdaFunctionAssociations": {"Quantity": 1, "Items": [
                     {"LambdaFunctionARN": version_arn, "EventType": "origin-request", "IncludeBody": True}]}}
    config = {"CallerReference": str(uuid.uuid4()), "Comment": "edge", "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com",
                                                    "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                           "OriginProtocolPolicy": "https-only"}}]},
              "DefaultCacheBehavior": behaviour}
    dist = cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]

    def delete_refused() -> bool:
        try:
            lam.delete_function(FunctionName="clock-edge")
            return False
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidParameterValueException"
            assert "replicated function" in exc.response["Error"]["Message"]
            return True

    assert delete_refused()
    watch(lambda: cf.get_distribution(Id=dist)["Distribution"]["Status"], lambda s: s == "Deployed", limit=10)
    current = cf.get_distribution_config(Id=dist)
    without = dict(config, DefaultCacheBehavior={k: v for k, v in behaviour.items() if k != "LambdaFunctionAssociations"})
    cf.update_distribution(Id=dist, IfMatch=current["ETag"], DistributionConfig=without)
    assert delete_refused()  # the replicas outlive the association for a while
    freed = watch(delete_refused, lambda refused: not refused, limit=30, every=0.5)
    assert freed[-1][0] >= 3.0
