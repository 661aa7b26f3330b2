#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_route_table
short_description: The route tables of a VPC and its gateway endpoints, converged from one DescribeRouteTables
version_added: 0.1.0
description:
  - Ensures each route table of O(route_tables) exists in O(vpc_id), identified by its C(Name) tag,
    with exactly its routes and subnet associations; and each gateway endpoint of
    O(gateway_endpoints) routes through exactly the tables it names.
  - A fork of M(amazon.aws.ec2_vpc_route_table) (10.1). Remove it when upstream (1) returns as soon
    as a change is visible instead of sleeping 5 s after every change, (2) takes a list of tables
    (it handles one per task, several Describe calls each), (3) heals tables named alike instead
    of failing on every run with "Tags provided do not identify a unique route table" (one resent
    CreateRouteTable wedged the environment), and (4) waits for a NAT gateway only when adding a
    route to it.
  - A no-change run makes one DescribeRouteTables, plus one DescribeVpcEndpoints with
    O(gateway_endpoints).
  - Resend safety. CreateRouteTable and CreateVpcEndpoint carry a client token per call; a
    CreateRoute or AssociateRouteTable resent after a lost answer (C(RouteAlreadyExists),
    C(Resource.AlreadyAssociated)) is adopted.
  - Healing. Tables named alike beyond one (an older interrupted run) are emptied of the
    associations this module moves to the kept one, then deleted when they carry all of the
    tags given here and nothing else uses them (another subnet association, the main
    association); gateway endpoints of the same service beyond one that carry all of the tags
    are deleted. Each removal is reported as a warning and in RV(healed).
  - A route to a NAT gateway still C(pending) is added once the gateway is available (AWS
    refuses it before), after everything else is done; with O(wait_for_nat=false) it is left
    for a later run and listed in RV(deferred_routes).
  - The C(local) route, propagated routes and the routes of gateway endpoints are never
    touched by O(route_tables[].routes) (endpoints are managed with O(gateway_endpoints)).
  - The gateway endpoints are here because a gateway endpoint is a route to a prefix list in
    each of its tables. M(amazon.aws.ec2_vpc_endpoint) never changes the tables of an existing
    endpoint and creates a second one when they differ.
options:
  vpc_id:
    description: The VPC.
    type: str
    required: true
  route_tables:
    description:
      - The route tables. With O(state=absent), those to delete (by name, duplicates included);
        omitted, every table of the VPC but the main one.
    type: list
    elements: dict
    suboptions:
      name:
        description: Value of the table's C(Name) tag, its identity within O(vpc_id).
        type: str
        required: true
      routes:
        description: Its routes besides the ones never touched. Omitted, left alone; V([]) means none.
        type: list
        elements: dict
        suboptions:
          dest:
            description: Destination IPv4 or IPv6 CIDR block.
            type: str
            required: true
          gateway_id:
            description: Internet gateway or virtual private gateway ID (a C(nat-...) ID is taken as a NAT gateway).
            type: str
          nat_gateway_id:
            description: NAT gateway ID.
            type: str
      subnets:
        description:
          - IDs of the subnets associated with it; a subnet associated with another table is moved.
          - Omitted, associations are left alone; V([]) means none.
        type: list
        elements: str
      tags:
        description: Tags of this table besides O(tags).
        type: dict
  gateway_endpoints:
    description:
      - Gateway endpoints (S3, DynamoDB) of the VPC and the tables they route through.
        Omitted, endpoints are left alone (with O(state=absent), every endpoint of the VPC goes).
    type: list
    elements: dict
    suboptions:
      service:
        description: Service name, for example C(com.amazonaws.us-east-1.s3).
        type: str
        required: true
      name:
        description: Value of its C(Name) tag.
        type: str
        required: true
      route_tables:
        description: Names of tables of O(route_tables) it routes through.
        type: list
        elements: str
        required: true
  purge_routes:
    description: Delete the routes a table has beyond its O(route_tables[].routes).
    type: bool
    default: true
  purge_subnets:
    description: Disassociate the subnets associated beyond O(route_tables[].subnets).
    type: bool
    default: true
  wait_for_nat:
    description:
      - Wait for a NAT gateway still C(pending) before adding a route to it.
      - V(false) leaves such routes for a later run and lists them in RV(deferred_routes).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for NAT gateways.
    type: int
    default: 600
  state:
    description: Whether the route tables and gateway endpoints should exist.
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
  - O(tags) are given to every table and endpoint, with its own tags and C(Name).
  - Waits for AWS to show the changes for at most 60 seconds, then warns and returns.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Public, isolated and private routing with the S3 gateway endpoint
  stream_sales.platform.ec2_route_table:
    vpc_id: vpc-0123456789abcdef0
    route_tables:
      - name: dev-public
        subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
        routes: [{dest: 0.0.0.0/0, gateway_id: igw-0123456789abcdef0}]
      - name: dev-isolated
        subnets: [subnet-0123456789abcdef4]
        routes: []
      - name: dev-private-us-east-1a
        subnets: [subnet-0123456789abcdef2]
        routes: [{dest: 0.0.0.0/0, nat_gateway_id: nat-0123456789abcdef0}]
    gateway_endpoints:
      - {service: com.amazonaws.us-east-1.s3, name: dev-s3, route_tables: [dev-isolated, dev-private-us-east-1a]}
    tags:
      Environment: dev

