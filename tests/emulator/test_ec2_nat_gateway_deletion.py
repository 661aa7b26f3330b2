"""Fix ec2.nat_gateway_deletion_releases_interface_and_address: deleting a NAT gateway deletes
its network interface and disassociates its Elastic IP, which stays allocated and can be released."""
from __future__ import annotations

import pytest


def test_deleted_gateway_frees_its_interface_and_address(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.0.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]
    eni = gateway["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    [address] = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert address.get("AssociationId") and address["NetworkInterfaceId"] == eni
    in_subnet = {"Name": "subnet-id", "Values": [subnet]}
    assert [e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=[in_subnet])["NetworkInterfaces"]] == [eni]

    ec2.delete_nat_gateway(NatGatewayId=gateway["NatGatewayId"])

    [address] = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert not address.get("AssociationId") and not address.get("NetworkInterfaceId")
    assert ec2.describe_network_interfaces(Filters=[in_subnet])["NetworkInterfaces"] == []
    ec2.release_address(AllocationId=allocation)
    assert allocation not in [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_other_gateways_keep_their_address(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.62.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.62.0.0/24")["Subnet"]["SubnetId"]
    kept, gone = (ec2.allocate_address(Domain="vpc")["AllocationId"] for _i in range(2))
    keep = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=kept)["NatGateway"]["NatGatewayId"]
    drop = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=gone)["NatGateway"]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=drop)
    addresses = {a["AllocationId"]: a for a in ec2.describe_addresses(AllocationIds=[kept, gone])["Addresses"]}
    assert addresses[kept].get("AssociationId") and not addresses[gone].get("AssociationId")
    [live] = ec2.describe_nat_gateways(NatGatewayIds=[keep])["NatGateways"]
    assert live["NatGatewayAddresses"][0]["AllocationId"] == kept


def test_under_the_scaled_clock_the_address_is_freed_once_deleted(aws, endpoint):
    """While the gateway is `deleting` its address and interface stay (clock.py plays AWS's time)."""
    import json
    import urllib.error
    import urllib.request

    def clock(factor):
        req = urllib.request.Request(f"{endpoint}/_stream_sales/clock", data=json.dumps({"factor": factor}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    try:
        clock(0.02)
    except urllib.error.URLError:
        pytest.skip("the emulator has no scaled clock")
    try:
        ec2 = aws("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.68.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.68.0.0/24")["Subnet"]["SubnetId"]
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        gateway = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
        ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[gateway], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        ec2.delete_nat_gateway(NatGatewayId=gateway)
        assert ec2.describe_nat_gateways(NatGatewayIds=[gateway])["NatGateways"][0]["State"] == "deleting"
        assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0].get("AssociationId")
        ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[gateway], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        assert not ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0].get("AssociationId")
        assert ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"] == []
    finally:
        clock(None)
