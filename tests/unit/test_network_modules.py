"""The network modules (ec2_vpc, ec2_vpc_subnets, ec2_nat_gateway, ec2_route_table,
ec2_vpc_security_group, ec2_vpc_flow_log), run for real against the emulator.

Create, rerun without change, change (shown in the diff), check mode, absent, and no fixed
sleep: amazon.aws's modules slept 5 s (route tables) and 3 s (security groups) after a change;
ours wait only through module_utils/waiting.py, which returns as soon as the state is seen
(timings are measured by scripts/bench.py, not asserted here). Duplicates and resends:
test_network_healing.py.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from modules_helper import run_module

TAGS = {"Environment": "unit", "Project": "StreamSales"}
RUN = uuid.uuid4().hex[:8]  # names unique to this run: the tests never depend on earlier state
MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"
NETWORK_MODULES = ["ec2_vpc", "ec2_vpc_subnets", "ec2_nat_gateway", "ec2_route_table", "ec2_vpc_security_group",
                   "ec2_vpc_flow_log"]
S3 = "com.amazonaws.us-east-1.s3"


def run(endpoint, name, args, **kw):
    result = run_module(endpoint, name, args, **kw)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.mark.parametrize("name", NETWORK_MODULES)
def test_no_fixed_sleep(name):
    source = (MODULES / f"{name}.py").read_text()
    assert "sleep(" not in source and "import time" not in source


def shown(diff: dict) -> str:
    """The diff as ansible's default callback prints it (it fails on a before or after that is a list)."""
    from ansible.plugins.callback import CallbackBase

    return CallbackBase()._get_diff(dict(diff))


