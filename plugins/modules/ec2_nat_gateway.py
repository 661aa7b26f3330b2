#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_nat_gateway
short_description: NAT gateways with their Elastic IPs, found by name, never duplicated
version_added: 0.1.0
description:
  - Ensures one NAT gateway per item of O(gateways), named by its C(Name) tag, in its public
    subnet, with an Elastic IP tagged with the same name.
  - What M(amazon.aws.ec2_vpc_nat_gateway) lacks (measured). Identity, it
    finds a gateway by subnet, not by name, and allocates an untagged Elastic IP before creating
    the gateway; a run interrupted in between leaves an address nothing can find again, and the
    rerun allocates another. Here the address carries the gateway's name and an interrupted
    run's address is reused.
  - Calls, it handles one gateway per task and made 3 calls per gateway on a no-change run
    (DescribeNatGateways, 2 DescribeTags). Here one DescribeNatGateways and one
    DescribeAddresses cover all gateways, tags included.
  - Healing, gateways named alike beyond one (an older interrupted run) that no route uses are
    deleted, and Elastic IPs of ours that no gateway holds are released, with a warning each.
  - Every CreateNatGateway carries its own client token, so a call resent after a lost answer
    returns the gateway the first one created.
  - O(wait=false) returns as soon as the gateways are pending, so independent work goes on while
    AWS brings them up (1-2 minutes); M(stream_sales.platform.ec2_route_table) waits for a gateway
    only when it adds a route to it.
options:
  gateways:
    description:
      - The gateways. With O(state=absent), those to delete (O(gateways[].subnet_id) unused);
        omitted, every gateway that carries all of O(tags).
    type: list
    elements: dict
    suboptions:
      name:
        description: Value of the C(Name) tag of the gateway and of its Elastic IP.
        type: str
        required: true
      subnet_id:
        description: Its public subnet. Required with O(state=present).
        type: str
  state:
    description: Whether the gateways (and their Elastic IPs) should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until every gateway is C(available).
      - With O(state=absent), gateways are always waited for until deleted, because their
        Elastic IPs cannot be released before.
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
- name: NAT gateways of the first two AZs, without waiting for them
  stream_sales.platform.ec2_nat_gateway:
    gateways:
      - {name: stream-sales-prod-nat-us-east-1a, subnet_id: subnet-0123456789abcdef0}
      - {name: stream-sales-prod-nat-us-east-1b, subnet_id: subnet-0123456789abcdef1}
    tags:
      Environment: production
"""

RETURN = r"""
nat_gateways:
  description: The gateways, in the order of O(gateways) (empty when absent).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Its name.
      type: str
    nat_gateway_id:
      description: Its ID (not in check mode before it exists).
      type: str
      sample: nat-0123456789abcdef0
    state:
      description: pending, available.
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
healed:
  description: Duplicate gateways deleted and stray Elastic IPs released (in check mode, that would be), each with why.
  returned: always
  type: list
  elements: dict
duplicates_kept:
  description: Duplicate gateways left in place because routes use them, each with why.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import Healing
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import client_token
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import is_ours
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import name_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import not_yet_visible
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import tags_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import update_tags
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

LIVE_STATES = ["pending", "available"]
NEW = not_yet_visible("InvalidSubnetID.NotFound", "InvalidAllocationID.NotFound", "InvalidNatGatewayID.NotFound")


@NEW
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def tag_filter(module, names):
    if names is not None:
        return [{"Name": "tag:Name", "Values": sorted(set(names))}]
    return [{"Name": f"tag:{k}", "Values": [v]} for k, v in sorted((module.params["tags"] or {}).items())]


def find_gateways(ec2, filters, states=None):
    return sorted(paginate(ec2, "describe_nat_gateways", "NatGateways",
                           Filter=filters + [{"Name": "state", "Values": states or LIVE_STATES}]),
                  key=lambda g: (g["State"] != "available", str(g.get("CreateTime")), g["NatGatewayId"]))


def find_addresses(ec2, filters):
    return ec2.describe_addresses(aws_retry=True, Filters=filters)["Addresses"]


def allocation_of(gateway):
    return ((gateway or {}).get("NatGatewayAddresses") or [{}])[0].get("AllocationId")


def describe(name, gateway):
    addr = (gateway.get("NatGatewayAddresses") or [{}])[0]
    return {
        "name": name,
        "nat_gateway_id": gateway["NatGatewayId"],
        "state": gateway["State"],
        "subnet_id": gateway.get("SubnetId"),
        "vpc_id": gateway.get("VpcId"),
        "allocation_id": addr.get("AllocationId"),
        "public_ip": addr.get("PublicIp"),
        "tags": tags_of(gateway),
    }


