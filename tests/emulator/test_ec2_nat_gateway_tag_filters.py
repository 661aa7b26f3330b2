"""Fix ec2.nat_gateway_tag_filters: DescribeNatGateways filters by tag:<key>, tag-key and tag-value."""
from __future__ import annotations

import uuid


def test_tag_filters_select_gateways(aws):
    ec2 = aws("ec2")
    run = uuid.uuid4().hex[:8]
    vpc = ec2.create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.63.0.0/24")["Subnet"]["SubnetId"]

    def gateway(name, env):
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        return ec2.create_nat_gateway(
            SubnetId=subnet, AllocationId=allocation,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": [
                {"Key": "Name", "Value": name}, {"Key": f"Env-{run}", "Value": env}]}],
        )["NatGateway"]["NatGatewayId"]

    dev, prod = gateway(f"nat-dev-{run}", "dev"), gateway(f"nat-prod-{run}", "prod")

    def ids(*filters):
        return sorted(g["NatGatewayId"] for g in ec2.describe_nat_gateways(Filters=list(filters))["NatGateways"])

    assert ids({"Name": "tag:Name", "Values": [f"nat-dev-{run}"]}) == [dev]
    assert ids({"Name": "tag:Name", "Values": [f"nat-*-{run}"]}) == sorted([dev, prod])
    assert ids({"Name": f"tag:Env-{run}", "Values": ["prod"]}, {"Name": "vpc-id", "Values": [vpc]}) == [prod]
    assert ids({"Name": "tag:Name", "Values": [f"nat-none-{run}"]}) == []
    assert ids({"Name": "tag-key", "Values": [f"Env-{run}"]}) == sorted([dev, prod])
    assert ids({"Name": "tag-value", "Values": [f"nat-prod-{run}"]}) == [prod]
    # Filters that are not tag filters behave as before.
    assert ids({"Name": "subnet-id", "Values": [subnet]}, {"Name": "state", "Values": ["pending", "available"]}) == \
        sorted([dev, prod])
