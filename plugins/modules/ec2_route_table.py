#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_route_table
short_description: A VPC route table found by its Name tag, with exact routes and subnet associations
version_added: 0.1.0
description:
  - Ensures one route table named O(name) (its C(Name) tag) in O(vpc_id), with exactly the
    routes of O(routes) and the subnet associations of O(subnets).
  - Unlike M(amazon.aws.ec2_vpc_route_table), it does not sleep after a change; it polls
    until AWS shows the new table and the changed routes and associations, and returns as soon
    as they are visible.
  - Identity is the C(Name) tag only, so changing other tags never creates a second table.
  - The C(local) route, propagated routes and the routes a VPC gateway endpoint adds (target
    C(vpce-...), destination a prefix list) are never touched, also with O(purge_routes=true);
    manage endpoint routes with the endpoint's route table IDs.
  - A subnet associated with another route table is moved to this one.
options:
  vpc_id:
    description: The VPC of the route table.
    type: str
    required: true
  name:
    description:
      - Value of the table's C(Name) tag, its identity within O(vpc_id).
      - Required unless O(route_table_id) is given.
    type: str
  route_table_id:
    description:
      - Identify the table by its ID instead of O(name). Only with O(state=absent), to remove a
        table whatever its tags.
    type: str
  state:
    description: Whether the route table should exist.
    type: str
    choices: [present, absent]
    default: present
  routes:
    description:
      - Routes the table must have, besides the ones it never touches (see description).
      - Omitted, routes are left alone; V([]) means none.
    type: list
    elements: dict
    suboptions:
      dest:
        description: Destination IPv4 or IPv6 CIDR block.
        type: str
        required: true
      gateway_id:
        description: Internet gateway or virtual private gateway ID (a C(nat-...) ID is taken as O(routes[].nat_gateway_id)).
        type: str
      nat_gateway_id:
        description: NAT gateway ID.
        type: str
  purge_routes:
    description: Delete the routes the table has beyond O(routes).
    type: bool
    default: true
  subnets:
    description:
      - IDs of the subnets to associate with the table.
      - Omitted, associations are left alone; V([]) means none.
    type: list
    elements: str
  purge_subnets:
    description: Disassociate the subnets associated beyond O(subnets).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
notes:
  - The C(Name) tag is always set to O(name), whatever O(tags) and O(purge_tags) say.
  - Waits for AWS to show the changes for at most 60 seconds, then warns and returns.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Public route table, default route through the internet gateway
  stream_sales.platform.ec2_route_table:
    vpc_id: vpc-0123456789abcdef0
    name: stream-sales-dev-public
    subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
    routes:
      - dest: 0.0.0.0/0
        gateway_id: igw-0123456789abcdef0
    tags:
      Environment: dev

- name: Isolated route table, no route out (the S3 endpoint adds its own route)
  stream_sales.platform.ec2_route_table:
    vpc_id: vpc-0123456789abcdef0
    name: stream-sales-dev-isolated
    subnets: [subnet-0123456789abcdef2]
    routes: []

- name: Remove a route table by ID
  stream_sales.platform.ec2_route_table:
    vpc_id: vpc-0123456789abcdef0
    route_table_id: rtb-0123456789abcdef0
    state: absent
"""

RETURN = r"""
route_table:
  description:
    - The route table, as M(amazon.aws.ec2_vpc_route_table) returns it (empty when absent).
    - In check mode, a table still to be created has no RV(route_table.id).
  returned: always
  type: dict
  contains:
    id:
      description: Its ID (same as RV(route_table.route_table_id)).
      returned: when it exists
      type: str
      sample: rtb-0123456789abcdef0
    route_table_id:
      description: Its ID.
      returned: when it exists
      type: str
      sample: rtb-0123456789abcdef0
    vpc_id:
      description: Its VPC.
      returned: always
      type: str
      sample: vpc-0123456789abcdef0
    routes:
      description: All its routes, also the C(local) and endpoint ones.
      returned: always
      type: list
      elements: dict
      sample:
        - destination_cidr_block: 10.0.0.0/16
          gateway_id: local
          origin: CreateRouteTable
          state: active
        - destination_cidr_block: 0.0.0.0/0
          nat_gateway_id: nat-0123456789abcdef0
          origin: CreateRoute
          state: active
    associations:
      description: Its associations (subnets, gateways, the main one).
      returned: always
      type: list
      elements: dict
      sample:
        - route_table_association_id: rtbassoc-0123456789abcdef0
          subnet_id: subnet-0123456789abcdef0
          main: false
    tags:
      description: Its tags.
      returned: always
      type: dict
      sample:
        Name: stream-sales-dev-public