def routed(ec2, gateway_ids):
    """The gateways among gateway_ids that a route table sends traffic to."""
    if not gateway_ids:
        return set()
    tables = paginate(ec2, "describe_route_tables", "RouteTables",
                      Filters=[{"Name": "route.nat-gateway-id", "Values": sorted(gateway_ids)}])
    return {r["NatGatewayId"] for t in tables for r in t.get("Routes", []) if r.get("NatGatewayId") in gateway_ids}


def free_address(spec, tags, addresses):
    """An address of ours an interrupted run left for this gateway (tagged with its name), or None."""
    free = [a for a in addresses if name_of(a) == spec["name"] and not a.get("AssociationId") and is_ours(a, tags)]
    return free[0]["AllocationId"] if free else None


def create(module, ec2, spec, tags, addresses, healing):
    """Create one gateway, on the address an interrupted run left or a new one."""
    allocation_id = free_address(spec, tags, addresses)
    if allocation_id is None:
        allocation_id = ec2.allocate_address(
            aws_retry=True, Domain="vpc", TagSpecifications=boto3_tag_specifications(tags, ["elastic-ip"]))["AllocationId"]
    gateway = call(ec2.create_nat_gateway, SubnetId=spec["subnet_id"], AllocationId=allocation_id,
                   ClientToken=client_token(), TagSpecifications=boto3_tag_specifications(tags, ["natgateway"]))["NatGateway"]
    # AllocateAddress takes no client token: a resent one leaves a second address, released now
    # (older strays are heal()'s).
    known = {a["AllocationId"] for a in addresses} | {allocation_id}
    for address in find_addresses(ec2, tag_filter(module, [spec["name"]])):
        if address["AllocationId"] not in known and not address.get("AssociationId") and is_ours(address, tags):
            release(module, ec2, address, f"not held by {gateway['NatGatewayId']} (a resent AllocateAddress)", healing)
    return gateway


def release(module, ec2, address, why, healing):
    healing.remove("Elastic IP", address["AllocationId"], name_of(address), why,
                   lambda: ec2.release_address(aws_retry=True, AllocationId=address["AllocationId"]))


def ensure_present(module, ec2, healing):
    specs = module.params["gateways"] or []
    purge = module.params["purge_tags"]
    names = [s["name"] for s in specs]
    for i, spec in enumerate(specs):
        if not spec.get("subnet_id"):
            module.fail_json(msg=f"gateways[{i}] ({spec['name']}) needs its subnet_id.")
    if len(set(names)) != len(names):
        module.fail_json(msg="gateways: each name may be given once.")
    live = find_gateways(ec2, tag_filter(module, names)) if names else []
    addresses = find_addresses(ec2, tag_filter(module, names)) if names else []
    changed, before, after = False, [], []
    duplicates = []
    for spec in specs:
        name = spec["name"]
        tags = dict(module.params["tags"] or {}, Name=name)
        mine = [g for g in live if name_of(g) == name]
        keep = next((g for g in mine if g.get("SubnetId") == spec["subnet_id"]), None)
        if mine and keep is None:
            module.fail_json(msg=f"NAT gateway {name} ({mine[0]['NatGatewayId']}) is in {mine[0].get('SubnetId')}, not "
                                 f"{spec['subnet_id']}; a NAT gateway cannot move: delete it (state=absent) first.")
        if keep:
            duplicates += [(g, tags, keep) for g in mine if g is not keep]
            was = describe(name, keep)
            before.append(was)
            tags_changed, now_tags = update_tags(module, ec2, keep["NatGatewayId"], was["tags"], tags, purge)
            changed |= tags_changed
            after.append(dict(was, tags=now_tags))
            continue
        changed = True
        if module.check_mode:
            after.append({"name": name, "subnet_id": spec["subnet_id"], "tags": tags, "state": "pending",
                          "allocation_id": free_address(spec, tags, addresses)})
        else:
            after.append(describe(name, create(module, ec2, spec, tags, addresses, healing)))
    held = {allocation_of(g) for g in live} | {g.get("allocation_id") for g in after}
    heal(module, ec2, duplicates, addresses, held, healing)
    if module.params["wait"] and not module.check_mode:
        after = wait_available(module, ec2, after)
    return changed or healing.changed, before, after


