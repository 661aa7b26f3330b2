#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_nat_gateway
short_description: A NAT gateway and its Elastic IP, found by name, never duplicated
version_added: 0.1.0
description:
  - Ensures one NAT gateway named O(name) in O(subnet_id), with an Elastic IP tagged with the
    same name. The Elastic IP is allocated once and reused, also after an interrupted run that
    allocated it but never created the gateway.
  - Unlike M(amazon.aws.ec2_vpc_nat_gateway), identity is the C(Name) tag, so a rerun never
    allocates a second address, and creation carries a client token so a retried call cannot
    create a second gateway.
  - O(wait=false) returns as soon as the gateway is pending, so independent work goes on while
    AWS brings it up (1-2 minutes).
options:
  name:
    description: Value of the C(Name) tag of the gateway and of its Elastic IP.
    type: str
    required: true
  subnet_id:
    description: Public subnet for the gateway. Required with O(state=present).
    type: str
  state:
    description: Whether the gateway (and its Elastic IP) should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until the gateway is C(available).
      - With O(state=absent), the gateway is always waited for until deleted, because its
        Elastic IP cannot be released before.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: NAT gateway for the first AZ, without waiting for it
  stream_sales.platform.ec2_nat_gateway:
    name: stream-sales-dev-nat-us-east-1a
    subnet_id: subnet-0123456789abcdef0
    tags:
      Environment: dev
    wait: false
"""

RETURN = r"""
nat_gateway:
  description: The gateway (empty when absent).
  returned: always
  type: dict
  contains:
    nat_gateway_id:
      description: Its ID.
      type: str
      sample: nat-0123456789abcdef0
    state:
      description: pending, available, deleting, deleted.
      type: str
    allocation_id:
      description: The Elastic IP's allocation ID.
      type: str
    public_ip:
      description: The Elastic IP.
      type: str
    subnet_id:
      description: Its subnet.
      type: str
    tags:
      description: Its tags.
      type: dict