def tags_of(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


@pytest.fixture(scope="module")
def network(aws):
    """A fresh VPC with an internet gateway, a NAT gateway and three subnets."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24")["Subnet"]["SubnetId"] for i in range(4)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    return {"vpc": vpc, "subnets": subnets, "igw": igw, "nat": nat}


# ---- ec2_vpc ---------------------------------------------------------------------------------

def test_vpc_lifecycle(endpoint, aws):
    ec2 = aws("ec2")
    name, igw_name = f"unit-vpc-{RUN}", f"unit-igw-{RUN}"
    args = {"name": name, "cidr_block": "10.30.0.0/16", "internet_gateway_name": igw_name, "tags": TAGS}
    named = [{"Name": "tag:Name", "Values": [name]}]

    planned = run(endpoint, "ec2_vpc", args, check=True, diff=True)
    assert planned["changed"] and "id" not in planned["vpc"] and planned["diff"]["before"] == {}
    assert ec2.describe_vpcs(Filters=named)["Vpcs"] == []

    created = run(endpoint, "ec2_vpc", args, diff=True)
    [vpc] = ec2.describe_vpcs(Filters=named)["Vpcs"]
    assert created["changed"] and created["vpc"]["id"] == vpc["VpcId"] and tags_of(vpc) == dict(TAGS, Name=name)
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)[key]["Value"] is True
    [igw] = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    assert created["vpc"]["internet_gateway_id"] == igw["InternetGatewayId"] and tags_of(igw) == dict(TAGS, Name=igw_name)

    again = run(endpoint, "ec2_vpc", args, diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]

    # DNS hostnames off and a new tag: shown, then applied; the VPC stays the same.
    changed_args = dict(args, dns_hostnames=False, tags=dict(TAGS, Owner="ops"))
    planned = run(endpoint, "ec2_vpc", changed_args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"]["dns_hostnames"] is True
    assert planned["diff"]["after"]["dns_hostnames"] is False
    changed = run(endpoint, "ec2_vpc", changed_args)
    assert changed["changed"] and changed["vpc"]["id"] == vpc["VpcId"]
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] is False
    assert tags_of(ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0])["Owner"] == "ops"
    assert not run(endpoint, "ec2_vpc", changed_args)["changed"]

    moved = run_module(endpoint, "ec2_vpc", dict(args, cidr_block="10.31.0.0/16"))
    assert moved.get("failed") and "cannot change" in moved["msg"]

    absent = {"name": name, "internet_gateway_name": igw_name, "tags": TAGS, "state": "absent"}
    assert run(endpoint, "ec2_vpc", absent, check=True)["changed"]
    assert len(ec2.describe_vpcs(Filters=named)["Vpcs"]) == 1
    assert run(endpoint, "ec2_vpc", absent)["changed"]
    assert ec2.describe_vpcs(Filters=named)["Vpcs"] == []
    assert igw["InternetGatewayId"] not in [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]]
    assert not run(endpoint, "ec2_vpc", absent)["changed"]


# ---- ec2_vpc_subnets -------------------------------------------------------------------------

def test_subnets_lifecycle(endpoint, aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.32.0.0/16")["Vpc"]["VpcId"]
    subnets = [{"name": f"unit-{tier}-{az}-{RUN}", "cidr": f"10.32.{i}.0/24", "az": f"us-east-1{az}",
                "map_public": tier == "public", "tags": {"Tier": tier}}
               for i, (tier, az) in enumerate([("public", "a"), ("public", "b"), ("isolated", "a"), ("isolated", "b")])]
    args = {"vpc_id": vpc, "subnets": subnets, "tags": TAGS}

    def described():
        found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        return {s["CidrBlock"]: s for s in found}

    planned = run(endpoint, "ec2_vpc_subnets", args, check=True, diff=True)
    assert planned["changed"] and [s["cidr"] for s in planned["subnets"]] == [s["cidr"] for s in subnets]
    assert described() == {}

    created = run(endpoint, "ec2_vpc_subnets", args)
    found = described()
    assert created["changed"] and [s["id"] for s in created["subnets"]] == [found[s["cidr"]]["SubnetId"] for s in subnets]
    for spec in subnets:
        subnet = found[spec["cidr"]]
        assert subnet["AvailabilityZone"] == spec["az"] and subnet["MapPublicIpOnLaunch"] is spec["map_public"]
        assert tags_of(subnet) == dict(TAGS, Name=spec["name"], Tier=spec["tags"]["Tier"])
    assert not run(endpoint, "ec2_vpc_subnets", args)["changed"]

    # The first isolated subnet maps public addresses now and loses the Project tag.
    changed_subnets = [dict(s, map_public=True) if i == 2 else s for i, s in enumerate(subnets)]
    changed_args = dict(args, subnets=changed_subnets, tags={"Environment": "unit"})
    planned = run(endpoint, "ec2_vpc_subnets", changed_args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"]["subnets"][2]["map_public"] is False
    assert planned["diff"]["after"]["subnets"][2]["map_public"] is True and "Project" not in planned["diff"]["after"]["subnets"][2]["tags"]
    assert shown(planned["diff"]), "ansible's default callback cannot show the diff"
    assert described()["10.32.2.0/24"]["MapPublicIpOnLaunch"] is False
    assert run(endpoint, "ec2_vpc_subnets", changed_args)["changed"]
    found = described()
    assert found["10.32.2.0/24"]["MapPublicIpOnLaunch"] is True and "Project" not in tags_of(found["10.32.0.0/24"])
    assert not run(endpoint, "ec2_vpc_subnets", changed_args)["changed"]

    moved = run_module(endpoint, "ec2_vpc_subnets", dict(args, subnets=[dict(subnets[0], az="us-east-1c")]))
    assert moved.get("failed") and "cannot move" in moved["msg"]
    bad = run_module(endpoint, "ec2_vpc_subnets", dict(args, subnets=[dict(subnets[0], cidr="10.32.0.1/24")]))
    assert bad.get("failed") and "subnets[0].cidr" in bad["msg"]

    assert run(endpoint, "ec2_vpc_subnets", {"vpc_id": vpc, "subnets": subnets[:1], "state": "absent"})["changed"]
    assert sorted(described()) == ["10.32.1.0/24", "10.32.2.0/24", "10.32.3.0/24"]
    assert run(endpoint, "ec2_vpc_subnets", {"vpc_id": vpc, "state": "absent"})["changed"]
    assert described() == {}
    assert not run(endpoint, "ec2_vpc_subnets", {"vpc_id": vpc, "state": "absent"})["changed"]


# ---- ec2_nat_gateway -------------------------------------------------------------------------

def test_nat_gateways_reuse_an_interrupted_runs_address(endpoint, aws, network):
    ec2 = aws("ec2")
    names = [f"unit-nat-a-{RUN}", f"unit-nat-b-{RUN}"]
    args = {"gateways": [{"name": names[0], "subnet_id": network["subnets"][1]},
                         {"name": names[1], "subnet_id": network["subnets"][2]}], "tags": TAGS}

    def addresses(name):
        return ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [name]}])["Addresses"]

    planned = run(endpoint, "ec2_nat_gateway", args, check=True, diff=True)
    assert planned["changed"] and [g["subnet_id"] for g in planned["diff"]["after"]["nat_gateways"]] == network["subnets"][1:3]
    assert shown(planned["diff"]), "ansible's default callback cannot show the diff"
    assert addresses(names[0]) == []
    # An interrupted run allocated the first gateway's address, then died before creating it.
    orphan = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in dict(TAGS, Name=names[0]).items()]}])["AllocationId"]
    created = run(endpoint, "ec2_nat_gateway", args)
    assert created["changed"] and created["nat_gateways"][0]["allocation_id"] == orphan
    assert [g["name"] for g in created["nat_gateways"]] == names and created["healed"] == []
    for name, gateway in zip(names, created["nat_gateways"]):
        [live] = ec2.describe_nat_gateways(Filters=[{"Name": "tag:Name", "Values": [name]},
                                                    {"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
        assert live["NatGatewayId"] == gateway["nat_gateway_id"] and tags_of(live) == dict(TAGS, Name=name)
        [address] = addresses(name)
        assert address["AllocationId"] == live["NatGatewayAddresses"][0]["AllocationId"]
        assert tags_of(address) == dict(TAGS, Name=name)
    again = run(endpoint, "ec2_nat_gateway", args)
    assert not again["changed"] and [g["nat_gateway_id"] for g in again["nat_gateways"]] == \
        [g["nat_gateway_id"] for g in created["nat_gateways"]]

    retagged = run(endpoint, "ec2_nat_gateway", dict(args, tags=dict(TAGS, Owner="ops")))
    assert retagged["changed"] and all(g["tags"]["Owner"] == "ops" for g in retagged["nat_gateways"])

    moved = run_module(endpoint, "ec2_nat_gateway", {"gateways": [{"name": names[0], "subnet_id": network["subnets"][3]}]})
    assert moved.get("failed") and "cannot move" in moved["msg"]

    absent = {"gateways": [{"name": n} for n in names], "state": "absent"}
    assert run(endpoint, "ec2_nat_gateway", absent, check=True)["changed"]
    assert len(addresses(names[0])) == 1
    assert run(endpoint, "ec2_nat_gateway", absent)["changed"]
    assert addresses(names[0]) == [] and addresses(names[1]) == []
    states = {g["State"] for g in ec2.describe_nat_gateways(Filters=[{"Name": "tag:Name", "Values": names}])["NatGateways"]}
    assert states == {"deleted"}
    assert not run(endpoint, "ec2_nat_gateway", absent)["changed"]


# ---- ec2_route_table -------------------------------------------------------------------------

def tables_named(ec2, vpc, name):
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return [t for t in tables if tags_of(t).get("Name") == name]


def default_route(table):
    return [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_route_tables_lifecycle(endpoint, aws, network):
    ec2 = aws("ec2")
    public, private = f"unit-public-{RUN}", f"unit-private-{RUN}"
    args = {"vpc_id": network["vpc"], "tags": TAGS, "route_tables": [
        {"name": public, "subnets": network["subnets"][:2], "routes": [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]},
        {"name": private, "subnets": network["subnets"][2:3], "routes": [{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}]},
    ], "gateway_endpoints": [{"service": S3, "name": f"unit-s3-{RUN}", "route_tables": [private]}]}

    planned = run(endpoint, "ec2_route_table", args, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"]["route_tables"] == {}
    assert planned["diff"]["after"]["route_tables"][public]["routes"] == [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]
    assert planned["diff"]["after"]["route_tables"][public]["subnets"] == sorted(network["subnets"][:2])
    assert tables_named(ec2, network["vpc"], public) == []

    created = run(endpoint, "ec2_route_table", args, diff=True)
    assert created["changed"] and created["deferred_routes"] == [] and created["healed"] == []
    [pub] = tables_named(ec2, network["vpc"], public)
    [priv] = tables_named(ec2, network["vpc"], private)
    assert [t["id"] for t in created["route_tables"]] == [pub["RouteTableId"], priv["RouteTableId"]]
    assert default_route(pub)[0]["GatewayId"] == network["igw"]
    assert default_route(priv)[0]["NatGatewayId"] == network["nat"]
    assert sorted(a["SubnetId"] for a in pub["Associations"]) == sorted(network["subnets"][:2])
    assert tags_of(pub) == dict(TAGS, Name=public)
    [endpoint_] = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["VpcEndpoints"]
    assert endpoint_["RouteTableIds"] == [priv["RouteTableId"]] and tags_of(endpoint_)["Name"] == f"unit-s3-{RUN}"
    assert created["gateway_endpoints"][0]["id"] == endpoint_["VpcEndpointId"]
    # The endpoint's own route is in the table and is left alone by a purging rerun.
    assert any(r.get("GatewayId") == endpoint_["VpcEndpointId"] for r in
               ec2.describe_route_tables(RouteTableIds=[priv["RouteTableId"]])["RouteTables"][0]["Routes"])

    again = run(endpoint, "ec2_route_table", args, diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]

    # The public table takes the NAT route instead, one subnet less, one more, a new tag; the
    # endpoint routes through both tables; a route someone added by hand is purged.
    ec2.create_route(RouteTableId=priv["RouteTableId"], DestinationCidrBlock="192.168.0.0/16", GatewayId=network["igw"])
    changed_args = dict(args, tags=dict(TAGS, Owner="ops"), route_tables=[
        dict(args["route_tables"][0], subnets=network["subnets"][1:2] + network["subnets"][3:],
             routes=[{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}]),
        args["route_tables"][1]],
        gateway_endpoints=[dict(args["gateway_endpoints"][0], route_tables=[public, private])])
    planned = run(endpoint, "ec2_route_table", changed_args, check=True, diff=True)
    assert planned["changed"]
    assert default_route(tables_named(ec2, network["vpc"], public)[0])[0]["GatewayId"] == network["igw"]  # check mode changed nothing
    changed = run(endpoint, "ec2_route_table", changed_args, diff=True)
    assert changed["changed"]
    before, after = changed["diff"]["before"]["route_tables"], changed["diff"]["after"]["route_tables"]
    assert before[public]["routes"] == [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]
    assert after[public]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}]
    assert after[public]["subnets"] == sorted(network["subnets"][1:2] + network["subnets"][3:])
    assert after[public]["tags"]["Owner"] == "ops" and "Owner" not in before[public]["tags"]
    assert {"dest": "192.168.0.0/16", "gateway_id": network["igw"]} in before[private]["routes"]
    assert after[private]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}]
    assert after == planned["diff"]["after"]["route_tables"]
    [pub] = tables_named(ec2, network["vpc"], public)
    assert [r.get("NatGatewayId") for r in default_route(pub)] == [network["nat"]]
    assert sorted(a["SubnetId"] for a in pub["Associations"]) == sorted(network["subnets"][1:2] + network["subnets"][3:])
    [endpoint_] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_["VpcEndpointId"]])["VpcEndpoints"]
    assert sorted(endpoint_["RouteTableIds"]) == sorted([pub["RouteTableId"], priv["RouteTableId"]])
    assert not run(endpoint, "ec2_route_table", changed_args)["changed"]

    # Absent: check mode keeps them, then the named tables go (the endpoint with them), then nothing is left to do.
    absent = {"vpc_id": network["vpc"], "route_tables": [{"name": public}, {"name": private}],
              "gateway_endpoints": changed_args["gateway_endpoints"], "state": "absent"}
    assert run(endpoint, "ec2_route_table", absent, check=True)["changed"]
    assert len(tables_named(ec2, network["vpc"], public)) == 1
    gone = run(endpoint, "ec2_route_table", absent, diff=True)
    assert gone["changed"] and gone["diff"]["after"] == {}
    assert tables_named(ec2, network["vpc"], public) == tables_named(ec2, network["vpc"], private) == []
    assert not run(endpoint, "ec2_route_table", absent)["changed"]


def bucket_policy(*buckets):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "EnvironmentBucketsOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets],
         "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}]}


def test_gateway_endpoint_policy(endpoint, aws):
    """The endpoint is made with its policy, a rerun makes no change (the same policy, its lists
    in another order), a new policy replaces it; without one, the endpoint's policy is left alone."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    name = f"unit-policy-{RUN}"
    policy = bucket_policy("unit-site", "unit-images")
    args = {"vpc_id": vpc, "tags": TAGS, "route_tables": [{"name": name, "routes": []}],
            "gateway_endpoints": [{"service": S3, "name": f"{name}-s3", "route_tables": [name], "policy": policy}]}
    created = run(endpoint, "ec2_route_table", args, diff=True)
    assert created["changed"] and created["gateway_endpoints"][0]["policy"] == policy

    def live():
        [found] = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
        return json.loads(found["PolicyDocument"])

    assert live() == policy
    shuffled = json.loads(json.dumps(policy))
    shuffled["Statement"][0]["Resource"].reverse()
    again = run(endpoint, "ec2_route_table", dict(args, gateway_endpoints=[dict(args["gateway_endpoints"][0], policy=shuffled)]),
                diff=True)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]

    narrower = bucket_policy("unit-site")
    changed_args = dict(args, gateway_endpoints=[dict(args["gateway_endpoints"][0], policy=narrower)])
    planned = run(endpoint, "ec2_route_table", changed_args, check=True, diff=True)
    assert planned["changed"] and live() == policy  # check mode changed nothing
    assert planned["diff"]["before"]["gateway_endpoints"][0]["policy"] == policy
    assert planned["diff"]["after"]["gateway_endpoints"][0]["policy"] == narrower
    assert run(endpoint, "ec2_route_table", changed_args)["changed"] and live() == narrower
    assert not run(endpoint, "ec2_route_table", changed_args)["changed"]
    # Without a policy, the endpoint keeps the one it has.
    unmanaged = dict(args, gateway_endpoints=[{k: v for k, v in args["gateway_endpoints"][0].items() if k != "policy"}])
    assert not run(endpoint, "ec2_route_table", unmanaged)["changed"] and live() == narrower
    run(endpoint, "ec2_route_table", {"vpc_id": vpc, "state": "absent"})
    ec2.delete_vpc(VpcId=vpc)