def heal(module, ec2, duplicates, addresses, held, healing):
    """Delete duplicate gateways no route uses; release our addresses no gateway holds."""
    used = routed(ec2, {duplicate[0]["NatGatewayId"] for duplicate in duplicates})
    for gateway, tags, keep in duplicates:
        gateway_id, name = gateway["NatGatewayId"], name_of(gateway)
        if gateway_id in used:
            healing.keep("NAT gateway", gateway_id, name, f"a duplicate of {keep['NatGatewayId']} that routes still use")
        elif not is_ours(gateway, tags):
            healing.keep("NAT gateway", gateway_id, name, "a duplicate without all of our tags, so not provably ours")
        else:
            healing.remove("NAT gateway", gateway_id, name, f"a duplicate of {keep['NatGatewayId']} that no route uses",
                           lambda gateway_id=gateway_id: ec2.delete_nat_gateway(aws_retry=True, NatGatewayId=gateway_id))
    for address in addresses:
        tags = dict(module.params["tags"] or {}, Name=name_of(address))
        if address["AllocationId"] not in held and not address.get("AssociationId") and is_ours(address, tags):
            release(module, ec2, address, "an Elastic IP of ours that no NAT gateway holds (an interrupted run's)", healing)


def wait_available(module, ec2, gateways):
    ids = [g["nat_gateway_id"] for g in gateways if g.get("state") == "pending"]
    if not ids:
        return gateways
    found, ready = wait_until(
        lambda: {g["NatGatewayId"]: g for g in ec2.describe_nat_gateways(aws_retry=True, NatGatewayIds=ids)["NatGateways"]},
        lambda by_id: all(by_id[i]["State"] != "pending" for i in ids), module.params["wait_timeout"], max_delay=10)
    failed = [i for i in ids if found[i]["State"] != "available"]
    if not ready or failed:
        module.fail_json(msg=f"NAT gateways {', '.join(failed or ids)} did not become available within "
                             f"{module.params['wait_timeout']} s: {[found[i].get('FailureMessage') for i in failed or ids]}")
    return [dict(g, state="available") if g.get("nat_gateway_id") in ids else g for g in gateways]


def ensure_absent(module, ec2, healing):
    names = [s["name"] for s in module.params["gateways"]] if module.params["gateways"] is not None else None
    filters = tag_filter(module, names)
    gateways = find_gateways(ec2, filters)
    if names is None:
        gateways = [g for g in gateways if is_ours(g, module.params["tags"] or {})]
    named = {name_of(g) for g in gateways} | set(names or [])
    addresses = [a for a in find_addresses(ec2, filters) if name_of(a) in named]
    if not gateways and not addresses:
        return False, [], []
    before = [describe(name_of(g), g) for g in gateways] + [
        {"name": name_of(a), "allocation_id": a["AllocationId"]} for a in addresses]
    if module.check_mode:
        return True, before, []
    ids = [g["NatGatewayId"] for g in gateways]
    for gateway_id in ids:
        ec2.delete_nat_gateway(aws_retry=True, NatGatewayId=gateway_id)
    if ids:
        # Their addresses stay associated until they are gone; all are awaited together.
        gone = wait_until(lambda: ec2.describe_nat_gateways(aws_retry=True, NatGatewayIds=ids)["NatGateways"],
                          lambda gws: all(g["State"] in ("deleted", "failed") for g in gws),
                          module.params["wait_timeout"], max_delay=10)[1]
        if not gone:
            module.fail_json(msg=f"NAT gateways {', '.join(ids)} were not deleted within {module.params['wait_timeout']} s.")
    for address in find_addresses(ec2, filters):
        if name_of(address) not in named:
            continue
        if address.get("AssociationId"):
            module.fail_json(msg=f"Elastic IP {address['PublicIp']} tagged {name_of(address)} is still associated "
                                 f"({address['AssociationId']}).")
        ec2.release_address(aws_retry=True, AllocationId=address["AllocationId"])
    return True, before, []


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            gateways=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                subnet_id=dict(type="str"),
            )),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["gateways"])],
        required_one_of=[("gateways", "tags")],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    healing = Healing(module)
    with aws_errors(module, "NAT gateways"):
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, ec2, healing)
        else:
            changed, before, after = ensure_absent(module, ec2, healing)
    exit_with(module, changed, before, after, kind="nat_gateways", nat_gateways=after, **healing.result())


if __name__ == "__main__":
    main()
