"""rds.subnet_groups_kept_when_modified: ModifyDBSubnetGroup changes the group and keeps it."""
from __future__ import annotations

import uuid

import pytest


def test_a_modified_subnet_group_is_still_there_with_its_new_subnets(aws):
    ec2, rds = aws("ec2"), aws("rds")
    name = "t-subnets-" + uuid.uuid4().hex[:6]
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"), (3, "c"))]
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="t", SubnetIds=subnets[:2])
    rds.modify_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="wider", SubnetIds=subnets)
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(subnets)
    assert group["DBSubnetGroupDescription"] == "wider"
    rds.delete_db_subnet_group(DBSubnetGroupName=name)
    with pytest.raises(rds.exceptions.DBSubnetGroupNotFoundFault):
        rds.modify_db_subnet_group(DBSubnetGroupName=name, SubnetIds=subnets)