"""

import ipaddress
import uuid

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

# An object created a moment ago (this table, a gateway, a subnet) may not be known yet to
# the call that uses it: retried on these codes only, with backoff; no wait when it is known.
NOT_YET_VISIBLE = AWSRetry.jittered_backoff(
    retries=6, delay=1, max_delay=8,
    catch_extra_error_codes=["InvalidRouteTableID.NotFound", "InvalidGatewayID.NotFound",
                             "InvalidNatGatewayID.NotFound", "InvalidSubnetID.NotFound",
                             "InvalidAssociationID.NotFound", "DependencyViolation"],
)
CONSISTENCY_TIMEOUT = 60
TARGET_KEYS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "InstanceId",
               "NetworkInterfaceId", "CarrierGatewayId", "LocalGatewayId", "EgressOnlyInternetGatewayId",
               "CoreNetworkArn", "VpcEndpointId")
LIVE_ASSOCIATION = ("associated", "associating")


@NOT_YET_VISIBLE
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def route_dest(route):
    return route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock") or route.get("DestinationPrefixListId")


def route_target(route):
    for key in TARGET_KEYS:
        if route.get(key):
            return key, route[key]
    return None, None


def is_managed(route):
    """Routes this module adds, replaces and purges: created ones to a CIDR, not via an endpoint."""
    if route.get("Origin") != "CreateRoute" or route.get("DestinationPrefixListId"):
        return False
    gateway = route.get("GatewayId") or ""
    return gateway != "local" and not gateway.startswith("vpce-") and not route.get("VpcEndpointId")


def live_subnet_associations(table):
    return {
        a["SubnetId"]: a["RouteTableAssociationId"]
        for a in table.get("Associations", [])
        if a.get("SubnetId") and not a.get("Main")
        and (a.get("AssociationState") or {}).get("State", "associated") in LIVE_ASSOCIATION
    }


def desired_routes(module):
    """{dest: (target key, target id)} from the routes option, validated before any call."""
    if module.params["routes"] is None:
        return None
    wanted = {}
    for i, spec in enumerate(module.params["routes"]):
        try:
            dest = str(ipaddress.ip_network(spec["dest"], strict=True))
        except ValueError as e:
            module.fail_json(msg=f"routes[{i}].dest {spec['dest']!r} is not a CIDR block: {e}")
        gateway, nat = spec.get("gateway_id"), spec.get("nat_gateway_id")
        if gateway and gateway.startswith("nat-") and not nat:
            gateway, nat = None, gateway
        if bool(gateway) == bool(nat):
            module.fail_json(msg=f"routes[{i}] ({dest}) needs exactly one of gateway_id and nat_gateway_id.")
        if gateway and (gateway == "local" or gateway.startswith("vpce-")):
            module.fail_json(msg=f"routes[{i}] ({dest}): {gateway} routes are managed by AWS, not by this module.")
        if dest in wanted:
            module.fail_json(msg=f"routes[{i}]: destination {dest} is given twice.")
        wanted[dest] = ("NatGatewayId", nat) if nat else ("GatewayId", gateway)
    return wanted


def dest_param(dest):
    key = "DestinationIpv6CidrBlock" if ipaddress.ip_network(dest).version == 6 else "DestinationCidrBlock"
    return {key: dest}


def route_params(dest, target):
    return dict(dest_param(dest), **{target[0]: target[1]})


def route_summary(dest, target):
    return {"dest": dest, {"GatewayId": "gateway_id", "NatGatewayId": "nat_gateway_id"}.get(target[0], target[0]): target[1]}


def summary(table, name, vpc_id):
    """The state the diff shows: managed routes, associated subnets, tags."""
    if not table:
        return {}
    routes = {route_dest(r): route_target(r) for r in table.get("Routes", []) if is_managed(r)}
    return {
        "name": name,
        "vpc_id": vpc_id,
        "route_table_id": table.get("RouteTableId"),
        "routes": [route_summary(d, t) for d, t in sorted(routes.items())],
        "subnets": sorted(live_subnet_associations(table)),
        "tags": boto3_tag_list_to_ansible_dict(table.get("Tags", [])),
    }


def describe_result(table):
    """The table in amazon.aws.ec2_vpc_route_table's return shape."""
    if not table:
        return {}
    result = camel_dict_to_snake_dict(table, ignore_list=["Tags"])
    result["tags"] = boto3_tag_list_to_ansible_dict(table.get("Tags", []))
    result["id"] = table["RouteTableId"]
    return result


