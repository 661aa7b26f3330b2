#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_subnets
short_description: All the subnets of a VPC, converged from one DescribeSubnets
version_added: 0.2.0
description:
  - Ensures each subnet of O(subnets) exists in O(vpc_id) with its CIDR block, availability zone,
    public-address mapping and tags.
  - One call per run when nothing changes (DescribeSubnets of the VPC; tags come with it).
    M(amazon.aws.ec2_vpc_subnet) handles one subnet per task and made 8 calls for each on a no-change
    run (4 DescribeSubnets, 1 DescribeTags each; measured, 48 calls for 6 subnets).
  - A CreateSubnet resent after a lost answer fails with C(InvalidSubnet.Conflict) (the first one
    took effect); the subnet it created is adopted. Subnets cannot be duplicated (a CIDR block is
    unique within a VPC), so there is nothing else to heal.
options:
  vpc_id:
    description: The VPC.
    type: str
    required: true
  subnets:
    description:
      - The subnets. With O(state=absent), those to delete (by O(subnets[].cidr)); omitted, every
        subnet of the VPC.
    type: list
    elements: dict
    suboptions:
      name:
        description: Value of its C(Name) tag.
        type: str
        required: true
      cidr:
        description: Its IPv4 range, its identity within the VPC.
        type: str
        required: true
      az:
        description: Its availability zone. A subnet cannot move; a change fails.
        type: str
      map_public:
        description: Give instances launched in it a public IPv4 address.
        type: bool
        default: false
      tags:
        description: Tags of this subnet besides O(tags) (for example C(Tier)).
        type: dict
  state:
    description: Whether the subnets should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
notes:
  - O(tags) are given to every subnet, with its own O(subnets[].tags) and C(Name).
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Public and isolated subnets in two AZs
  stream_sales.platform.ec2_vpc_subnets:
    vpc_id: vpc-0123456789abcdef0
    subnets:
      - {name: dev-public-a, cidr: 10.0.0.0/24, az: us-east-1a, map_public: true, tags: {Tier: public}}
      - {name: dev-public-b, cidr: 10.0.1.0/24, az: us-east-1b, map_public: true, tags: {Tier: public}}
      - {name: dev-isolated-a, cidr: 10.0.4.0/24, az: us-east-1a, tags: {Tier: isolated}}
    tags:
      Environment: dev
"""

RETURN = r"""
subnets:
  description: The subnets, in the order of O(subnets) (without RV(subnets[].id) in check mode before they exist).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Its ID.
      type: str
      sample: subnet-0123456789abcdef0
    name:
      description: Its C(Name).
      type: str
    cidr:
      description: Its range.
      type: str
    az:
      description: Its availability zone.
      type: str
    map_public:
      description: Public-address mapping.
      type: bool
    tags:
      description: Its tags.
      type: dict
