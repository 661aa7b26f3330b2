"""EC2: NAT gateways, client tokens and security-group rule descriptions as AWS handles them."""
from __future__ import annotations

import json
import threading

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses import EC2Response
from moto.ec2.utils import is_tag_filter, tag_filter_matches


def nat_gateway_deletion_releases_interface_and_address() -> None:
    """Deleting a NAT gateway frees what it held, as on AWS.

    AWS deletes the gateway's network interface and disassociates its Elastic IP once the
    gateway is deleted (the address stays allocated, free to be released; while the gateway is
    `deleting` both stay). moto 5.2.5 marks the gateway deleted and keeps both for ever:
    DescribeAddresses still shows the address associated with the gateway's interface (which
    AWS would refuse to release: InvalidIPAddress.InUse), and DescribeNetworkInterfaces still
    lists the interface in the subnet. Here both are freed when the gateway reaches `deleted`:
    at once, or, under the scaled clock (clock.py), at the first EC2 call that looks after that.
    """
    from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
    from moto.ec2.models.subnets import SubnetBackend

    deleting = []  # (backend, gateway) whose deletion is not over yet
    lock = threading.Lock()

    def free(backend, gateway):
        eni = getattr(gateway, "_eni", None)
        for address in backend.addresses:
            if eni is not None and address.eni is eni and address.association_id:
                backend.disassociate_address(association_id=address.association_id)
        for entry in gateway.address_set:
            entry.pop("associationId", None)
        if eni is not None and eni.id in backend.enis:
            backend.delete_network_interface(eni.id)

    def settle(backend):
        with lock:
            done = [(b, g) for b, g in deleting if b is backend and g.state == "deleted"]
            for item in done:
                deleting.remove(item)
        for _backend, gateway in done:
            free(backend, gateway)

    original_delete = NatGatewayBackend.delete_nat_gateway

    def delete_nat_gateway(self, nat_gateway_id):
        gateway = original_delete(self, nat_gateway_id)
        with lock:
            if all(g is not gateway for _backend, g in deleting):
                deleting.append((self, gateway))
        settle(self)
        return gateway

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway

    def settling(cls, name):
        original = getattr(cls, name)

        def method(self, *args, **kwargs):
            settle(self)
            return original(self, *args, **kwargs)

        method.__name__ = name
        setattr(cls, name, method)

    for cls, name in ((ElasticAddressBackend, "describe_addresses"), (ElasticAddressBackend, "release_address"),
                      (NetworkInterfaceBackend, "describe_network_interfaces"),
                      (NetworkInterfaceBackend, "get_all_network_interfaces"),
                      (NatGatewayBackend, "describe_nat_gateways"), (SubnetBackend, "delete_subnet")):
        settling(cls, name)


def nat_gateway_tag_filters() -> None:
    """DescribeNatGateways honours `tag:<key>`, `tag-key` and `tag-value` filters, as AWS does.

    moto 5.2.5 applies only nat-gateway-id, vpc-id, subnet-id and state, and silently ignores
    the tag filters, so a search by Name tag answered every gateway of the region.
    """
    original = NatGatewayBackend.describe_nat_gateways

    def describe_nat_gateways(self, filters, nat_gateway_ids):
        gateways = original(self, filters, nat_gateway_ids)
        for name, values in (filters or {}).items():
            if is_tag_filter(name):
                gateways = [g for g in gateways if tag_filter_matches(g, name, values)]
        return gateways

    NatGatewayBackend.describe_nat_gateways = describe_nat_gateways


# EC2 creates that take a ClientToken (botocore's service model) and that the product uses or may
# use. botocore fills the token itself where the model marks it idempotencyToken (route tables,
# NAT gateways, network ACLs) and reuses it when it resends a request.
CLIENT_TOKEN_OPERATIONS = ("create_route_table", "create_nat_gateway", "create_network_acl",
                           "create_vpc_endpoint", "create_flow_logs")


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str) -> None:
        super().__init__("IdempotentParameterMismatch",
                         f"The client token {token} was already used by a request with other parameters.")


def client_tokens_make_creates_idempotent() -> None:
    """A ClientToken on an EC2 create makes it idempotent, as AWS documents ("Ensuring
    idempotency in Amazon EC2 API requests").

    A request repeated with the same token and the same parameters returns the result of the
    first one and creates nothing; the same token with other parameters fails with
    IdempotentParameterMismatch. moto 5.2.5 ignores the token, so a create resent after a lost
    answer (botocore resends it with the same token) made a second route table, NAT gateway,
    endpoint or flow log. Tokens are kept per account, region and operation, for the life of
    the emulator's state.
    """
    seen: dict[tuple, tuple[str, object]] = {}
    lock = threading.Lock()

    def wrap(operation):
        original = getattr(EC2Response, operation)

        def create(self):
            token = self._get_param("ClientToken")
            if not token:
                return original(self)
            params = {k: v for k, v in (self.params or {}).items() if k not in ("ClientToken", "DryRun")}
            fingerprint = json.dumps(params, sort_keys=True, default=str)
            key = (self.current_account, self.region, operation, token)
            with lock:
                if key in seen:
                    first_fingerprint, result = seen[key]
                    if first_fingerprint != fingerprint:
                        raise IdempotentParameterMismatch(token)
                    return result
                result = original(self)
                seen[key] = (fingerprint, result)
                return result

        create.__name__ = operation
        setattr(EC2Response, operation, create)

    for operation in CLIENT_TOKEN_OPERATIONS:
        wrap(operation)


