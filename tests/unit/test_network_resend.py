"""Every create of the network modules is safe to resend: the emulator's front door loses the
answer of one call (it took effect, the client hears a 500 and resends), and the module still
converges to exactly one of each resource, says nothing failed, and a rerun changes nothing.

What makes each resend safe: a client token (CreateRouteTable, CreateNatGateway,
CreateVpcEndpoint, CreateFlowLogs); "already exists" adopted (CreateSubnet, CreateSecurityGroup,
AuthorizeSecurityGroup*, CreateRoute, CreateRole, CreateLogGroup, AttachInternetGateway); healing in the same run
(CreateVpc, CreateInternetGateway, AllocateAddress take no token).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from modules_helper import run_module

TAGS = {"Environment": "resend", "Project": "StreamSales", "ManagedBy": "Ansible"}
S3 = "com.amazonaws.us-east-1.s3"


def control(endpoint, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(f"{endpoint}/_stream_sales/faults", data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


@pytest.fixture()
def lose_one(endpoint):
    """lose_one('ec2.CreateSubnet'): the next such call takes effect and its answer is lost."""
    try:
        control(endpoint)
    except urllib.error.URLError as e:  # an emulator without the front door cannot run these
        pytest.skip(f"the emulator has no fault front door ({e})")

    def arm(operation):
        control(endpoint, {"spec": f"lost=1,count=1,match={operation.replace('.', chr(92) + '.')}", "seed": 1})

    yield arm
    state = control(endpoint)
    control(endpoint, {"spec": "", "seed": 0})
    lost = sum(state["counters"]["faults"].values()) if state["counters"]["faults"] else 0
    assert lost == 1, f"the front door lost {lost} answers, not 1: {state['counters']}"


def run(endpoint, name, args):
    result = run_module(endpoint, name, args)
    assert not result.get("failed"), result.get("msg")
    return result


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def named(items, name):
    return [i for i in items if tags_of(i).get("Name") == name]


@pytest.fixture()
def vpc(aws):
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.50.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    return {"id": vpc_id, "subnet": subnet, "igw": igw}


@pytest.mark.parametrize("operation", ["ec2.CreateVpc", "ec2.CreateInternetGateway", "ec2.AttachInternetGateway"])
def test_vpc_and_internet_gateway(endpoint, aws, lose_one, operation):
    ec2 = aws("ec2")
    name = f"resend-{uuid.uuid4().hex[:8]}"
    args = {"name": name, "cidr_block": "10.51.0.0/16", "internet_gateway_name": f"{name}-igw", "tags": TAGS}
    lose_one(operation)
    result = run(endpoint, "ec2_vpc", args)
    assert result["changed"]
    [vpc] = named(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"], name)
    [igw] = ec2.describe_internet_gateways(Filters=[{"Name": "tag:Name", "Values": [f"{name}-igw"]}])["InternetGateways"]
    assert igw["Attachments"][0]["VpcId"] == vpc["VpcId"] == result["vpc"]["id"]
    assert not run(endpoint, "ec2_vpc", args)["changed"]


def test_subnets(endpoint, aws, lose_one, vpc):
    ec2 = aws("ec2")
    subnets = [{"name": f"resend-{i}", "cidr": f"10.50.{i}.0/24", "az": "us-east-1b", "map_public": True} for i in (1, 2)]
    args = {"vpc_id": vpc["id"], "subnets": subnets, "tags": TAGS}
    lose_one("ec2.CreateSubnet")
    result = run(endpoint, "ec2_vpc_subnets", args)
    found = {s["CidrBlock"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]}])["Subnets"]}
    assert [s["id"] for s in result["subnets"]] == [found["10.50.1.0/24"]["SubnetId"], found["10.50.2.0/24"]["SubnetId"]]
    assert all(found[s["cidr"]]["MapPublicIpOnLaunch"] for s in subnets)
    assert not run(endpoint, "ec2_vpc_subnets", args)["changed"]


@pytest.mark.parametrize("operation", ["ec2.AllocateAddress", "ec2.CreateNatGateway"])
def test_nat_gateway(endpoint, aws, lose_one, vpc, operation):
    ec2 = aws("ec2")
    name = f"resend-nat-{uuid.uuid4().hex[:8]}"
    args = {"gateways": [{"name": name, "subnet_id": vpc["subnet"]}], "tags": TAGS}
    lose_one(operation)
    result = run(endpoint, "ec2_nat_gateway", args)
    live = ec2.describe_nat_gateways(Filters=[{"Name": "tag:Name", "Values": [name]},
                                              {"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
    addresses = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [name]}])["Addresses"]
    assert [g["NatGatewayId"] for g in live] == [result["nat_gateways"][0]["nat_gateway_id"]]
    assert [a["AllocationId"] for a in addresses] == [live[0]["NatGatewayAddresses"][0]["AllocationId"]]
    assert not run(endpoint, "ec2_nat_gateway", args)["changed"]


@pytest.mark.parametrize("operation", ["ec2.CreateSecurityGroup", "ec2.AuthorizeSecurityGroupIngress",
                                       "ec2.RevokeSecurityGroupEgress"])
def test_security_groups(endpoint, aws, lose_one, vpc, operation):
    ec2 = aws("ec2")
    name = f"resend-sg-{uuid.uuid4().hex[:8]}"
    args = {"vpc_id": vpc["id"], "tags": TAGS, "security_groups": [{
        "name": name, "description": "resend", "egress": [],
        "ingress": [{"proto": "tcp", "from_port": 5432, "cidr_ip": "10.50.0.0/16"}]}]}
    lose_one(operation)
    run(endpoint, "ec2_vpc_security_group", args)
    [group] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]},
                                                    {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    assert group["IpPermissionsEgress"] == [] and [p["FromPort"] for p in group["IpPermissions"]] == [5432]
    assert not run(endpoint, "ec2_vpc_security_group", args)["changed"]


@pytest.mark.parametrize("operation", ["ec2.CreateRouteTable", "ec2.CreateRoute", "ec2.AssociateRouteTable",
                                       "ec2.CreateVpcEndpoint"])
def test_route_tables(endpoint, aws, lose_one, vpc, operation):
    ec2 = aws("ec2")
    name = f"resend-rt-{uuid.uuid4().hex[:8]}"
    args = {"vpc_id": vpc["id"], "tags": TAGS,
            "route_tables": [{"name": name, "subnets": [vpc["subnet"]], "routes": [{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"]}]}],
            "gateway_endpoints": [{"service": S3, "name": f"{name}-s3", "route_tables": [name]}]}
    lose_one(operation)
    result = run(endpoint, "ec2_route_table", args)
    [table] = named(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]}])["RouteTables"], name)
    assert table["RouteTableId"] == result["route_tables"][0]["id"]
    assert [a["SubnetId"] for a in table["Associations"]] == [vpc["subnet"]]
    assert [r["GatewayId"] for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] == [vpc["igw"]]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]},
                                                    {"Name": "vpc-endpoint-state", "Values": ["pending", "available"]}])
    assert [e["RouteTableIds"] for e in endpoints["VpcEndpoints"]] == [[table["RouteTableId"]]]
    assert not run(endpoint, "ec2_route_table", args)["changed"]


@pytest.mark.parametrize("operation", ["ec2.CreateFlowLogs", "iam.CreateRole", "logs.CreateLogGroup"])
def test_flow_log(endpoint, aws, lose_one, vpc, operation):
    ec2, iam = aws("ec2"), aws("iam")
    role = f"resend-flow-{uuid.uuid4().hex[:8]}"
    args = {"resource_id": vpc["id"], "log_group_name": f"/resend/{role}", "log_group_retention_days": 30,
            "deliver_logs_role_name": role, "tags": TAGS}
    lose_one(operation)
    result = run(endpoint, "ec2_vpc_flow_log", args)
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["id"]]}])["FlowLogs"]
    assert [f["FlowLogId"] for f in logs] == [result["flow_log"]["flow_log_id"]]
    assert logs[0]["DeliverLogsPermissionArn"] == iam.get_role(RoleName=role)["Role"]["Arn"]
    [group] = aws("logs").describe_log_groups(logGroupNamePrefix=f"/resend/{role}")["logGroups"]
    assert group["retentionInDays"] == 30
    assert not run(endpoint, "ec2_vpc_flow_log", args)["changed"]
