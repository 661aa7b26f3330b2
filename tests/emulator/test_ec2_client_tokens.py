"""Fix ec2.client_tokens_make_creates_idempotent: a create resent with the same ClientToken and
parameters returns the first result and creates nothing; other parameters with that token fail
with IdempotentParameterMismatch (AWS's "Ensuring idempotency in Amazon EC2 API requests")."""
from __future__ import annotations

import uuid

import botocore.exceptions
import pytest


@pytest.fixture()
def vpc(aws):
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.64.0.0/24")["Subnet"]["SubnetId"]
    other = ec2.create_vpc(CidrBlock="10.65.0.0/16")["Vpc"]["VpcId"]
    return {"id": vpc_id, "subnet": subnet, "other": other}


def token() -> str:
    return uuid.uuid4().hex


def mismatch(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def name_tag(resource_type, name):
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def test_route_table(aws, vpc):
    ec2 = aws("ec2")
    t, name = token(), f"rt-{token()[:8]}"
    args = dict(VpcId=vpc["id"], ClientToken=t, TagSpecifications=name_tag("route-table", name))
    first = ec2.create_route_table(**args)["RouteTable"]["RouteTableId"]
    again = ec2.create_route_table(**args)["RouteTable"]["RouteTableId"]
    assert first == again
    named = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [name]}])["RouteTables"]
    assert [r["RouteTableId"] for r in named] == [first]
    mismatch(ec2.create_route_table, **{**args, "VpcId": vpc["other"]})
    # Another token is another request.
    assert ec2.create_route_table(**dict(args, ClientToken=token()))["RouteTable"]["RouteTableId"] != first


def test_route_table_token_filled_by_botocore_differs_per_call(aws, vpc):
    """Without a token of the caller's, botocore makes one per call: two calls, two tables."""
    ec2 = aws("ec2")
    first = ec2.create_route_table(VpcId=vpc["id"])["RouteTable"]["RouteTableId"]
    assert ec2.create_route_table(VpcId=vpc["id"])["RouteTable"]["RouteTableId"] != first


def test_nat_gateway(aws, vpc):
    ec2 = aws("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    t = token()
    args = dict(SubnetId=vpc["subnet"], AllocationId=allocation, ClientToken=t,
                TagSpecifications=name_tag("natgateway", f"nat-{t[:8]}"))
    first = ec2.create_nat_gateway(**args)["NatGateway"]
    again = ec2.create_nat_gateway(**args)["NatGateway"]
    assert again["NatGatewayId"] == first["NatGatewayId"]
    assert again["NatGatewayAddresses"][0]["AllocationId"] == allocation
    in_subnet = ec2.describe_nat_gateways(Filters=[{"Name": "subnet-id", "Values": [vpc["subnet"]]}])["NatGateways"]
    assert [g["NatGatewayId"] for g in in_subnet].count(first["NatGatewayId"]) == 1 and len(in_subnet) == 1
    mismatch(ec2.create_nat_gateway, **{**args, "AllocationId": ec2.allocate_address(Domain="vpc")["AllocationId"]})


def test_vpc_endpoint(aws, vpc):
    ec2 = aws("ec2")
    table = ec2.create_route_table(VpcId=vpc["id"])["RouteTable"]["RouteTableId"]
    args = dict(VpcId=vpc["id"], ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
                RouteTableIds=[table], ClientToken=token())
    first = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
    assert ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"] == first
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]}])["VpcEndpoints"]
    assert [e["VpcEndpointId"] for e in endpoints] == [first]
    mismatch(ec2.create_vpc_endpoint, **{**args, "RouteTableIds": []})


def test_flow_logs(aws, vpc):
    ec2 = aws("ec2")
    args = dict(ResourceIds=[vpc["id"]], ResourceType="VPC", TrafficType="ALL", LogDestinationType="cloud-watch-logs",
                LogGroupName=f"/flow/{token()[:8]}", DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/flow",
                ClientToken=token())
    first = ec2.create_flow_logs(**args)["FlowLogIds"]
    assert len(first) == 1 and ec2.create_flow_logs(**args)["FlowLogIds"] == first
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["id"]]}])["FlowLogs"]
    assert [f["FlowLogId"] for f in logs] == first
    mismatch(ec2.create_flow_logs, **{**args, "TrafficType": "REJECT"})


def test_network_acl(aws, vpc):
    ec2 = aws("ec2")
    args = dict(VpcId=vpc["id"], ClientToken=token())
    first = ec2.create_network_acl(**args)["NetworkAcl"]["NetworkAclId"]
    assert ec2.create_network_acl(**args)["NetworkAcl"]["NetworkAclId"] == first
    mismatch(ec2.create_network_acl, **{**args, "VpcId": vpc["other"]})


def test_failed_create_keeps_the_token_free(aws, vpc):
    """A request that failed created nothing: the same token may be used again."""
    ec2 = aws("ec2")
    t = token()
    with pytest.raises(botocore.exceptions.ClientError):
        ec2.create_route_table(VpcId="vpc-00000000000000000", ClientToken=t)
    assert ec2.create_route_table(VpcId=vpc["id"], ClientToken=t)["RouteTable"]["VpcId"] == vpc["id"]
