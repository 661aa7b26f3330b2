"""Self-healing of the network modules, against planted duplicates (real state, boto3).

Duplicates of our named, tagged resources come from a create resent after a lost answer
(CreateVpc, CreateInternetGateway and AllocateAddress take no client token) or from an older
interrupted run. The modules keep one, delete the others that carry all of our tags and are
unused, keep (and name) the others, say so in warnings and in `healed`, and never wedge.
"""
from __future__ import annotations

import time
import uuid

import pytest

from modules_helper import run_module

TAGS = {"Environment": "heal", "Project": "StreamSales", "ManagedBy": "Ansible"}
RUN = uuid.uuid4().hex[:8]
S3 = "com.amazonaws.us-east-1.s3"


def run(endpoint, name, args, **kw):
    result = run_module(endpoint, name, args, **kw)
    assert not result.get("failed"), result.get("msg")
    return result


def tag_spec(kind, tags):
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def healed_ids(result):
    return sorted(h["id"] for h in result["healed"])


def said(result, resource_id):
    return any(resource_id in w for w in result.get("warnings", []))


@pytest.fixture()
def vpc(aws):
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.40.{i}.0/24")["Subnet"]["SubnetId"] for i in range(3)]
    return {"id": vpc_id, "subnets": subnets}


def test_duplicate_vpcs_empty_ones_of_ours_removed(endpoint, aws):
    ec2 = aws("ec2")
    name = f"heal-vpc-{RUN}"
    tags = dict(TAGS, Name=name)
    args = {"name": name, "cidr_block": "10.41.0.0/16", "tags": TAGS}
    kept = run(endpoint, "ec2_vpc", args)["vpc"]["id"]
    ec2.create_subnet(VpcId=kept, CidrBlock="10.41.0.0/24")
    # A resent CreateVpc made an empty twin; someone else has a VPC with the same Name.
    twin = ec2.create_vpc(CidrBlock="10.41.0.0/16", TagSpecifications=tag_spec("vpc", tags))["Vpc"]["VpcId"]
    foreign = ec2.create_vpc(CidrBlock="10.41.0.0/16", TagSpecifications=tag_spec("vpc", {"Name": name}))["Vpc"]["VpcId"]

    planned = run(endpoint, "ec2_vpc", args, check=True)
    assert planned["changed"] and healed_ids(planned) == [twin]
    assert len(ec2.describe_vpcs(VpcIds=[twin])["Vpcs"]) == 1

    healed = run(endpoint, "ec2_vpc", args)
    assert healed["changed"] and healed["vpc"]["id"] == kept and healed_ids(healed) == [twin] and said(healed, twin)
    assert [d["id"] for d in healed["duplicates_kept"]] == [foreign] and said(healed, foreign)
    live = [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]]
    assert sorted(live) == sorted([kept, foreign])
    again = run(endpoint, "ec2_vpc", args)
    assert not again["changed"] and again["healed"] == []
    ec2.delete_vpc(VpcId=foreign)


def test_detached_internet_gateways_of_ours_reused_then_removed(endpoint, aws):
    ec2 = aws("ec2")
    name, igw_name = f"heal-vpc2-{RUN}", f"heal-igw-{RUN}"
    args = {"name": name, "cidr_block": "10.42.0.0/16", "tags": TAGS}
    vpc_id = run(endpoint, "ec2_vpc", args)["vpc"]["id"]
    # An interrupted run created the gateway but never attached it; a resend made a second one.
    first, second = (ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", dict(TAGS, Name=igw_name)))
                     ["InternetGateway"]["InternetGatewayId"] for _i in range(2))
    result = run(endpoint, "ec2_vpc", dict(args, internet_gateway_name=igw_name))
    attached = result["vpc"]["internet_gateway_id"]
    assert attached in (first, second) and healed_ids(result) == sorted({first, second} - {attached})
    gateways = ec2.describe_internet_gateways(Filters=[{"Name": "tag:Name", "Values": [igw_name]}])["InternetGateways"]
    assert [(g["InternetGatewayId"], g["Attachments"][0]["VpcId"]) for g in gateways] == [(attached, vpc_id)]
    assert not run(endpoint, "ec2_vpc", dict(args, internet_gateway_name=igw_name))["changed"]


def test_route_tables_named_alike_never_wedge(endpoint, aws, vpc):
    """The reliability issue's wedge: two tables named alike after a resent CreateRouteTable."""
    ec2 = aws("ec2")
    name = f"heal-isolated-{RUN}"
    tags = dict(TAGS, Name=name)
    twins = [ec2.create_route_table(VpcId=vpc["id"], TagSpecifications=tag_spec("route-table", tags))["RouteTable"]["RouteTableId"]
             for _i in range(2)]
    # An older run associated one subnet with the second twin; a table named alike is not ours.
    ec2.associate_route_table(RouteTableId=twins[1], SubnetId=vpc["subnets"][0])
    foreign = ec2.create_route_table(VpcId=vpc["id"], TagSpecifications=tag_spec("route-table", {"Name": name}))["RouteTable"]["RouteTableId"]
    args = {"vpc_id": vpc["id"], "tags": TAGS, "route_tables": [{"name": name, "subnets": vpc["subnets"][:2], "routes": []}],
            "gateway_endpoints": [{"service": S3, "name": f"heal-s3-{RUN}", "route_tables": [name]}]}

    result = run(endpoint, "ec2_route_table", args)
    [table] = result["route_tables"]
    assert table["id"] == twins[1]  # the one the subnets used
    assert healed_ids(result) == [twins[0]] and said(result, twins[0])
    assert [d["id"] for d in result["duplicates_kept"]] == [foreign]
    left = {t["RouteTableId"]: t for t in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]}])["RouteTables"]}
    assert twins[0] not in left and sorted(a["SubnetId"] for a in left[twins[1]]["Associations"]) == sorted(vpc["subnets"][:2])
    assert result["gateway_endpoints"][0]["route_table_ids"] == [twins[1]]
    again = run(endpoint, "ec2_route_table", args)
    assert not again["changed"] and again["healed"] == []


