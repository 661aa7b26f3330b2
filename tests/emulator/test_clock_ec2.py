"""The scaled clock on NAT gateways (clock.py: nat_gateway_states_follow_the_clock).

A NAT gateway is `pending` before `available` and `deleting` before `deleted`, each for its
typical AWS time times the clock factor.
"""
from __future__ import annotations

import time

from clockwork import watch

FACTOR = 0.02  # pending 2.4 s, deleting 1.2 s


def test_nat_gateway_pending_then_available_deleting_then_deleted(aws, set_clock):
    set_clock(FACTOR)
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.90.0.0/24")["Subnet"]["SubnetId"]
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    since = time.monotonic()
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]
    assert nat["State"] == "pending"

    def state():
        return ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"]

    created = watch(state, lambda s: s == "available", limit=20, since=since)
    assert created[-1][0] >= 2.0
    # The state filter sees the same state as the describe.
    pending = ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["pending"]}])["NatGateways"]
    assert nat["NatGatewayId"] not in [n["NatGatewayId"] for n in pending]

    since = time.monotonic()
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    deleted = watch(state, lambda s: s == "deleted", limit=20, since=since)
    # The first poll sees `deleting` unless the machine was too loaded to poll within the second.
    assert deleted[0][1] == "deleting" or deleted[0][0] >= 1.0
    assert deleted[-1][0] >= 1.0


def test_without_clock_available_at_once(aws, set_clock):
    set_clock(None)
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.0.0/24")["Subnet"]["SubnetId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])
    ident = nat["NatGateway"]["NatGatewayId"]
    assert ec2.describe_nat_gateways(NatGatewayIds=[ident])["NatGateways"][0]["State"] == "available"
