"""ec2_route_table and ec2_vpc_security_group, run for real against the emulator.

Create, rerun without change, change (shown in the diff), check mode, absent, and no fixed
sleep: amazon.aws's modules slept 5 s (route tables) and 3 s (security groups) after a change;
ours wait only through module_utils/waiting.py, which returns as soon as the state is seen
(timings are measured by scripts/bench.py, not asserted here).
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from modules_helper import run_module

TAGS = {"Environment": "unit", "Project": "StreamSales"}
RUN = uuid.uuid4().hex[:8]  # names unique to this run: the tests never depend on earlier state
MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"


def run(endpoint, name, args, **kw):
    result = run_module(endpoint, name, args, **kw)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.mark.parametrize("name", ["ec2_route_table", "ec2_vpc_security_group"])
def test_no_fixed_sleep(name):
    source = (MODULES / f"{name}.py").read_text()
    assert "sleep(" not in source and "import time" not in source
    assert "wait_until" in source


def tags_of(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


@pytest.fixture(scope="module")
def network(aws):
    """A fresh VPC with an internet gateway, a NAT gateway and three subnets."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24")["Subnet"]["SubnetId"] for i in range(3)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    return {"vpc": vpc, "subnets": subnets, "igw": igw, "nat": nat}


def tables_named(ec2, vpc, name):
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return [t for t in tables if tags_of(t).get("Name") == name]


def default_route(table):
    return [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_route_table_lifecycle(endpoint, aws, network):
    ec2 = aws("ec2")
    name = f"unit-public-{RUN}"
    args = {"vpc_id": network["vpc"], "name": name, "tags": TAGS, "subnets": network["subnets"][:2],
            "routes": [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]}

    planned = run(endpoint, "ec2_route_table", args, check=True, diff=True)
    assert planned["changed"] and "id" not in planned["route_table"]
    assert planned["diff"]["after"]["routes"] == [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]
    assert planned["diff"]["after"]["subnets"] == sorted(network["subnets"][:2])
    assert tables_named(ec2, network["vpc"], name) == []

    created = run(endpoint, "ec2_route_table", args, diff=True)
    assert created["changed"] and created["diff"]["before"] == {}
    [table] = tables_named(ec2, network["vpc"], name)
    assert created["route_table"]["id"] == created["route_table"]["route_table_id"] == table["RouteTableId"]
    assert default_route(table)[0]["GatewayId"] == network["igw"]
    assert sorted(a["SubnetId"] for a in table["Associations"]) == sorted(network["subnets"][:2])
    assert tags_of(table) == dict(TAGS, Name=name)

    assert not run(endpoint, "ec2_route_table", args)["changed"]

    # Default route through the NAT gateway, one subnet less, one more, a new tag.
    changed_args = dict(args, tags=dict(TAGS, Owner="ops"), subnets=network["subnets"][1:],
                        routes=[{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}])
    planned = run(endpoint, "ec2_route_table", changed_args, check=True, diff=True)
    assert planned["changed"]
    [table] = tables_named(ec2, network["vpc"], name)
    assert default_route(table)[0]["GatewayId"] == network["igw"]  # check mode changed nothing
    changed = run(endpoint, "ec2_route_table", changed_args, diff=True)
    assert changed["changed"]
    assert changed["diff"]["before"]["routes"] == [{"dest": "0.0.0.0/0", "gateway_id": network["igw"]}]
    assert changed["diff"]["after"]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": network["nat"]}]
    assert changed["diff"]["after"]["subnets"] == sorted(network["subnets"][1:])
    assert changed["diff"]["after"]["tags"]["Owner"] == "ops" and "Owner" not in changed["diff"]["before"]["tags"]
    assert changed["diff"]["after"] == planned["diff"]["after"] | {"route_table_id": table["RouteTableId"]}
    [table] = tables_named(ec2, network["vpc"], name)
    assert [r.get("NatGatewayId") for r in default_route(table)] == [network["nat"]]
    assert sorted(a["SubnetId"] for a in table["Associations"]) == sorted(network["subnets"][1:])
    assert not run(endpoint, "ec2_route_table", changed_args)["changed"]

    # Absent: check mode keeps it, then it goes, then nothing is left to do.
    assert run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "name": name, "state": "absent"}, check=True)["changed"]
    assert len(tables_named(ec2, network["vpc"], name)) == 1
    gone = run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "name": name, "state": "absent"}, diff=True)
    assert gone["changed"] and gone["diff"]["after"] == {}
    assert tables_named(ec2, network["vpc"], name) == []
    assert not run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "name": name, "state": "absent"})["changed"]