def test_route_table_takes_over_subnets_and_leaves_unmanaged_endpoints(endpoint, aws, network):
    ec2 = aws("ec2")
    name = f"unit-isolated-{RUN}"
    # The subnet is associated with another table first: the module moves it.
    other = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=network["subnets"][3])
    args = {"vpc_id": network["vpc"], "tags": TAGS, "route_tables": [{"name": name, "subnets": [network["subnets"][3]], "routes": []}]}
    created = run(endpoint, "ec2_route_table", args)
    table_id = created["route_tables"][0]["id"]
    assert created["route_tables"][0]["subnets"] == [network["subnets"][3]]
    assert ec2.describe_route_tables(RouteTableIds=[other])["RouteTables"][0]["Associations"] == []

    # An endpoint made elsewhere adds its own route (prefix list, vpce-...): left alone when
    # gateway_endpoints is not given, and kept by a purging rerun.
    vpce = ec2.create_vpc_endpoint(VpcId=network["vpc"], ServiceName="com.amazonaws.us-east-1.dynamodb",
                                   VpcEndpointType="Gateway", RouteTableIds=[table_id])["VpcEndpoint"]["VpcEndpointId"]
    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=network["igw"])
    purged = run(endpoint, "ec2_route_table", args, diff=True)
    assert purged["changed"] and purged["diff"]["after"]["route_tables"][name]["routes"] == []
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    assert sorted(r["GatewayId"] for r in routes) == sorted(["local", vpce])
    assert not run(endpoint, "ec2_route_table", args)["changed"]

    # Teardown's way: everything of the VPC but the main table, endpoints included.
    assert run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "state": "absent"})["changed"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["RouteTables"]
    assert [t for t in tables if not any(a.get("Main") for a in t["Associations"])] == []
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]},
                                               {"Name": "vpc-endpoint-state", "Values": ["available", "pending"]}])["VpcEndpoints"] == []