def find_by_name(ec2, module, vpc_id, name):
    tables = paginate(ec2, "describe_route_tables", "RouteTables",
                      Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "tag:Name", "Values": [name]}])
    # Check the tag here too: a backend that ignored the tag filter must not make us adopt another table.
    tables = [t for t in tables if boto3_tag_list_to_ansible_dict(t.get("Tags", [])).get("Name") == name
              and t.get("VpcId") == vpc_id]
    if len(tables) > 1:
        module.fail_json(msg=f"More than one route table in {vpc_id} is named {name}: "
                         f"{', '.join(t['RouteTableId'] for t in tables)}; delete the extra ones.")
    return tables[0] if tables else None


def find_by_id(ec2, route_table_id):
    try:
        tables = ec2.describe_route_tables(aws_retry=True, RouteTableIds=[route_table_id])["RouteTables"]
    except is_boto3_error_code("InvalidRouteTableID.NotFound"):
        return None
    return tables[0] if tables else None


def other_associations(ec2, vpc_id, route_table_id, subnets):
    """{subnet: association ID} of the given subnets' associations with other tables."""
    if not subnets:
        return {}
    tables = paginate(ec2, "describe_route_tables", "RouteTables",
                      Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                               {"Name": "association.subnet-id", "Values": sorted(subnets)}])
    found = {}
    for table in tables:
        if table["RouteTableId"] == route_table_id:
            continue
        for subnet, association_id in live_subnet_associations(table).items():
            if subnet in subnets:
                found[subnet] = association_id
    return found


def plan(module, table, wanted_routes):
    """(route creates, route replaces, route deletes, subnet associates, subnet disassociates)."""
    current = {route_dest(r): r for r in (table or {}).get("Routes", [])}
    creates, replaces, deletes = [], [], []
    if wanted_routes is not None:
        for dest, target in sorted(wanted_routes.items()):
            route = current.get(dest)
            if route is None:
                creates.append((dest, target))
            elif route_target(route) != target:
                if not is_managed(route):
                    module.fail_json(msg=f"Route {dest} of {table['RouteTableId']} is not one this module can replace "
                                     f"(origin {route.get('Origin')}, target {route_target(route)[1]}).")
                replaces.append((dest, target))
        if module.params["purge_routes"]:
            deletes = [d for d, r in sorted(current.items()) if is_managed(r) and d not in wanted_routes]
    associates, disassociates = [], []
    if module.params["subnets"] is not None:
        wanted_subnets = sorted(set(module.params["subnets"]))
        associated = live_subnet_associations(table or {})
        associates = [s for s in wanted_subnets if s not in associated]
        if module.params["purge_subnets"]:
            disassociates = [(s, a) for s, a in sorted(associated.items()) if s not in wanted_subnets]
    return creates, replaces, deletes, associates, disassociates


def planned_summary(module, before, wanted_routes, desired_tags):
    """What summary() will show once the plan is applied."""
    if not before:
        before = {"name": module.params["name"], "vpc_id": module.params["vpc_id"], "routes": [], "subnets": [], "tags": {}}
    after = dict(before)
    if wanted_routes is not None:
        routes = {} if module.params["purge_routes"] else {r["dest"]: r for r in before["routes"]}
        routes.update({d: route_summary(d, t) for d, t in wanted_routes.items()})
        after["routes"] = [routes[d] for d in sorted(routes)]
    if module.params["subnets"] is not None:
        subnets = set(module.params["subnets"])
        if not module.params["purge_subnets"]:
            subnets |= set(before["subnets"])
        after["subnets"] = sorted(subnets)
    after["tags"] = tags_after(before["tags"], desired_tags, module.params["purge_tags"])
    return after