def test_route_table_keeps_endpoint_and_local_routes_and_takes_over_subnets(endpoint, aws, network):
    ec2 = aws("ec2")
    name = f"unit-isolated-{RUN}"
    # The subnet is associated with another table first: the module moves it.
    other = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=network["subnets"][2])
    args = {"vpc_id": network["vpc"], "name": name, "tags": TAGS, "subnets": [network["subnets"][2]], "routes": []}
    created = run(endpoint, "ec2_route_table", args)
    table_id = created["route_table"]["id"]
    assert [a["subnet_id"] for a in created["route_table"]["associations"]] == [network["subnets"][2]]
    assert ec2.describe_route_tables(RouteTableIds=[other])["RouteTables"][0]["Associations"] == []

    # The S3 gateway endpoint adds its own route (prefix list, vpce-...): a purging rerun keeps it.
    vpce = ec2.create_vpc_endpoint(VpcId=network["vpc"], ServiceName="com.amazonaws.us-east-1.s3",
                                   VpcEndpointType="Gateway", RouteTableIds=[table_id])["VpcEndpoint"]["VpcEndpointId"]
    # A route someone added by hand is purged.
    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=network["igw"])
    purged = run(endpoint, "ec2_route_table", args, diff=True)
    assert purged["changed"] and purged["diff"]["after"]["routes"] == []
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    assert sorted(r["GatewayId"] for r in routes) == sorted(["local", vpce])
    assert not run(endpoint, "ec2_route_table", args)["changed"]

    # Removed by ID (teardown's way), whatever its name.
    ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])
    assert run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_table_id": table_id, "state": "absent"})["changed"]
    assert run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_table_id": other, "state": "absent"})["changed"]
    assert tables_named(ec2, network["vpc"], name) == []
    assert not run(endpoint, "ec2_route_table", {"vpc_id": network["vpc"], "route_table_id": table_id, "state": "absent"})["changed"]


def test_route_table_bad_routes_fail_before_any_call(endpoint, network):
    args = {"vpc_id": network["vpc"], "name": f"unit-bad-{RUN}",
            "routes": [{"dest": "0.0.0.0/0", "gateway_id": network["igw"], "nat_gateway_id": network["nat"]}]}
    failed = run_module(endpoint, "ec2_route_table", args)
    assert failed.get("failed") and "exactly one of gateway_id and nat_gateway_id" in failed["msg"]
    failed = run_module(endpoint, "ec2_route_table", dict(args, routes=[{"dest": "10.8.0.1/16", "gateway_id": network["igw"]}]))
    assert failed.get("failed") and "routes[0].dest" in failed["msg"]


def groups_named(ec2, vpc, name):
    return ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                 {"Name": "group-name", "Values": [name]}])["SecurityGroups"]


