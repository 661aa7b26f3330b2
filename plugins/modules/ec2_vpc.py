#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc
short_description: A VPC found by its Name tag, with its DNS settings and internet gateway; duplicates healed
version_added: 0.2.0
description:
  - Ensures one VPC named O(name) (its C(Name) tag) with the CIDR block O(cidr_block), DNS support
    and hostnames as asked, and, with O(internet_gateway_name), one internet gateway attached to it.
  - A no-change run reads the VPC (one DescribeVpcs), its two DNS attributes and its internet
    gateway, four calls. M(amazon.aws.ec2_vpc_net) and M(amazon.aws.ec2_vpc_igw) made 12 for the same
    (measured; DescribeVpcs 6, DescribeVpcAttribute 4, DescribeInternetGateways 2).
  - CreateVpc and CreateInternetGateway take no client token, so a create resent after a lost answer
    makes a second one. M(amazon.aws.ec2_vpc_net) then fails on every later run ("there are 2 VPCs that
    have the same name and CIDR block") until a human deletes one. Here duplicates are healed; the VPC
    with subnets is kept, the others are deleted when they carry all of O(tags) and hold nothing
    (DeleteVpc refuses a VPC in use); detached internet gateways named O(internet_gateway_name) that
    carry all of O(tags) are reused or deleted. Each removal is reported as a warning and in RV(healed).
options:
  name:
    description: Value of the C(Name) tag of the VPC, its identity.
    type: str
    required: true
  cidr_block:
    description: The VPC's IPv4 range. Required with O(state=present); a VPC's range cannot change.
    type: str
  dns_support:
    description: Amazon-provided DNS resolution in the VPC.
    type: bool
    default: true
  dns_hostnames:
    description: DNS hostnames for instances with public addresses.
    type: bool
    default: true
  internet_gateway_name:
    description:
      - C(Name) tag of the internet gateway to attach to the VPC. Omitted, the VPC's internet
        gateway is left alone.
    type: str
  state:
    description:
      - Whether the VPC should exist. With V(absent), every VPC named O(name) is deleted with its
        internet gateways; whatever else it holds must be gone first.
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
  - The C(Name) tags are always O(name) and O(internet_gateway_name), whatever O(tags) says.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: VPC with its internet gateway
  stream_sales.platform.ec2_vpc:
    name: stream-sales-dev-vpc
    cidr_block: 10.0.0.0/16
    internet_gateway_name: stream-sales-dev-igw
    tags:
      Environment: dev
  register: vpc
"""

RETURN = r"""
vpc:
  description: The VPC (empty when absent; without RV(vpc.id) in check mode before it exists).
  returned: always
  type: dict
  contains:
    id:
      description: Its ID.
      type: str
      sample: vpc-0123456789abcdef0
    cidr_block:
      description: Its IPv4 range.
      type: str
      sample: 10.0.0.0/16
    dns_support:
      description: DNS resolution.
      type: bool
    dns_hostnames:
      description: DNS hostnames.
      type: bool
    internet_gateway_id:
      description: Its internet gateway, when O(internet_gateway_name) is given.
      type: str
      sample: igw-0123456789abcdef0
    tags:
      description: Its tags.
      type: dict
healed:
  description: Duplicates removed (in check mode, that would be removed), each with why.
  returned: always
  type: list
  elements: dict
duplicates_kept:
  description: Duplicates left in place (not provably ours, or in use), each with why.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import Healing
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import is_ours
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import not_yet_visible
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import tags_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import update_tags
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

NEW = not_yet_visible("InvalidVpcID.NotFound", "InvalidInternetGatewayID.NotFound")
ATTRIBUTES = (("dns_support", "enableDnsSupport", "EnableDnsSupport"),
              ("dns_hostnames", "enableDnsHostnames", "EnableDnsHostnames"))
CONSISTENCY_TIMEOUT = 60
# What AWS gives a new VPC.
NEW_VPC_ATTRIBUTES = {"dns_support": True, "dns_hostnames": False}


@NEW
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def find_vpcs(ec2, name):
    vpcs = paginate(ec2, "describe_vpcs", "Vpcs", Filters=[{"Name": "tag:Name", "Values": [name]}])
    return sorted((v for v in vpcs if tags_of(v).get("Name") == name), key=lambda v: v["VpcId"])


def find_gateways(ec2, **filters):
    return paginate(ec2, "describe_internet_gateways", "InternetGateways",
                    Filters=[{"Name": k, "Values": v} for k, v in filters.items()])


def attached_to(gateway):
    return [a["VpcId"] for a in gateway.get("Attachments", []) if a.get("State") in ("attached", "attaching", "available")]


def choose(module, ec2, vpcs, desired_tags, healing):
    """The VPC to keep among those named alike; the others are healed."""
    if len(vpcs) < 2:
        return vpcs[0] if vpcs else None
    ids = [v["VpcId"] for v in vpcs]
    subnets = paginate(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": ids}])
    gateways = find_gateways(ec2, **{"attachment.vpc-id": ids})
    used = {i: sum(s["VpcId"] == i for s in subnets) + sum(i in attached_to(g) for g in gateways) for i in ids}
    # The most used one; among equals the first by ID (max keeps the first of equals).
    keeper = max(vpcs, key=lambda v: used[v["VpcId"]])
    for vpc in vpcs:
        if vpc is keeper:
            continue
        vpc_id, name = vpc["VpcId"], module.params["name"]
        if not is_ours(vpc, desired_tags):
            healing.keep("VPC", vpc_id, name, "a duplicate without all of our tags, so not provably ours")
        elif used[vpc_id]:
            healing.keep("VPC", vpc_id, name, f"a duplicate of {keeper['VpcId']} that holds {used[vpc_id]} subnet(s) or gateway(s)")
        else:
            healing.remove("VPC", vpc_id, name, f"an empty duplicate of {keeper['VpcId']} (a resent CreateVpc or an interrupted run)",
                           lambda vpc_id=vpc_id: delete_vpc(module, ec2, vpc_id))
    return keeper


def delete_vpc(module, ec2, vpc_id):
    try:
        ec2.delete_vpc(aws_retry=True, VpcId=vpc_id)
    except is_boto3_error_code("InvalidVpcID.NotFound"):
        pass
    except is_boto3_error_code("DependencyViolation") as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"VPC {vpc_id} still holds resources (subnets, gateways, interfaces, endpoints, "
                                    "security groups); delete them first.")


def ensure_attributes(module, ec2, vpc_id, created):
    """(changed, before, after) of dns_support and dns_hostnames, setting those that differ."""
    before, after = {}, {}
    for option, attribute, key in ATTRIBUTES:
        if created or not vpc_id:
            current = NEW_VPC_ATTRIBUTES[option]
        else:
            current = ec2.describe_vpc_attribute(aws_retry=True, VpcId=vpc_id, Attribute=attribute)[key]["Value"]
        before[option], after[option] = current, module.params[option]
        if current != after[option] and vpc_id and not module.check_mode:
            call(ec2.modify_vpc_attribute, VpcId=vpc_id, **{key: {"Value": after[option]}})
    return before != after, before, after


def ensure_gateway(module, ec2, vpc_id, desired_tags, healing):
    """(changed, internet gateway ID or None) for the gateway named internet_gateway_name."""
    name = module.params["internet_gateway_name"]
    tags = dict(desired_tags, Name=name)
    attached = find_gateways(ec2, **{"attachment.vpc-id": [vpc_id]}) if vpc_id else []
    if attached:
        gateway = attached[0]
        changed = update_tags(module, ec2, gateway["InternetGatewayId"], tags_of(gateway), tags, module.params["purge_tags"])[0]
        return changed, gateway["InternetGatewayId"]
    # None attached: reuse a detached one of ours (an interrupted run created it), or create one.
    detached = [g for g in find_gateways(ec2, **{"tag:Name": [name]}) if not attached_to(g) and is_ours(g, tags)]
    if module.check_mode or not vpc_id:
        return True, detached[0]["InternetGatewayId"] if detached else None
    if detached:
        gateway_id = detached[0]["InternetGatewayId"]
    else:
        gateway_id = ec2.create_internet_gateway(
            aws_retry=True, TagSpecifications=boto3_tag_specifications(tags, ["internet-gateway"]))["InternetGateway"]["InternetGatewayId"]
    try:
        call(ec2.attach_internet_gateway, InternetGatewayId=gateway_id, VpcId=vpc_id)
    except is_boto3_error_code("Resource.AlreadyAssociated"):
        # A resent attach whose first attempt went through: fine if it is attached to this VPC.
        if vpc_id not in attached_to(find_gateways(ec2, **{"internet-gateway-id": [gateway_id]})[0]):
            raise
    # A resent CreateInternetGateway (no client token) leaves a detached twin: heal it now.
    for gateway in find_gateways(ec2, **{"tag:Name": [name]}):
        other = gateway["InternetGatewayId"]
        if other != gateway_id and not attached_to(gateway) and is_ours(gateway, tags):
            healing.remove("internet gateway", other, name, f"a detached duplicate of {gateway_id}",
                           lambda other=other: ec2.delete_internet_gateway(aws_retry=True, InternetGatewayId=other))
    return True, gateway_id


def ensure_present(module, ec2, healing):
    name, cidr = module.params["name"], module.params["cidr_block"]
    desired_tags = dict(module.params["tags"] or {})
    tags = dict(desired_tags, Name=name)
    vpcs = find_vpcs(ec2, name)
    other_cidr = [v for v in vpcs if v["CidrBlock"] != cidr]
    if other_cidr and len(other_cidr) == len(vpcs):
        module.fail_json(msg=f"VPC {name} ({other_cidr[0]['VpcId']}) has the range {other_cidr[0]['CidrBlock']}, not {cidr}; "
                             "a VPC's range cannot change: tear the network down first.")
    vpcs = [v for v in vpcs if v["CidrBlock"] == cidr]
    created = False
    if not vpcs and not module.check_mode:
        call(ec2.create_vpc, CidrBlock=cidr, TagSpecifications=boto3_tag_specifications(tags, ["vpc"]))
        created = True
        # Read back by name: a resend of CreateVpc after a lost answer shows up here and is healed.
        vpcs, seen = wait_until(lambda: [v for v in find_vpcs(ec2, name) if v["CidrBlock"] == cidr], bool, CONSISTENCY_TIMEOUT)
        if not seen:
            module.fail_json(msg=f"VPC {name} was created but AWS did not show it within {CONSISTENCY_TIMEOUT} s.")
    vpc = choose(module, ec2, vpcs, tags, healing)
    before = {}
    if vpc and not created:
        before = {"id": vpc["VpcId"], "cidr_block": vpc["CidrBlock"], "tags": tags_of(vpc)}
    vpc_id = vpc["VpcId"] if vpc else None
    changed = created or vpc is None
    if vpc and not created:
        tags_changed, after_tags = update_tags(module, ec2, vpc_id, tags_of(vpc), tags, module.params["purge_tags"])
        changed |= tags_changed
    else:
        after_tags = tags
    attributes_changed, attributes_before, attributes = ensure_attributes(module, ec2, vpc_id, created)
    if before:
        before.update(attributes_before)
    changed |= attributes_changed
    after = dict({"cidr_block": cidr, "tags": after_tags}, **attributes)
    if vpc_id:
        after["id"] = vpc_id
    if module.params["internet_gateway_name"]:
        gateway_changed, gateway_id = ensure_gateway(module, ec2, vpc_id, desired_tags, healing)
        changed |= gateway_changed
        if gateway_id:
            after["internet_gateway_id"] = gateway_id
            if not gateway_changed and before:
                before["internet_gateway_id"] = gateway_id
    return changed or healing.changed, before, after


def ensure_absent(module, ec2):
    vpcs = find_vpcs(ec2, module.params["name"])
    if not vpcs:
        return False, {}, {}
    before = {"ids": [v["VpcId"] for v in vpcs]}
    if module.check_mode:
        return True, before, {}
    for vpc in vpcs:
        for gateway in find_gateways(ec2, **{"attachment.vpc-id": [vpc["VpcId"]]}):
            try:
                ec2.detach_internet_gateway(aws_retry=True, InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc["VpcId"])
            except is_boto3_error_code("Gateway.NotAttached"):
                pass
            ec2.delete_internet_gateway(aws_retry=True, InternetGatewayId=gateway["InternetGatewayId"])
        delete_vpc(module, ec2, vpc["VpcId"])
    # Detached gateways of ours (an interrupted run's) go too.
    name = module.params["internet_gateway_name"]
    if name:
        tags = dict(module.params["tags"] or {}, Name=name)
        for gateway in find_gateways(ec2, **{"tag:Name": [name]}):
            if not attached_to(gateway) and is_ours(gateway, tags):
                ec2.delete_internet_gateway(aws_retry=True, InternetGatewayId=gateway["InternetGatewayId"])
    return True, before, {}


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            name=dict(type="str", required=True),
            cidr_block=dict(type="str"),
            dns_support=dict(type="bool", default=True),
            dns_hostnames=dict(type="bool", default=True),
            internet_gateway_name=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["cidr_block"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    healing = Healing(module)
    with aws_errors(module, f"VPC {module.params['name']}"):
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, ec2, healing)
        else:
            changed, before, after = ensure_absent(module, ec2)
    exit_with(module, changed, before, after, vpc=after, **healing.result())


if __name__ == "__main__":
    main()