- name: Remove every route table and endpoint of a VPC (but the main table)
  stream_sales.platform.ec2_route_table:
    vpc_id: vpc-0123456789abcdef0
    state: absent
"""

RETURN = r"""
route_tables:
  description: The tables, in the order of O(route_tables) (without RV(route_tables[].id) in check mode before they exist).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Its ID.
      type: str
      sample: rtb-0123456789abcdef0
    name:
      description: Its C(Name).
      type: str
    routes:
      description: Its routes in the form of O(route_tables[].routes) (the managed ones).
      type: list
      elements: dict
    subnets:
      description: Its associated subnets.
      type: list
      elements: str
    tags:
      description: Its tags.
      type: dict
gateway_endpoints:
  description: The gateway endpoints, in the order of O(gateway_endpoints).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Its ID.
      type: str
      sample: vpce-0123456789abcdef0
    service:
      description: Its service.
      type: str
    route_table_ids:
      description: The tables it routes through.
      type: list
      elements: str
deferred_routes:
  description: Routes left for a later run because their NAT gateway is still pending (O(wait_for_nat=false)).
  returned: always
  type: list
  elements: dict
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

import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
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

# An object created a moment ago (this table, a gateway, a subnet) may not be known yet to
# the call that uses it: retried on these codes only, with backoff; no wait when it is known.
NEW = not_yet_visible("InvalidRouteTableID.NotFound", "InvalidGatewayID.NotFound", "InvalidNatGatewayID.NotFound",
                      "InvalidSubnetID.NotFound")
# A table whose associations were just removed may still count as in use for a moment.
SETTLING = not_yet_visible("DependencyViolation")
CONSISTENCY_TIMEOUT = 60
TARGET_KEYS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "InstanceId",
               "NetworkInterfaceId", "CarrierGatewayId", "LocalGatewayId", "EgressOnlyInternetGatewayId",
               "CoreNetworkArn", "VpcEndpointId")
LIVE_ASSOCIATION = ("associated", "associating")
LIVE_ENDPOINT = ("pending", "available", "pendingAcceptance")


@NEW
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def tolerate(codes, method, **kwargs):
    """A removal whose resend after a lost answer fails with one of codes: done already (not retried)."""
    try:
        return SETTLING(method)(aws_retry=True, **kwargs)
    except is_boto3_error_code(codes):
        return None


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


def is_main(table):
    return any(a.get("Main") for a in table.get("Associations", []))


def dest_param(dest):
    key = "DestinationIpv6CidrBlock" if ipaddress.ip_network(dest).version == 6 else "DestinationCidrBlock"
    return {key: dest}


def route_params(dest, target):
    return dict(dest_param(dest), **{target[0]: target[1]})


def route_summary(dest, target):
    return {"dest": dest, {"GatewayId": "gateway_id", "NatGatewayId": "nat_gateway_id"}.get(target[0], target[0]): target[1]}