def test_security_groups_lifecycle(endpoint, aws, network):
    ec2 = aws("ec2")
    app_name, db_name = f"unit-app-{RUN}", f"unit-db-{RUN}"
    app_args = {"vpc_id": network["vpc"], "name": app_name, "description": "unit app", "tags": TAGS,
                "ingress": [], "egress": [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]}

    planned = run(endpoint, "ec2_vpc_security_group", app_args, check=True, diff=True)
    assert planned["changed"] and "group_id" not in planned
    assert planned["diff"]["after"]["egress"] == [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]
    assert groups_named(ec2, network["vpc"], app_name) == []

    app = run(endpoint, "ec2_vpc_security_group", app_args, diff=True)
    assert app["changed"] and app["group_id"].startswith("sg-") and app["diff"]["before"] == {}
    assert not run(endpoint, "ec2_vpc_security_group", app_args)["changed"]

    db_args = {"vpc_id": network["vpc"], "name": db_name, "description": "unit database", "tags": TAGS,
               "ingress": [{"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": app["group_id"],
                            "description": "PostgreSQL from the application"}],
               "egress": []}
    db = run(endpoint, "ec2_vpc_security_group", db_args, diff=True)
    assert db["changed"]
    [group] = groups_named(ec2, network["vpc"], db_name)
    assert group["GroupId"] == db["group_id"] and tags_of(group) == TAGS
    assert group["IpPermissionsEgress"] == []  # AWS's default allow-all was revoked
    [rule] = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
    assert [(p["GroupId"], p.get("Description")) for p in rule["UserIdGroupPairs"]] == \
        [(app["group_id"], "PostgreSQL from the application")]
    assert rule["IpRanges"] == []
    assert db["security_group"]["egress"] == [] and db["security_group"]["ingress"] == [
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": app["group_id"],
         "description": "PostgreSQL from the application"}]
    assert not run(endpoint, "ec2_vpc_security_group", db_args, check=True)["changed"]
    assert not run(endpoint, "ec2_vpc_security_group", db_args)["changed"]

    # A rule added by hand is revoked; a new rule, a new description and a new tag are applied.
    ec2.authorize_security_group_ingress(GroupId=db["group_id"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    changed_args = dict(db_args, tags=dict(TAGS, Owner="ops"), ingress=[
        dict(db_args["ingress"][0], description="PostgreSQL from the app"),
        {"proto": "tcp", "from_port": 5432, "cidr_ip": "10.8.0.0/24"}])
    planned = run(endpoint, "ec2_vpc_security_group", changed_args, check=True, diff=True)
    assert planned["changed"]
    assert any(p.get("FromPort") == 22 for p in groups_named(ec2, network["vpc"], db_name)[0]["IpPermissions"])
    changed = run(endpoint, "ec2_vpc_security_group", changed_args, diff=True)
    assert changed["changed"]
    before, after = changed["diff"]["before"], changed["diff"]["after"]
    assert {"proto": "tcp", "from_port": 22, "to_port": 22, "cidr_ip": "0.0.0.0/0"} in before["ingress"]
    assert after["ingress"] == [
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "cidr_ip": "10.8.0.0/24"},
        {"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": app["group_id"],
         "description": "PostgreSQL from the app"},
    ]
    assert after["tags"]["Owner"] == "ops" and after["egress"] == []
    assert after == planned["diff"]["after"]
    [group] = groups_named(ec2, network["vpc"], db_name)
    assert sorted((p["FromPort"], r.get("CidrIp") or r.get("GroupId"), r.get("Description"))
                  for p in group["IpPermissions"] for r in p["IpRanges"] + p["UserIdGroupPairs"]) == \
        [(5432, "10.8.0.0/24", None), (5432, app["group_id"], "PostgreSQL from the app")]
    assert group["IpPermissionsEgress"] == [] and tags_of(group)["Owner"] == "ops"
    assert not run(endpoint, "ec2_vpc_security_group", changed_args)["changed"]

    # Rules left alone when not given; a new description only warns.
    untouched = run(endpoint, "ec2_vpc_security_group", {"vpc_id": network["vpc"], "name": db_name, "description": "other"})
    assert not untouched["changed"] and any("description" in w for w in untouched.get("warnings", []))

    # Absent, database first (it refers to the application's group).
    absent = {"vpc_id": network["vpc"], "name": db_name, "state": "absent"}
    assert run(endpoint, "ec2_vpc_security_group", absent, check=True)["changed"]
    assert len(groups_named(ec2, network["vpc"], db_name)) == 1
    for name in (db_name, app_name):
        gone = run(endpoint, "ec2_vpc_security_group", dict(absent, name=name), diff=True)
        assert gone["changed"] and gone["diff"]["after"] == {} and gone["diff"]["before"]["group_name"] == name
        assert groups_named(ec2, network["vpc"], name) == []
    assert not run(endpoint, "ec2_vpc_security_group", absent)["changed"]


def test_security_group_bad_rules_fail_before_any_call(endpoint, network):
    args = {"vpc_id": network["vpc"], "name": f"unit-bad-{RUN}", "description": "bad",
            "ingress": [{"proto": "tcp", "from_port": 5432, "cidr_ip": "10.0.0.0/8", "group_id": "sg-0123"}]}
    failed = run_module(endpoint, "ec2_vpc_security_group", args)
    assert failed.get("failed") and "ingress[0]" in failed["msg"]
    failed = run_module(endpoint, "ec2_vpc_security_group", dict(args, ingress=[{"proto": "udp", "cidr_ip": "10.0.0.0/8"}]))
    assert failed.get("failed") and "from_port is required" in failed["msg"]