def ensure_present(module, ec2):
    vpc_id, name = module.params["vpc_id"], module.params["name"]
    wanted_routes = desired_routes(module)
    table = find_by_name(ec2, module, vpc_id, name)
    # Tags to converge to (None: leave them alone); a new table gets at least its Name.
    desired_tags = None if module.params["tags"] is None else dict(module.params["tags"], Name=name)
    if not table:
        desired_tags = desired_tags or {"Name": name}
    before = summary(table, name, vpc_id)
    after = planned_summary(module, before, wanted_routes, desired_tags)
    creates, replaces, deletes, associates, disassociates = plan(module, table, wanted_routes)
    to_set, to_remove = tag_diff(before.get("tags", {}), desired_tags, module.params["purge_tags"]) if table else ({}, [])
    changed = not table or bool(creates or replaces or deletes or associates or disassociates or to_set or to_remove)
    if not changed:
        return False, before, before, describe_result(table)
    if module.check_mode:
        planned = describe_result(table) if table else {"vpc_id": vpc_id, "routes": [], "associations": [], "tags": desired_tags}
        return True, before, after, planned

    if not table:
        table = call(ec2.create_route_table, VpcId=vpc_id, ClientToken=uuid.uuid4().hex,
                     TagSpecifications=boto3_tag_specifications(desired_tags, ["route-table"]))["RouteTable"]
        table_id = table["RouteTableId"]
        # Describe until the new table is visible: the calls below need AWS to know it.
        table, seen = wait_until(lambda: find_by_id(ec2, table_id), lambda t: t is not None, CONSISTENCY_TIMEOUT)
        if not seen:
            module.fail_json(msg=f"Route table {table_id} was created but AWS did not show it within {CONSISTENCY_TIMEOUT} s.")
    table_id = table["RouteTableId"]

    for dest, target in replaces:
        call(ec2.replace_route, RouteTableId=table_id, **route_params(dest, target))
    for dest in deletes:
        call(ec2.delete_route, RouteTableId=table_id, **dest_param(dest))
    for dest, target in creates:
        call(ec2.create_route, RouteTableId=table_id, **route_params(dest, target))
    for _subnet, association_id in disassociates:
        call(ec2.disassociate_route_table, AssociationId=association_id)
    elsewhere = other_associations(ec2, vpc_id, table_id, set(associates))
    for subnet in associates:
        if subnet in elsewhere:
            call(ec2.replace_route_table_association, AssociationId=elsewhere[subnet], RouteTableId=table_id)
        else:
            call(ec2.associate_route_table, RouteTableId=table_id, SubnetId=subnet)
    if to_remove:
        call(ec2.delete_tags, Resources=[table_id], Tags=[{"Key": k} for k in to_remove])
    if to_set:
        call(ec2.create_tags, Resources=[table_id], Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])

    # Return as soon as AWS shows what was done: no fixed sleep.
    def done(t):
        return t is not None and {k: v for k, v in summary(t, name, vpc_id).items() if k != "route_table_id"} == \
            {k: v for k, v in after.items() if k != "route_table_id"}
    final, seen = wait_until(lambda: find_by_id(ec2, table_id), done, CONSISTENCY_TIMEOUT)
    if not seen:
        module.warn(f"Route table {table_id} was changed, but AWS did not show all changes within {CONSISTENCY_TIMEOUT} s.")
    after = summary(final, name, vpc_id) if final else dict(after, route_table_id=table_id)
    return True, before, after, describe_result(final)


def ensure_absent(module, ec2):
    vpc_id = module.params["vpc_id"]
    if module.params["route_table_id"]:
        table = find_by_id(ec2, module.params["route_table_id"])
        if table and table.get("VpcId") != vpc_id:
            module.fail_json(msg=f"Route table {module.params['route_table_id']} is in {table.get('VpcId')}, not {vpc_id}.")
    else:
        table = find_by_name(ec2, module, vpc_id, module.params["name"])
    if not table:
        return False, {}, {}, {}
    name = boto3_tag_list_to_ansible_dict(table.get("Tags", [])).get("Name")
    before = summary(table, name, vpc_id)
    if any(a.get("Main") for a in table.get("Associations", [])):
        module.fail_json(msg=f"Route table {table['RouteTableId']} is the main route table of {vpc_id}; "
                         "it goes with the VPC.")
    if module.check_mode:
        return True, before, {}, {}
    for association in table.get("Associations", []):
        if (association.get("AssociationState") or {}).get("State", "associated") in LIVE_ASSOCIATION:
            call(ec2.disassociate_route_table, AssociationId=association["RouteTableAssociationId"])
    try:
        call(ec2.delete_route_table, RouteTableId=table["RouteTableId"])
    except is_boto3_error_code("InvalidRouteTableID.NotFound"):
        pass
    return True, before, {}, {}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            name=dict(type="str"),
            route_table_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            routes=dict(type="list", elements="dict", options=dict(
                dest=dict(type="str", required=True),
                gateway_id=dict(type="str"),
                nat_gateway_id=dict(type="str"),
            )),
            purge_routes=dict(type="bool", default=True),
            subnets=dict(type="list", elements="str"),
            purge_subnets=dict(type="bool", default=True),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_one_of=[("name", "route_table_id")],
        mutually_exclusive=[("name", "route_table_id")],
        required_if=[("state", "present", ["name"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    try:
        if module.params["state"] == "present":
            changed, before, after, table = ensure_present(module, ec2)
        else:
            changed, before, after, table = ensure_absent(module, ec2)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage route table {module.params['name'] or module.params['route_table_id']}")
    result = dict(changed=changed, route_table=table)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