def test_route_tables_bad_routes_fail_before_any_call(endpoint, network):
    table = {"name": f"unit-bad-{RUN}",
             "routes": [{"dest": "0.0.0.0/0", "gateway_id": network["igw"], "nat_gateway_id": network["nat"]}]}
    failed = run_module(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_tables": [table]})
    assert failed.get("failed") and "exactly one of gateway_id and nat_gateway_id" in failed["msg"]
    failed = run_module(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_tables": [
        dict(table, routes=[{"dest": "10.8.0.1/16", "gateway_id": network["igw"]}])]})
    assert failed.get("failed") and "route_tables[0].routes[0].dest" in failed["msg"]
    failed = run_module(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_tables": [dict(table, routes=[])],
                                                      "gateway_endpoints": [{"service": S3, "name": "x", "route_tables": ["nope"]}]})
    assert failed.get("failed") and "nope" in failed["msg"]


# ---- ec2_vpc_security_group ------------------------------------------------------------------

def groups_named(ec2, vpc, name):
    return ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                 {"Name": "group-name", "Values": [name]}])["SecurityGroups"]


def test_security_groups_lifecycle(endpoint, aws, network):
    ec2 = aws("ec2")
    app_name, db_name = f"unit-app-{RUN}", f"unit-db-{RUN}"
    app = {"name": app_name, "description": "unit app", "ingress": [], "egress": [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]}
    db = {"name": db_name, "description": "unit database", "egress": [],
          "ingress": [{"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_name": app_name,
                       "description": "PostgreSQL from the application"}]}
    args = {"vpc_id": network["vpc"], "tags": TAGS, "security_groups": [app, db]}

    planned = run(endpoint, "ec2_vpc_security_group", args, check=True, diff=True)
    assert planned["changed"] and planned["group_ids"] == {} and planned["diff"]["before"]["security_groups"] == []
    assert planned["diff"]["after"]["security_groups"][0]["egress"] == [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]
    assert planned["diff"]["after"]["security_groups"][1]["ingress"][0]["group_id"] == f"<{app_name}>"
    assert groups_named(ec2, network["vpc"], app_name) == []

    created = run(endpoint, "ec2_vpc_security_group", args, diff=True)
    ids = created["group_ids"]
    assert created["changed"] and sorted(ids) == sorted([app_name, db_name])
    [group] = groups_named(ec2, network["vpc"], db_name)
    assert group["GroupId"] == ids[db_name] and tags_of(group) == dict(TAGS, Name=db_name)
    assert group["IpPermissionsEgress"] == []  # AWS's default allow-all was revoked
    [rule] = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
    assert [(p["GroupId"], p.get("Description")) for p in rule["UserIdGroupPairs"]] == \
        [(ids[app_name], "PostgreSQL from the application")]
    assert rule["IpRanges"] == []
    assert created["security_groups"][1]["egress"] == [] and created["security_groups"][1]["ingress"] == [
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": ids[app_name],
         "description": "PostgreSQL from the application"}]
    assert groups_named(ec2, network["vpc"], app_name)[0]["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert not run(endpoint, "ec2_vpc_security_group", args, check=True)["changed"]
    assert not run(endpoint, "ec2_vpc_security_group", args)["changed"]

    # A rule added by hand is revoked; a new rule, a new description (of a group-peer rule) and a new tag are applied.
    ec2.authorize_security_group_ingress(GroupId=ids[db_name], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    changed_db = dict(db, ingress=[dict(db["ingress"][0], description="PostgreSQL from the app"),
                                   {"proto": "tcp", "from_port": 5432, "cidr_ip": "10.8.0.0/24"}])
    changed_args = dict(args, tags=dict(TAGS, Owner="ops"), security_groups=[app, changed_db])
    planned = run(endpoint, "ec2_vpc_security_group", changed_args, check=True, diff=True)
    assert planned["changed"]
    assert any(p.get("FromPort") == 22 for p in groups_named(ec2, network["vpc"], db_name)[0]["IpPermissions"])
    changed = run(endpoint, "ec2_vpc_security_group", changed_args, diff=True)
    assert changed["changed"]
    before, after = changed["diff"]["before"]["security_groups"][1], changed["diff"]["after"]["security_groups"][1]
    assert {"proto": "tcp", "from_port": 22, "to_port": 22, "cidr_ip": "0.0.0.0/0"} in before["ingress"]
    assert after["ingress"] == [
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "cidr_ip": "10.8.0.0/24"},
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": ids[app_name], "description": "PostgreSQL from the app"},
    ]
    assert after["tags"]["Owner"] == "ops" and after["egress"] == []
    assert changed["diff"]["after"] == planned["diff"]["after"]
    [group] = groups_named(ec2, network["vpc"], db_name)
    assert sorted((p["FromPort"], r.get("CidrIp") or r.get("GroupId"), r.get("Description"))
                  for p in group["IpPermissions"] for r in p["IpRanges"] + p["UserIdGroupPairs"]) == \
        [(5432, "10.8.0.0/24", None), (5432, ids[app_name], "PostgreSQL from the app")]
    assert group["IpPermissionsEgress"] == [] and tags_of(group)["Owner"] == "ops"
    assert not run(endpoint, "ec2_vpc_security_group", changed_args)["changed"]

    # Rules left alone when not given; a new description only warns.
    untouched = run(endpoint, "ec2_vpc_security_group", {"vpc_id": network["vpc"], "tags": dict(TAGS, Owner="ops"),
                                                         "security_groups": [{"name": db_name, "description": "other"}]})
    assert not untouched["changed"] and any("description" in w for w in untouched.get("warnings", []))

    # Absent, database first (it refers to the application's group).
    absent = {"vpc_id": network["vpc"], "security_groups": [{"name": app_name}, {"name": db_name}], "state": "absent"}
    assert run(endpoint, "ec2_vpc_security_group", absent, check=True)["changed"]
    assert len(groups_named(ec2, network["vpc"], db_name)) == 1
    gone = run(endpoint, "ec2_vpc_security_group", absent, diff=True)
    assert gone["changed"] and [g["group_name"] for g in gone["diff"]["before"]["security_groups"]] == [db_name, app_name]
    assert groups_named(ec2, network["vpc"], db_name) == groups_named(ec2, network["vpc"], app_name) == []
    assert not run(endpoint, "ec2_vpc_security_group", absent)["changed"]


def test_default_security_group_emptied(endpoint, aws, network):
    """The VPC's default group (made by AWS: ingress from itself, all egress) loses its rules;
    named without a description, it is found, not created; a rerun changes nothing."""
    ec2 = aws("ec2")
    [default] = groups_named(ec2, network["vpc"], "default")
    assert default["IpPermissions"] and default["IpPermissionsEgress"]  # what AWS gives it
    args = {"vpc_id": network["vpc"], "tags": TAGS, "security_groups": [{"name": "default", "ingress": [], "egress": []}]}
    planned = run(endpoint, "ec2_vpc_security_group", args, check=True, diff=True)
    assert planned["changed"] and groups_named(ec2, network["vpc"], "default")[0]["IpPermissions"]
    emptied = run(endpoint, "ec2_vpc_security_group", args, diff=True)
    assert emptied["changed"] and emptied["group_ids"] == {"default": default["GroupId"]}
    assert emptied["diff"]["before"]["security_groups"][0]["ingress"] == [{"proto": "all", "group_id": default["GroupId"]}]
    assert emptied["diff"]["after"]["security_groups"][0]["ingress"] == emptied["diff"]["after"]["security_groups"][0]["egress"] == []
    [group] = groups_named(ec2, network["vpc"], "default")
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    assert not run(endpoint, "ec2_vpc_security_group", args)["changed"]


def test_security_group_bad_rules_fail_before_any_call(endpoint, network):
    group = {"name": f"unit-bad-{RUN}", "description": "bad",
             "ingress": [{"proto": "tcp", "from_port": 5432, "cidr_ip": "10.0.0.0/8", "group_id": "sg-0123"}]}
    failed = run_module(endpoint, "ec2_vpc_security_group", {"vpc_id": network["vpc"], "security_groups": [group]})
    assert failed.get("failed") and ".ingress[0]" in failed["msg"]
    failed = run_module(endpoint, "ec2_vpc_security_group", {"vpc_id": network["vpc"], "security_groups": [
        dict(group, ingress=[{"proto": "udp", "cidr_ip": "10.0.0.0/8"}])]})
    assert failed.get("failed") and "from_port is required" in failed["msg"]
    failed = run_module(endpoint, "ec2_vpc_security_group", {"vpc_id": network["vpc"], "security_groups": [
        dict(group, ingress=[{"proto": "tcp", "from_port": 1, "group_name": "nope"}])]})
    assert failed.get("failed") and "no security group nope" in failed["msg"]


# ---- ec2_vpc_flow_log ------------------------------------------------------------------------

def test_flow_log_is_replaced_when_its_settings_change(endpoint, aws, network):
    ec2 = aws("ec2")
    subnet = network["subnets"][3]
    args = {"resource_id": subnet, "resource_type": "Subnet", "log_group_name": f"/unit/flow-{RUN}",
            "deliver_logs_permission_arn": "arn:aws:iam::123456789012:role/unit-flow", "tags": TAGS}

    def flow_logs():
        return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [subnet]}])["FlowLogs"]

    assert run(endpoint, "ec2_vpc_flow_log", args, check=True)["changed"] and flow_logs() == []
    first = run(endpoint, "ec2_vpc_flow_log", args)
    [log] = flow_logs()
    assert first["changed"] and first["flow_log"]["flow_log_id"] == log["FlowLogId"] and tags_of(log) == TAGS
    assert not run(endpoint, "ec2_vpc_flow_log", args)["changed"]
    replaced = run(endpoint, "ec2_vpc_flow_log", dict(args, traffic_type="REJECT"))
    assert replaced["changed"]
    assert [f["TrafficType"] for f in flow_logs()] == ["REJECT"]
    assert run(endpoint, "ec2_vpc_flow_log", dict(args, state="absent"))["changed"]
    assert flow_logs() == []