def test_route_table_duplicate_in_use_is_moved_off_then_removed(endpoint, aws, vpc):
    ec2 = aws("ec2")
    name = f"heal-public-{RUN}"
    tags = dict(TAGS, Name=name)
    args = {"vpc_id": vpc["id"], "tags": TAGS, "route_tables": [{"name": name, "subnets": vpc["subnets"][2:], "routes": []}]}
    kept = run(endpoint, "ec2_route_table", args)["route_tables"][0]["id"]
    # An older run left a twin holding a subnet we do not want there (another table's job), and one holding ours.
    busy = ec2.create_route_table(VpcId=vpc["id"], TagSpecifications=tag_spec("route-table", tags))["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=busy, SubnetId=vpc["subnets"][0])
    result = run(endpoint, "ec2_route_table", args)
    assert result["healed"] == [] and [d["id"] for d in result["duplicates_kept"]] == [busy] and said(result, busy)
    assert result["route_tables"][0]["id"] == kept
    # Once that subnet is gone from it, the twin goes.
    association = ec2.describe_route_tables(RouteTableIds=[busy])["RouteTables"][0]["Associations"][0]
    ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    assert healed_ids(run(endpoint, "ec2_route_table", args)) == [busy]


def test_nat_gateway_duplicates_and_stray_addresses(endpoint, aws, vpc):
    ec2 = aws("ec2")
    name = f"heal-nat-{RUN}"
    tags = dict(TAGS, Name=name)
    args = {"gateways": [{"name": name, "subnet_id": vpc["subnets"][0]}], "tags": TAGS}
    kept = run(endpoint, "ec2_nat_gateway", args)["nat_gateways"][0]["nat_gateway_id"]
    time.sleep(1.1)  # CreateTime counts whole seconds: the twin is the younger one, as after a resend
    # An older run's gateway named alike (on its own address), a stray address of ours, and one not ours.
    twin_address = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", tags))["AllocationId"]
    twin = ec2.create_nat_gateway(SubnetId=vpc["subnets"][0], AllocationId=twin_address,
                                  TagSpecifications=tag_spec("natgateway", tags))["NatGateway"]["NatGatewayId"]
    stray = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", tags))["AllocationId"]
    foreign = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", {"Name": name}))["AllocationId"]

    first = run(endpoint, "ec2_nat_gateway", args)
    assert first["nat_gateways"][0]["nat_gateway_id"] == kept
    assert healed_ids(first) == sorted([twin, stray]) and said(first, twin) and said(first, stray)
    [deleted] = ec2.describe_nat_gateways(NatGatewayIds=[twin])["NatGateways"]
    assert deleted["State"] in ("deleting", "deleted")
    # The twin's address is free once the twin is gone: the next run releases it.
    second = run(endpoint, "ec2_nat_gateway", args)
    assert healed_ids(second) == [twin_address]
    left = {a["AllocationId"] for a in ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [name]}])["Addresses"]}
    assert foreign in left and stray not in left and twin_address not in left and len(left) == 2
    assert not run(endpoint, "ec2_nat_gateway", args)["changed"]
    ec2.release_address(AllocationId=foreign)


def test_nat_gateway_duplicate_that_routes_use_is_kept(endpoint, aws, vpc):
    ec2 = aws("ec2")
    name = f"heal-nat-used-{RUN}"
    tags = dict(TAGS, Name=name)
    args = {"gateways": [{"name": name, "subnet_id": vpc["subnets"][1]}], "tags": TAGS}
    run(endpoint, "ec2_nat_gateway", args)
    time.sleep(1.1)  # CreateTime counts whole seconds: the twin is the younger one
    address = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", tags))["AllocationId"]
    twin = ec2.create_nat_gateway(SubnetId=vpc["subnets"][1], AllocationId=address,
                                  TagSpecifications=tag_spec("natgateway", tags))["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc["id"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=twin)
    result = run(endpoint, "ec2_nat_gateway", args)
    assert result["healed"] == [] and [d["id"] for d in result["duplicates_kept"]] == [twin]
    assert ec2.describe_nat_gateways(NatGatewayIds=[twin])["NatGateways"][0]["State"] == "available"


def test_duplicate_gateway_endpoint_removed(endpoint, aws, vpc):
    ec2 = aws("ec2")
    table_name, endpoint_name = f"heal-private-{RUN}", f"heal-s3b-{RUN}"
    args = {"vpc_id": vpc["id"], "tags": TAGS, "route_tables": [{"name": table_name, "routes": []}],
            "gateway_endpoints": [{"service": S3, "name": endpoint_name, "route_tables": [table_name]}]}
    first = run(endpoint, "ec2_route_table", args)
    kept = first["gateway_endpoints"][0]["id"]
    time.sleep(1.1)  # CreationTimestamp counts whole seconds: the twin is the younger one
    twin = ec2.create_vpc_endpoint(VpcId=vpc["id"], ServiceName=S3, VpcEndpointType="Gateway",
                                   TagSpecifications=tag_spec("vpc-endpoint", dict(TAGS, Name=endpoint_name)))["VpcEndpoint"]["VpcEndpointId"]
    result = run(endpoint, "ec2_route_table", args)
    assert healed_ids(result) == [twin] and result["gateway_endpoints"][0]["id"] == kept
    live = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]},
                                               {"Name": "vpc-endpoint-state", "Values": ["available", "pending"]}])["VpcEndpoints"]
    assert [e["VpcEndpointId"] for e in live] == [kept]