def security_group_peer_rule_descriptions_updatable() -> None:
    """UpdateSecurityGroupRuleDescriptions{Ingress,Egress} changes the description of a rule
    whose peer is a security group, as AWS does.

    moto 5.2.5 finds the rule to update by comparing the requested peer, new description
    included, with the stored one, finds nothing and silently changes nothing (rules with CIDR
    peers work). Here such a rule is found by protocol, ports and peer group; its description
    is set, or removed when the request gives none (AWS's documented behaviour).
    """
    def wrap(method_name, egress):
        original = getattr(SecurityGroupBackend, method_name)

        def update(self, group_name_or_id, ip_protocol, from_port, to_port, ip_ranges, source_groups=None,
                   prefix_list_ids=None, security_rule_ids=None, vpc_id=None):
            group = original(self, group_name_or_id, ip_protocol, from_port, to_port, ip_ranges, None,
                             prefix_list_ids, security_rule_ids, vpc_id)
            peers = self._add_source_group([dict(p) for p in source_groups or []], vpc_id)
            rules = group.egress_rules if egress else group.ingress_rules
            for wanted in self._iterate_security_rules(ip_protocol, group.group_id, from_port, to_port, [], peers, [],
                                                       is_egress=egress):
                for rule in rules:
                    if (rule.source_group.get("GroupId") == wanted.source_group.get("GroupId")
                            and rule.ip_protocol == wanted.ip_protocol
                            and (rule.ip_protocol == "-1"
                                 or (rule.from_port, rule.to_port) == (wanted.from_port, wanted.to_port))):
                        if wanted.source_group.get("Description") is None:
                            rule.source_group.pop("Description", None)
                        else:
                            rule.source_group["Description"] = wanted.source_group["Description"]
            return group

        setattr(SecurityGroupBackend, method_name, update)

    wrap("update_security_group_rule_descriptions_ingress", egress=False)
    wrap("update_security_group_rule_descriptions_egress", egress=True)


def gateway_endpoint_routes_follow_its_route_tables() -> None:
    """A gateway endpoint's routes follow its route tables, as on AWS.

    AWS adds the endpoint's route (to the service's prefix list) to every table named in
    ModifyVpcEndpoint AddRouteTableIds, removes it from those in RemoveRouteTableIds, and
    DeleteVpcEndpoints removes it from the tables that still have it. moto 5.2.5 adds the route
    only at CreateVpcEndpoint, changes only the endpoint's list on modification, and then fails
    DeleteVpcEndpoints with InvalidRoute.NotFound for a table added later or deleted meanwhile.
    """
    original_modify = VPCBackend.modify_vpc_endpoint
    original_delete = VPCBackend.delete_vpc_endpoints

    def routes(self, endpoint):
        return {t: self.route_tables[t] for t in endpoint.route_table_ids if t in self.route_tables}

    def has_route(table, prefix_list):
        return any(r.destination_prefix_list_id == prefix_list for r in table.routes)

    def modify_vpc_endpoint(self, vpc_id, policy_doc, add_subnets, remove_subnets, remove_route_tables,
                            add_route_tables, add_security_groups, remove_security_groups):
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[vpc_id])[0]
        prefix_list = endpoint.destination_prefix_list_id
        before = set(endpoint.route_table_ids)
        for table_id in add_route_tables or []:
            self.get_route_table(table_id)  # InvalidRouteTableID.NotFound before any change, as AWS
        original_modify(self, vpc_id, policy_doc, add_subnets, remove_subnets, remove_route_tables, add_route_tables,
                        add_security_groups, remove_security_groups)
        if prefix_list:
            for table_id in set(add_route_tables or []) - before:
                if not has_route(self.route_tables[table_id], prefix_list):
                    self.create_route(table_id, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list)
            for table_id in set(remove_route_tables or []) & before:
                table = self.route_tables.get(table_id)
                if table is not None and has_route(table, prefix_list):
                    self.delete_route(table_id, None, destination_prefix_list_id=prefix_list)

    def delete_vpc_endpoints(self, vpce_ids=None):
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if endpoint is not None and endpoint.destination_prefix_list_id:
                # Only the tables that still hold the route; moto's original then finds none left.
                for table_id, table in routes(self, endpoint).items():
                    if has_route(table, endpoint.destination_prefix_list_id):
                        self.delete_route(table_id, None, destination_prefix_list_id=endpoint.destination_prefix_list_id)
                endpoint.route_table_ids = []
        return original_delete(self, vpce_ids)

    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint
    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints


FIXES = (
    nat_gateway_deletion_releases_interface_and_address,
    nat_gateway_tag_filters,
    client_tokens_make_creates_idempotent,
    security_group_peer_rule_descriptions_updatable,
    gateway_endpoint_routes_follow_its_route_tables,
)