def test_flow_log_with_its_log_group_and_delivery_role(endpoint, aws, network):
    ec2, iam, logs = aws("ec2"), aws("iam"), aws("logs")
    role, group = f"unit-flow-{RUN}", f"/unit/flow-role-{RUN}"
    key, other_key = (aws("kms").create_key()["KeyMetadata"]["Arn"] for _key in range(2))
    args = {"resource_id": network["vpc"], "log_group_name": group, "log_group_retention_days": 30,
            "log_group_kms_key_id": key, "deliver_logs_role_name": role, "tags": TAGS}

    def log_groups():
        return [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] if g["logGroupName"] == group]

    planned = run(endpoint, "ec2_vpc_flow_log", args, check=True, diff=True)
    assert planned["changed"] and planned["role"]["arn"] is None and log_groups() == []
    created = run(endpoint, "ec2_vpc_flow_log", args)
    [log_group] = log_groups()
    assert log_group["retentionInDays"] == 30 and logs.list_tags_log_group(logGroupName=group)["tags"] == TAGS
    assert log_group["kmsKeyId"] == key and created["log_group"]["kms_key_id"] == key
    arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    assert created["changed"] and created["role"]["arn"] == arn and created["flow_log"]["deliver_logs_permission_arn"] == arn
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    # This account's flow logs only (the confused deputy).
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"}}
    assert {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role)["Tags"]} == TAGS
    [statement] = iam.get_role_policy(RoleName=role, PolicyName="write-flow-logs")["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [f"arn:aws:logs:us-east-1:123456789012:log-group:{group}",
                                     f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"]
    [log] = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [network["vpc"]]},
                                            {"Name": "log-group-name", "Values": [group]}])["FlowLogs"]
    assert log["DeliverLogsPermissionArn"] == arn and log["FlowLogId"] == created["flow_log"]["flow_log_id"]
    assert not run(endpoint, "ec2_vpc_flow_log", args)["changed"]

    # A trust opened to any account is narrowed again.
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    assert run(endpoint, "ec2_vpc_flow_log", args)["changed"]
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == trust

    # A widened policy is narrowed again.
    iam.put_role_policy(RoleName=role, PolicyName="write-flow-logs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}))
    assert run(endpoint, "ec2_vpc_flow_log", args)["changed"]
    [statement] = iam.get_role_policy(RoleName=role, PolicyName="write-flow-logs")["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    longer = run(endpoint, "ec2_vpc_flow_log", dict(args, log_group_retention_days=90), diff=True)
    assert longer["changed"] and longer["diff"]["before"]["log_group"]["retention_days"] == 30
    assert log_groups()[0]["retentionInDays"] == 90
    # Another key is associated with the existing group (check mode first changes nothing).
    rekeyed = dict(args, log_group_retention_days=90, log_group_kms_key_id=other_key)
    assert run(endpoint, "ec2_vpc_flow_log", rekeyed, check=True)["changed"] and log_groups()[0]["kmsKeyId"] == key
    moved = run(endpoint, "ec2_vpc_flow_log", rekeyed, diff=True)
    assert moved["changed"] and moved["diff"]["before"]["log_group"]["kms_key_id"] == key
    assert log_groups()[0]["kmsKeyId"] == other_key
    assert not run(endpoint, "ec2_vpc_flow_log", rekeyed)["changed"]

    assert run(endpoint, "ec2_vpc_flow_log", dict(args, state="absent"))["changed"]
    assert role not in [r["RoleName"] for r in iam.list_roles()["Roles"]] and log_groups() == []
    assert ec2.describe_flow_logs(Filters=[{"Name": "log-group-name", "Values": [group]}])["FlowLogs"] == []


def test_routes_to_a_pending_nat_gateway_wait_or_are_deferred(endpoint, aws, network):
    """Under the emulator's scaled clock a new NAT gateway is pending for a while (AWS refuses a route
    to it meanwhile): ec2_route_table converges everything else, then waits for it; with
    wait_for_nat=false it leaves that route for a later run and says which."""
    import urllib.error
    import urllib.request

    def clock(factor):
        req = urllib.request.Request(f"{endpoint}/_stream_sales/clock", data=json.dumps({"factor": factor}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    try:
        clock(0.25)  # NAT gateways pending for 30 s: long enough to see the deferral on a loaded machine
    except urllib.error.URLError:
        pytest.skip("the emulator has no scaled clock")
    ec2 = aws("ec2")
    try:
        gateways = run(endpoint, "ec2_nat_gateway", {"gateways": [
            {"name": f"unit-nat-wait-{RUN}", "subnet_id": network["subnets"][0]},
            {"name": f"unit-nat-later-{RUN}", "subnet_id": network["subnets"][1]}], "tags": TAGS})["nat_gateways"]
        assert [g["state"] for g in gateways] == ["pending", "pending"]
        waited, later = (g["nat_gateway_id"] for g in gateways)

        def tables(nat, name, wait):
            return {"vpc_id": network["vpc"], "tags": TAGS, "wait_for_nat": wait, "route_tables": [
                {"name": name, "routes": [{"dest": "0.0.0.0/0", "nat_gateway_id": nat}]},
                {"name": f"{name}-other", "routes": [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]}]}

        deferred = run(endpoint, "ec2_route_table", tables(later, f"unit-later-{RUN}", False))
        assert deferred["changed"] and deferred["deferred_routes"] == [
            {"route_table": f"unit-later-{RUN}", "dest": "0.0.0.0/0", "nat_gateway_id": later}]
        assert default_route(tables_named(ec2, network["vpc"], f"unit-later-{RUN}")[0]) == []
        assert default_route(tables_named(ec2, network["vpc"], f"unit-later-{RUN}-other")[0])[0]["GatewayId"] == network["igw"]

        result = run(endpoint, "ec2_route_table", tables(waited, f"unit-wait-{RUN}", True))
        assert result["deferred_routes"] == []
        assert ec2.describe_nat_gateways(NatGatewayIds=[waited])["NatGateways"][0]["State"] == "available"
        assert default_route(tables_named(ec2, network["vpc"], f"unit-wait-{RUN}")[0])[0]["NatGatewayId"] == waited
        # The later run adds the deferred route once its gateway is available.
        assert run(endpoint, "ec2_route_table", tables(later, f"unit-later-{RUN}", True))["changed"]
        assert default_route(tables_named(ec2, network["vpc"], f"unit-later-{RUN}")[0])[0]["NatGatewayId"] == later
    finally:
        clock(None)
