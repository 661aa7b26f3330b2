"""Fix ec2.nat_gateway_deletion_releases_interface_and_address: deleting a NAT gateway deletes
its network interface and disassociates its Elastic IP, which stays allocated and can be released."""
from __future__ import annotations


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
    kept, gone = (ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in range(2))
    keep = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=kept)["NatGateway"]["NatGatewayId"]
    drop = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=gone)["NatGateway"]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=drop)
    addresses = {a["AllocationId"]: a for a in ec2.describe_addresses(AllocationIds=[kept, gone])["Addresses"]}
    assert addresses[kept].get("AssociationId") and not addresses[gone].get("AssociationId")
    [live] = ec2.describe_nat_gateways(NatGatewayIds=[keep])["NatGateways"]
    assert live["NatGatewayAddresses"][0]["AllocationId"] == kept