"""

import hashlib

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.emulator import release_nat_address
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after

LIVE_STATES = ["pending", "available"]


def find_gateway(ec2, name):
    gateways = paginate(
        ec2, "describe_nat_gateways", "NatGateways",
        Filter=[{"Name": "tag:Name", "Values": [name]}, {"Name": "state", "Values": LIVE_STATES}],
    )
    # Identity is the Name tag: check it here too, so a backend that ignores tag filters
    # (the emulator does) can never make us adopt another environment's gateway.
    gateways = [g for g in gateways if boto3_tag_list_to_ansible_dict(g.get("Tags", [])).get("Name") == name
                and g["State"] in LIVE_STATES]
    return gateways[0] if gateways else None


def find_eips(ec2, name):
    addresses = ec2.describe_addresses(aws_retry=True, Filters=[{"Name": "tag:Name", "Values": [name]}])["Addresses"]
    return [a for a in addresses if boto3_tag_list_to_ansible_dict(a.get("Tags", [])).get("Name") == name]


def describe(gateway):
    if not gateway:
        return {}
    addr = (gateway.get("NatGatewayAddresses") or [{}])[0]
    return {
        "nat_gateway_id": gateway["NatGatewayId"],
        "state": gateway["State"],
        "subnet_id": gateway.get("SubnetId"),
        "vpc_id": gateway.get("VpcId"),
        "allocation_id": addr.get("AllocationId"),
        "public_ip": addr.get("PublicIp"),
        "tags": boto3_tag_list_to_ansible_dict(gateway.get("Tags", [])),
    }


def wait_for(module, ec2, waiter_name, gateway_id):
    timeout = module.params["wait_timeout"]
    try:
        ec2.get_waiter(waiter_name).wait(
            NatGatewayIds=[gateway_id], WaiterConfig={"Delay": 5, "MaxAttempts": max(1, timeout // 5)}
        )
    except botocore.exceptions.WaiterError as e:
        module.fail_json_aws(e, msg=f"Timed out waiting for NAT gateway {gateway_id} ({waiter_name})")


def ensure_present(module, ec2):
    name, subnet_id, desired_tags = module.params["name"], module.params["subnet_id"], module.params["tags"]
    tags = dict(desired_tags or {}, Name=name)
    gateway = find_gateway(ec2, name)
    if gateway:
        if gateway.get("SubnetId") != subnet_id:
            module.fail_json(
                msg=f"NAT gateway {name} ({gateway['NatGatewayId']}) is in {gateway.get('SubnetId')}, not {subnet_id}; "
                "a NAT gateway cannot move: delete it (state=absent) first."
            )
        current = describe(gateway)
        to_set, to_remove = tag_diff(current["tags"], tags, module.params["purge_tags"])
        changed = bool(to_set or to_remove)
        if changed and not module.check_mode:
            if to_remove:
                ec2.delete_tags(aws_retry=True, Resources=[gateway["NatGatewayId"]], Tags=[{"Key": k} for k in to_remove])
            if to_set:
                ec2.create_tags(aws_retry=True, Resources=[gateway["NatGatewayId"]], Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])
        after = dict(current, tags=tags_after(current["tags"], tags, module.params["purge_tags"]))
        if module.params["wait"] and gateway["State"] == "pending" and not module.check_mode:
            wait_for(module, ec2, "nat_gateway_available", gateway["NatGatewayId"])
            after["state"] = "available"
        return changed, current, after

    planned = {"name": name, "subnet_id": subnet_id, "tags": tags, "state": "pending"}
    if module.check_mode:
        return True, {}, planned

    # Reuse the address a previous (interrupted) run allocated for this gateway.
    eips = [a for a in find_eips(ec2, name) if not a.get("AssociationId")]
    if eips:
        allocation_id = eips[0]["AllocationId"]
    else:
        allocation_id = ec2.allocate_address(
            aws_retry=True, Domain="vpc", TagSpecifications=boto3_tag_specifications(tags, ["elastic-ip"])
        )["AllocationId"]
    # Same name, subnet and address give the same token: a retried call is idempotent.
    token = hashlib.sha256(f"{name}|{subnet_id}|{allocation_id}".encode()).hexdigest()[:64]
    gateway = ec2.create_nat_gateway(
        aws_retry=True, SubnetId=subnet_id, AllocationId=allocation_id, ClientToken=token,
        TagSpecifications=boto3_tag_specifications(tags, ["natgateway"]),
    )["NatGateway"]
    if module.params["wait"]:
        wait_for(module, ec2, "nat_gateway_available", gateway["NatGatewayId"])
        gateway = find_gateway(ec2, name) or gateway
    return True, {}, describe(gateway)


def ensure_absent(module, ec2):
    name = module.params["name"]
    gateway = find_gateway(ec2, name)
    eips = find_eips(ec2, name)
    if not gateway and not eips:
        return False, {}, {}
    before = describe(gateway) if gateway else {"name": name, "elastic_ips": [a["AllocationId"] for a in eips]}
    if module.check_mode:
        return True, before, {}
    if gateway:
        ec2.delete_nat_gateway(aws_retry=True, NatGatewayId=gateway["NatGatewayId"])
        # The address stays associated until the gateway is gone.
        wait_for(module, ec2, "nat_gateway_deleted", gateway["NatGatewayId"])
    for addr in find_eips(ec2, name):
        if release_nat_address(module, ec2, addr):
            addr = dict(addr, AssociationId=None)
        if addr.get("AssociationId"):
            module.fail_json(msg=f"Elastic IP {addr['PublicIp']} tagged {name} is still associated ({addr['AssociationId']}).")
        ec2.release_address(aws_retry=True, AllocationId=addr["AllocationId"])
    return True, before, {}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            subnet_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["subnet_id"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    try:
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, ec2)
        else:
            changed, before, after = ensure_absent(module, ec2)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage NAT gateway {module.params['name']}")
    result = dict(changed=changed, nat_gateway=after)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
