"""Fix ec2.default_security_group_admits_its_members: a new VPC's default security group has
AWS's two rules, all inbound from itself and all outbound, and they can be revoked."""
from __future__ import annotations


def test_default_security_group_rules(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.67.0.0/16")["Vpc"]["VpcId"]

    def default():
        [group] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        return group

    group = default()
    [inbound] = group["IpPermissions"]
    assert inbound["IpProtocol"] == "-1" and inbound["IpRanges"] == []
    assert [p["GroupId"] for p in inbound["UserIdGroupPairs"]] == [group["GroupId"]]
    [outbound] = group["IpPermissionsEgress"]
    assert outbound["IpProtocol"] == "-1" and [r["CidrIp"] for r in outbound["IpRanges"]] == ["0.0.0.0/0"]

    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"]}]}])
    ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    group = default()
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    ec2.delete_vpc(VpcId=vpc)