def summary(table, name):
    """The state the diff and the result show: managed routes, associated subnets, tags."""
    routes = {route_dest(r): route_target(r) for r in table.get("Routes", []) if is_managed(r)}
    return {"name": name, "id": table["RouteTableId"],
            "routes": [route_summary(d, t) for d, t in sorted(routes.items())],
            "subnets": sorted(live_subnet_associations(table)), "tags": tags_of(table)}


def validated(module):
    """The route_tables option with routes as {dest: (target key, id)}, checked before any call."""
    tables, names = [], set()
    for i, spec in enumerate(module.params["route_tables"] or []):
        if spec["name"] in names:
            module.fail_json(msg=f"route_tables[{i}]: {spec['name']} is given twice.")
        names.add(spec["name"])
        wanted = None
        if spec.get("routes") is not None:
            wanted = {}
            for j, route in enumerate(spec["routes"]):
                where = f"route_tables[{i}].routes[{j}]"
                try:
                    dest = str(ipaddress.ip_network(route["dest"], strict=True))
                except ValueError as e:
                    module.fail_json(msg=f"{where}.dest {route['dest']!r} is not a CIDR block: {e}")
                gateway, nat = route.get("gateway_id"), route.get("nat_gateway_id")
                if gateway and gateway.startswith("nat-") and not nat:
                    gateway, nat = None, gateway
                if bool(gateway) == bool(nat):
                    module.fail_json(msg=f"{where} ({dest}) needs exactly one of gateway_id and nat_gateway_id.")
                if gateway and (gateway == "local" or gateway.startswith("vpce-")):
                    module.fail_json(msg=f"{where} ({dest}): {gateway} routes are managed by AWS, not by this module.")
                if dest in wanted:
                    module.fail_json(msg=f"{where}: destination {dest} is given twice.")
                wanted[dest] = ("NatGatewayId", nat) if nat else ("GatewayId", gateway)
        tags = dict(module.params["tags"] or {}, **(spec.get("tags") or {}), Name=spec["name"])
        tables.append({"name": spec["name"], "routes": wanted, "tags": tags,
                       "subnets": None if spec.get("subnets") is None else sorted(set(spec["subnets"]))})
    for i, endpoint in enumerate(module.params["gateway_endpoints"] or []):
        unknown = set(endpoint["route_tables"]) - names
        if unknown:
            module.fail_json(msg=f"gateway_endpoints[{i}] ({endpoint['service']}) names tables not in route_tables: "
                                 f"{', '.join(sorted(unknown))}.")
    return tables


