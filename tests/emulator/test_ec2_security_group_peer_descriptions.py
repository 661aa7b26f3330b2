"""Fix ec2.security_group_peer_rule_descriptions_updatable: the description of a rule whose peer
is a security group can be changed in place (and removed), ingress and egress."""
from __future__ import annotations

import uuid


def test_update_descriptions_of_group_peer_rules(aws):
    ec2 = aws("ec2")
    run = uuid.uuid4().hex[:8]
    vpc = ec2.create_vpc(CidrBlock="10.66.0.0/16")["Vpc"]["VpcId"]
    app = ec2.create_security_group(GroupName=f"app-{run}", Description="app", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName=f"db-{run}", Description="db", VpcId=vpc)["GroupId"]

    def rule(description=None, port=5432, cidr=False):
        peer = {"CidrIp": "10.66.0.0/24"} if cidr else {"GroupId": app}
        if description is not None:
            peer["Description"] = description
        return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                 ("IpRanges" if cidr else "UserIdGroupPairs"): [peer]}]

    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=rule("old") + rule("cidr", cidr=True))
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=rule("other port", port=6432))
    ec2.authorize_security_group_egress(GroupId=db, IpPermissions=rule("out"))

    def described():
        [group] = ec2.describe_security_groups(GroupIds=[db])["SecurityGroups"]
        ingress = {(p["FromPort"], r.get("GroupId") or r.get("CidrIp")): r.get("Description")
                   for p in group["IpPermissions"] for r in p["UserIdGroupPairs"] + p["IpRanges"]}
        egress = {(p.get("FromPort"), r.get("GroupId") or r.get("CidrIp")): r.get("Description")
                  for p in group["IpPermissionsEgress"] for r in p["UserIdGroupPairs"] + p["IpRanges"]}
        return ingress, egress

    ec2.update_security_group_rule_descriptions_ingress(GroupId=db, IpPermissions=rule("new"))
    ec2.update_security_group_rule_descriptions_egress(GroupId=db, IpPermissions=rule("new out"))
    ingress, egress = described()
    assert ingress == {(5432, app): "new", (5432, "10.66.0.0/24"): "cidr", (6432, app): "other port"}
    assert egress[(5432, app)] == "new out"

    # No description in the request removes it; CIDR rules keep working as before.
    ec2.update_security_group_rule_descriptions_ingress(GroupId=db, IpPermissions=rule())
    ec2.update_security_group_rule_descriptions_ingress(GroupId=db, IpPermissions=rule("cidr 2", cidr=True))
    ingress = described()[0]
    assert ingress == {(5432, app): None, (5432, "10.66.0.0/24"): "cidr 2", (6432, app): "other port"}