"""

import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import not_yet_visible
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import tags_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import update_tags

NEW = not_yet_visible("InvalidSubnetID.NotFound", "InvalidVpcID.NotFound")


@NEW
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def listed(ec2, vpc_id):
    subnets = paginate(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {s["CidrBlock"]: s for s in subnets}


def summary(subnet):
    tags = tags_of(subnet)
    return {"id": subnet["SubnetId"], "name": tags.get("Name"), "cidr": subnet["CidrBlock"],
            "az": subnet["AvailabilityZone"], "map_public": bool(subnet.get("MapPublicIpOnLaunch")), "tags": tags}


def wanted_subnets(module):
    """The subnets option, validated before any call."""
    seen = set()
    out = []
    for i, spec in enumerate(module.params["subnets"] or []):
        try:
            cidr = str(ipaddress.ip_network(spec["cidr"], strict=True))
        except ValueError as e:
            module.fail_json(msg=f"subnets[{i}].cidr {spec['cidr']!r} is not a CIDR block: {e}")
        if cidr in seen:
            module.fail_json(msg=f"subnets[{i}]: {cidr} is given twice.")
        seen.add(cidr)
        if module.params["state"] == "present" and not spec.get("az"):
            module.fail_json(msg=f"subnets[{i}] ({cidr}) needs its az.")
        tags = dict(module.params["tags"] or {}, **(spec.get("tags") or {}), Name=spec["name"])
        out.append(dict(spec, cidr=cidr, tags=tags))
    return out


def create(module, ec2, vpc_id, spec):
    """Create one subnet; a CreateSubnet whose first answer was lost is adopted."""
    try:
        subnet = call(ec2.create_subnet, VpcId=vpc_id, CidrBlock=spec["cidr"], AvailabilityZone=spec["az"],
                      TagSpecifications=boto3_tag_specifications(spec["tags"], ["subnet"]))["Subnet"]
    except is_boto3_error_code("InvalidSubnet.Conflict"):
        # The resent call of ours collided with its own first attempt: adopt that subnet.
        subnet = listed(ec2, vpc_id).get(spec["cidr"])
        if subnet is None or subnet["AvailabilityZone"] != spec["az"]:
            raise
    if spec["map_public"] and not subnet.get("MapPublicIpOnLaunch"):
        call(ec2.modify_subnet_attribute, SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    return dict(summary(subnet), map_public=spec["map_public"], tags=spec["tags"])


def ensure_present(module, ec2):
    vpc_id, purge = module.params["vpc_id"], module.params["purge_tags"]
    current = listed(ec2, vpc_id)
    changed, before, after = False, [], []
    for spec in wanted_subnets(module):
        subnet = current.get(spec["cidr"])
        if subnet is None:
            changed = True
            after.append(create(module, ec2, vpc_id, spec) if not module.check_mode else
                         {"name": spec["name"], "cidr": spec["cidr"], "az": spec["az"], "map_public": spec["map_public"],
                          "tags": spec["tags"]})
            continue
        if subnet["AvailabilityZone"] != spec["az"]:
            module.fail_json(msg=f"Subnet {spec['name']} ({subnet['SubnetId']}, {spec['cidr']}) is in {subnet['AvailabilityZone']}, "
                                 f"not {spec['az']}; a subnet cannot move: delete it first.")
        was = summary(subnet)
        before.append(was)
        now = dict(was, map_public=spec["map_public"])
        if was["map_public"] != spec["map_public"]:
            changed = True
            if not module.check_mode:
                call(ec2.modify_subnet_attribute, SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": spec["map_public"]})
        tags_changed, now["tags"] = update_tags(module, ec2, subnet["SubnetId"], was["tags"], spec["tags"], purge)
        now["name"] = now["tags"].get("Name")
        changed |= tags_changed
        after.append(now)
    return changed, before, after


def ensure_absent(module, ec2):
    vpc_id = module.params["vpc_id"]
    current = listed(ec2, vpc_id)
    cidrs = [s["cidr"] for s in wanted_subnets(module)] if module.params["subnets"] is not None else sorted(current)
    gone = [current[c] for c in cidrs if c in current]
    if gone and not module.check_mode:
        for subnet in gone:
            try:
                ec2.delete_subnet(aws_retry=True, SubnetId=subnet["SubnetId"])
            except is_boto3_error_code("InvalidSubnetID.NotFound"):
                pass  # a resent delete whose first attempt went through
            except is_boto3_error_code("DependencyViolation") as e:  # pylint: disable=duplicate-except
                module.fail_json_aws(e, msg=f"Subnet {subnet['SubnetId']} ({subnet['CidrBlock']}) still holds network "
                                            "interfaces (NAT gateways, Lambda functions, databases): delete them first.")
    return bool(gone), [summary(s) for s in gone], []


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            vpc_id=dict(type="str", required=True),
            subnets=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                cidr=dict(type="str", required=True),
                az=dict(type="str"),
                map_public=dict(type="bool", default=False),
                tags=dict(type="dict"),
            )),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["subnets"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    with aws_errors(module, f"the subnets of {module.params['vpc_id']}"):
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, ec2)
        else:
            changed, before, after = ensure_absent(module, ec2)
    exit_with(module, changed, before, after, kind="subnets", subnets=after)


if __name__ == "__main__":
    main()