def describe_tables(ec2, vpc_id):
    return paginate(ec2, "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])


def describe_endpoints(ec2, vpc_id):
    endpoints = paginate(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [e for e in endpoints if e.get("State", "available") in LIVE_ENDPOINT]


class RouteTables:
    """One run of the module: the plan, then the calls, from one DescribeRouteTables."""

    def __init__(self, module, ec2, healing):
        self.module, self.ec2, self.healing = module, ec2, healing
        self.vpc_id = module.params["vpc_id"]
        self.check = module.check_mode
        self.changed = False
        self.deferred = []

    # ---- tables -----------------------------------------------------------------------
    def keeper(self, spec, named):
        """Among tables named alike, the one to keep: most of the wanted subnets, then most associations."""
        wanted = set(spec["subnets"] or [])
        return max(named, key=lambda t: (len(wanted & set(live_subnet_associations(t))),
                                         len(live_subnet_associations(t)))) if named else None

    def create(self, spec):
        self.changed = True
        if self.check:
            return {"RouteTableId": None, "Routes": [], "Associations": [], "Tags": [
                {"Key": k, "Value": v} for k, v in spec["tags"].items()]}
        table_id = call(self.ec2.create_route_table, VpcId=self.vpc_id, ClientToken=client_token(),
                        TagSpecifications=boto3_tag_specifications(spec["tags"], ["route-table"]))["RouteTable"]["RouteTableId"]
        # Describe until the new table is visible: the calls that follow need AWS to know it.
        table, seen = wait_until(lambda: self.by_id(table_id), lambda t: t is not None, CONSISTENCY_TIMEOUT)
        if not seen:
            self.module.fail_json(msg=f"Route table {table_id} was created but AWS did not show it within {CONSISTENCY_TIMEOUT} s.")
        return table

    def by_id(self, table_id):
        try:
            return self.ec2.describe_route_tables(aws_retry=True, RouteTableIds=[table_id])["RouteTables"][0]
        except is_boto3_error_code("InvalidRouteTableID.NotFound"):
            return None

    def converge_routes(self, table, spec, nat_states):
        """Routes of one table; those to a pending NAT gateway are returned for later."""
        if spec["routes"] is None:
            return []
        current = {route_dest(r): r for r in table.get("Routes", [])}
        later = []
        for dest, target in sorted(spec["routes"].items()):
            route = current.get(dest)
            if route is not None and route_target(route) == target:
                continue
            if route is not None and not is_managed(route):
                self.module.fail_json(msg=f"Route {dest} of {spec['name']} ({table['RouteTableId']}) is not one this "
                                          f"module can replace (origin {route.get('Origin')}, target {route_target(route)[1]}).")
            if target[0] == "NatGatewayId" and nat_states.get(target[1]) == "pending":
                later.append({"table": table, "name": spec["name"], "dest": dest, "target": target, "exists": route is not None})
                continue
            self.set_route(table, dest, target, route is not None)
        if self.module.params["purge_routes"]:
            for dest, route in sorted(current.items()):
                if is_managed(route) and dest not in spec["routes"]:
                    self.changed = True
                    if not self.check:
                        tolerate("InvalidRoute.NotFound", self.ec2.delete_route, RouteTableId=table["RouteTableId"], **dest_param(dest))
        return later

    def set_route(self, table, dest, target, exists):
        self.changed = True
        if self.check:
            return
        table_id = table["RouteTableId"]
        if exists:
            call(self.ec2.replace_route, RouteTableId=table_id, **route_params(dest, target))
            return
        try:
            call(self.ec2.create_route, RouteTableId=table_id, **route_params(dest, target))
        except is_boto3_error_code("RouteAlreadyExists"):
            # A resent CreateRoute whose first attempt went through (or a route added meanwhile):
            # replacing it with our target is a no-op in the first case and a fix in the second.
            call(self.ec2.replace_route, RouteTableId=table_id, **route_params(dest, target))

    def converge_subnets(self, table, spec, tables):
        if spec["subnets"] is None:
            return
        associated = live_subnet_associations(table)
        elsewhere = {s: a for t in tables if t["RouteTableId"] != table["RouteTableId"]
                     for s, a in live_subnet_associations(t).items()}
        for subnet in spec["subnets"]:
            if subnet in associated:
                continue
            self.changed = True
            if not self.check:
                self.associate(table["RouteTableId"], subnet, elsewhere.get(subnet))
        if self.module.params["purge_subnets"]:
            for subnet, association_id in sorted(associated.items()):
                if subnet not in spec["subnets"]:
                    self.changed = True
                    if not self.check:
                        tolerate("InvalidAssociationID.NotFound", self.ec2.disassociate_route_table, AssociationId=association_id)

    def associate(self, table_id, subnet, association_id):
        try:
            if association_id:
                call(self.ec2.replace_route_table_association, AssociationId=association_id, RouteTableId=table_id)
            else:
                call(self.ec2.associate_route_table, RouteTableId=table_id, SubnetId=subnet)
        except is_boto3_error_code(["Resource.AlreadyAssociated", "InvalidAssociationID.NotFound"]):
            # A resend after a lost answer, or the subnet moved meanwhile: look where it is now.
            now = paginate(self.ec2, "describe_route_tables", "RouteTables",
                           Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
            current = {t["RouteTableId"]: live_subnet_associations(t)[subnet] for t in now
                       if subnet in live_subnet_associations(t)}
            if table_id not in current:
                other = next(iter(current.values()), None)
                call(self.ec2.replace_route_table_association, AssociationId=other, RouteTableId=table_id) if other else \
                    call(self.ec2.associate_route_table, RouteTableId=table_id, SubnetId=subnet)

    def heal_tables(self, spec, keep, duplicates):
        for table in duplicates:
            table_id = table["RouteTableId"]
            others = sorted(live_subnet_associations(table))
            if not is_ours(table, spec["tags"]):
                self.healing.keep("route table", table_id, spec["name"], f"named like {keep['RouteTableId']} but without "
                                  "all of our tags, so not provably ours")
            elif others:
                self.healing.keep("route table", table_id, spec["name"], f"a duplicate of {keep['RouteTableId']} that "
                                  f"subnets {', '.join(others)} still use")
            else:
                self.healing.remove("route table", table_id, spec["name"],
                                    f"an unused duplicate of {keep['RouteTableId']} (a resent CreateRouteTable or an interrupted run)",
                                    lambda table_id=table_id: tolerate("InvalidRouteTableID.NotFound", self.ec2.delete_route_table,
                                                                       RouteTableId=table_id))

    # ---- gateway endpoints --------------------------------------------------------------
    def converge_endpoints(self, endpoints, kept):
        """(before, after) of the gateway endpoints; duplicates of ours healed."""
        before, after = [], []
        ids = {name: (t or {}).get("RouteTableId") for name, t in kept.items()}
        for spec in self.module.params["gateway_endpoints"] or []:
            tags = dict(self.module.params["tags"] or {}, Name=spec["name"])
            wanted = sorted(ids[n] for n in spec["route_tables"] if ids.get(n))
            same = [e for e in endpoints if e["ServiceName"] == spec["service"] and e.get("VpcEndpointType") == "Gateway"]
            same.sort(key=lambda e: (name_of(e) != spec["name"], str(e.get("CreationTimestamp")), e["VpcEndpointId"]))
            endpoint = same[0] if same else None
            if endpoint is None:
                self.changed = True
                endpoint_id = None
                if not self.check:
                    endpoint_id = call(self.ec2.create_vpc_endpoint, VpcId=self.vpc_id, ServiceName=spec["service"],
                                       VpcEndpointType="Gateway", RouteTableIds=wanted, ClientToken=client_token(),
                                       TagSpecifications=boto3_tag_specifications(tags, ["vpc-endpoint"]))["VpcEndpoint"]["VpcEndpointId"]
                after.append({"service": spec["service"], "name": spec["name"], "id": endpoint_id,
                              "route_table_ids": wanted, "tags": tags})
                continue
            endpoint_id = endpoint["VpcEndpointId"]
            was = {"service": spec["service"], "name": spec["name"], "id": endpoint_id,
                   "route_table_ids": sorted(endpoint.get("RouteTableIds", [])), "tags": tags_of(endpoint)}
            before.append(was)
            for other in same[1:]:
                if is_ours(other, tags):
                    self.healing.remove("gateway endpoint", other["VpcEndpointId"], spec["name"], f"a duplicate of {endpoint_id}",
                                        lambda other=other: self.ec2.delete_vpc_endpoints(
                                            aws_retry=True, VpcEndpointIds=[other["VpcEndpointId"]]))
                else:
                    self.healing.keep("gateway endpoint", other["VpcEndpointId"], spec["service"],
                                      "another endpoint of this service without all of our tags, so not provably ours")
            add = sorted(set(wanted) - set(was["route_table_ids"]))
            remove = sorted(set(was["route_table_ids"]) - set(wanted))
            if add or remove:
                self.changed = True
                if not self.check:
                    call(self.ec2.modify_vpc_endpoint, VpcEndpointId=endpoint_id, AddRouteTableIds=add, RemoveRouteTableIds=remove)
            tags_changed, now_tags = update_tags(self.module, self.ec2, endpoint_id, was["tags"], tags,
                                                 self.module.params["purge_tags"])
            self.changed |= tags_changed
            after.append(dict(was, route_table_ids=wanted, tags=now_tags))
        return before, after

    # ---- NAT gateways -------------------------------------------------------------------
    def nat_states(self, specs, tables_by_name):
        """State of the NAT gateways that routes still to be added point to (one call, only then)."""
        ids = set()
        for spec in specs:
            current = {route_dest(r): route_target(r) for r in (tables_by_name.get(spec["name"]) or {}).get("Routes", [])}
            for dest, target in (spec["routes"] or {}).items():
                if target[0] == "NatGatewayId" and current.get(dest) != target:
                    ids.add(target[1])
        if not ids:
            return {}
        gateways = self.ec2.describe_nat_gateways(aws_retry=True, NatGatewayIds=sorted(ids))["NatGateways"]
        return {g["NatGatewayId"]: g["State"] for g in gateways}

    def add_nat_routes(self, later):
        """Routes to NAT gateways that were pending: wait for them, then add, or defer."""
        ids = sorted({route["target"][1] for route in later})
        if self.check:
            self.changed = True
            return
        if not self.module.params["wait_for_nat"]:
            self.deferred = [{"route_table": r["name"], "dest": r["dest"], "nat_gateway_id": r["target"][1]} for r in later]
            return
        states, ready = wait_until(
            lambda: {g["NatGatewayId"]: g["State"] for g in
                     self.ec2.describe_nat_gateways(aws_retry=True, NatGatewayIds=ids)["NatGateways"]},
            lambda s: all(s.get(i) != "pending" for i in ids), self.module.params["wait_timeout"], max_delay=10)
        bad = [i for i in ids if states.get(i) != "available"]
        if bad:
            self.module.fail_json(msg=f"NAT gateways {', '.join(bad)} are not available "
                                      f"({', '.join(str(states.get(i)) for i in bad)}) after {self.module.params['wait_timeout']} s; "
                                      "their routes were not added.")
        for route in later:
            self.set_route(route["table"], route["dest"], route["target"], route["exists"])

    # ---- the run ----------------------------------------------------------------------
    def present(self):
        specs = validated(self.module)
        tables = [t for t in describe_tables(self.ec2, self.vpc_id) if not is_main(t)]
        endpoints = describe_endpoints(self.ec2, self.vpc_id) if self.module.params["gateway_endpoints"] is not None else []
        by_name = {}
        for table in tables:
            by_name.setdefault(name_of(table), []).append(table)
        kept, duplicates, before = {}, {}, {}
        for spec in specs:
            named = sorted(by_name.get(spec["name"], []), key=lambda t: t["RouteTableId"])
            keep = self.keeper(spec, named)
            if keep:
                before[spec["name"]] = summary(keep, spec["name"])
                duplicates[spec["name"]] = [t for t in named if t is not keep]
            kept[spec["name"]] = keep
        for spec in specs:
            if kept[spec["name"]] is None:
                kept[spec["name"]] = self.create(spec)
                tables.append(kept[spec["name"]])
        nat_states = self.nat_states(specs, kept)
        later = []
        for spec in specs:
            table = kept[spec["name"]]
            later += self.converge_routes(table, spec, nat_states)
            self.converge_subnets(table, spec, tables)
            if table["RouteTableId"]:
                self.changed |= update_tags(self.module, self.ec2, table["RouteTableId"], tags_of(table), spec["tags"],
                                            self.module.params["purge_tags"])[0]
        endpoints_before, endpoints_after = self.converge_endpoints(endpoints, kept)
        moved = {s for spec in specs for s in spec["subnets"] or []}
        for spec in specs:
            if duplicates.get(spec["name"]):
                self.heal_tables(spec, kept[spec["name"]], self.after_moves(duplicates[spec["name"]], moved))
        if later:
            self.add_nat_routes(later)
        after = self.settle(specs, kept)
        diff_before = {"route_tables": before, "gateway_endpoints": endpoints_before}
        diff_after = {"route_tables": {a["name"]: a for a in after}, "gateway_endpoints": endpoints_after}
        return self.changed or self.healing.changed, diff_before, diff_after, after, endpoints_after

    @staticmethod
    def after_moves(duplicates, moved):
        """The duplicates as they are once the subnets of route_tables moved to their tables."""
        return [dict(t, Associations=[a for a in t.get("Associations", []) if a.get("SubnetId") not in moved]) for t in duplicates]

    def planned(self, spec, table):
        """summary() of a table once the plan is applied."""
        now = summary(table, spec["name"])
        if spec["routes"] is not None:
            current = {r["dest"]: r for r in now["routes"]}
            routes = {} if self.module.params["purge_routes"] else dict(current)
            routes.update({d: route_summary(d, t) for d, t in spec["routes"].items()})
            # A deferred route stays as it is until a later run adds it.
            for deferred in self.deferred:
                if deferred["route_table"] == spec["name"]:
                    routes.pop(deferred["dest"], None)
                    if deferred["dest"] in current:
                        routes[deferred["dest"]] = current[deferred["dest"]]
            now["routes"] = [routes[d] for d in sorted(routes)]
        if spec["subnets"] is not None:
            subnets = set(spec["subnets"]) | (set() if self.module.params["purge_subnets"] else set(now["subnets"]))
            now["subnets"] = sorted(subnets)
        now["tags"] = tags_after(now["tags"], spec["tags"], self.module.params["purge_tags"])
        return now

    def settle(self, specs, kept):
        """The tables as AWS shows them once it shows every change: no fixed sleep."""
        wanted = [self.planned(spec, kept[spec["name"]]) for spec in specs]
        if not self.changed or self.check:
            return wanted

        def shown():
            current = {t["RouteTableId"]: t for t in describe_tables(self.ec2, self.vpc_id)}
            return [summary(current[w["id"]], w["name"]) if w["id"] in current else None for w in wanted]

        now, seen = wait_until(shown, lambda now: now == wanted, CONSISTENCY_TIMEOUT)
        if not seen:
            self.module.warn(f"The route tables of {self.vpc_id} were changed, but AWS did not show all changes "
                             f"within {CONSISTENCY_TIMEOUT} s.")
            return wanted
        return now

    def absent(self):
        names = None if self.module.params["route_tables"] is None else {t["name"] for t in self.module.params["route_tables"]}
        services = None if self.module.params["gateway_endpoints"] is None else {
            e["service"] for e in self.module.params["gateway_endpoints"]}
        endpoints = [e for e in describe_endpoints(self.ec2, self.vpc_id) if services is None or e["ServiceName"] in services]
        tables = [t for t in describe_tables(self.ec2, self.vpc_id)
                  if not is_main(t) and (names is None or name_of(t) in names)]
        before = {"route_tables": {t["RouteTableId"]: summary(t, name_of(t)) for t in tables},
                  "gateway_endpoints": [e["VpcEndpointId"] for e in endpoints]}
        if not (tables or endpoints):
            return False, {}, {}, [], []
        if not self.check:
            if endpoints:
                self.ec2.delete_vpc_endpoints(aws_retry=True, VpcEndpointIds=[e["VpcEndpointId"] for e in endpoints])
            for table in tables:
                for association_id in live_subnet_associations(table).values():
                    tolerate("InvalidAssociationID.NotFound", self.ec2.disassociate_route_table, AssociationId=association_id)
                tolerate("InvalidRouteTableID.NotFound", self.ec2.delete_route_table, RouteTableId=table["RouteTableId"])
        return True, before, {}, [], []


def main():
    route = dict(dest=dict(type="str", required=True), gateway_id=dict(type="str"), nat_gateway_id=dict(type="str"))
    module = AnsibleAWSModule(
        argument_spec=with_state(
            vpc_id=dict(type="str", required=True),
            route_tables=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                routes=dict(type="list", elements="dict", options=route),
                subnets=dict(type="list", elements="str"),
                tags=dict(type="dict"),
            )),
            gateway_endpoints=dict(type="list", elements="dict", options=dict(
                service=dict(type="str", required=True),
                name=dict(type="str", required=True),
                route_tables=dict(type="list", elements="str", required=True),
            )),
            purge_routes=dict(type="bool", default=True),
            purge_subnets=dict(type="bool", default=True),
            wait_for_nat=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["route_tables"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    healing = Healing(module)
    run = RouteTables(module, ec2, healing)
    with aws_errors(module, f"the route tables of {module.params['vpc_id']}"):
        if module.params["state"] == "present":
            changed, before, after, tables, endpoints = run.present()
        else:
            changed, before, after, tables, endpoints = run.absent()
    exit_with(module, changed, before, after, route_tables=tables, gateway_endpoints=endpoints, deferred_routes=run.deferred, **healing.result())


if __name__ == "__main__":
    main()
