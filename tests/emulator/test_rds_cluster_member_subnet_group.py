"""rds.cluster_members_report_their_subnet_group: an Aurora member reports the cluster's DBSubnetGroup."""
from __future__ import annotations

import uuid


def test_member_reports_the_cluster_subnet_group(aurora, aws):
    ec2, rds = aws("ec2"), aws("rds")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    group = "t-db-" + uuid.uuid4().hex[:6]
    rds.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="isolated", SubnetIds=subnets)
    try:
        name = aurora(DBSubnetGroupName=group)["DBClusterIdentifier"]
        rds.create_db_instance(DBInstanceIdentifier=name + "-w", DBClusterIdentifier=name, Engine="aurora-postgresql",
                               DBInstanceClass="db.serverless")
        member = rds.describe_db_instances(DBInstanceIdentifier=name + "-w")["DBInstances"][0]
        assert member["DBSubnetGroup"]["DBSubnetGroupName"] == group
        assert member["DBSubnetGroup"]["VpcId"] == vpc
        assert sorted(s["SubnetIdentifier"] for s in member["DBSubnetGroup"]["Subnets"]) == sorted(subnets)
        rds.delete_db_instance(DBInstanceIdentifier=name + "-w", SkipFinalSnapshot=True)
        rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    finally:
        rds.delete_db_subnet_group(DBSubnetGroupName=group)
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_vpc(VpcId=vpc)
