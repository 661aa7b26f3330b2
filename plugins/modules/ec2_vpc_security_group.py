#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_security_group
short_description: Security groups of a VPC with exactly the given rules, converged from one DescribeSecurityGroups
version_added: 0.1.0
description:
  - Ensures each group of O(security_groups) exists in O(vpc_id) with exactly the rules of its
    O(security_groups[].ingress) and O(security_groups[].egress), authorizing the missing rules
    and revoking the others. A rule's peer may be another group of the list, by name.
  - A fork of M(amazon.aws.ec2_security_group) (10.1). Remove it when upstream (1) returns as soon as
    a change is visible instead of sleeping 3 s after creating a group and 10 s per look while it
    waits for rules, and (2) takes a list of groups (one per task today, several Describe calls
    each). A no-change run makes one DescribeSecurityGroups for all groups.
  - Resend safety. A CreateSecurityGroup resent after a lost answer fails with
    C(InvalidGroup.Duplicate) (the first one took effect) and that group is adopted; so are
    C(InvalidPermission.Duplicate) and C(InvalidPermission.NotFound) after a resent authorize or
    revoke. Group names are unique within a VPC, so groups cannot be duplicated.
  - An empty O(security_groups[].egress) revokes the allow-all rule AWS gives every new group,
    so the group allows no outbound traffic.
options:
  vpc_id:
    description: The VPC of the groups.
    type: str
    required: true
  security_groups:
    description:
      - The groups, created in this order (and deleted in the reverse order with O(state=absent)).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name, its identity within O(vpc_id).
        type: str
        required: true
      description:
        description:
          - The group's description. Required to create it.
          - AWS cannot change the description of a group; a different one is reported as a warning.
        type: str
      ingress:
        description:
          - Inbound rules, exactly. Omitted, the inbound rules are left alone; V([]) means none.
        type: list
        elements: dict
        suboptions: &rule
          proto:
            description: Protocol, by name (V(tcp), V(udp), V(icmp)), number, or V(all) (also V(-1)).
            type: str
            default: tcp
          from_port:
            description: First port (ICMP type) of the range. Required unless the protocol is V(all).
            type: int
          to_port:
            description: Last port (ICMP code) of the range; defaults to the first port.
            type: int
          cidr_ip:
            description: Peer IPv4 CIDR block. Exactly one of cidr_ip, group_id and group_name.
            type: str
          group_id:
            description: Peer security group ID.
            type: str
          group_name:
            description: Peer security group, by name (a group of O(security_groups) or of the VPC).
            type: str
          description:
            description: The rule's description; omitted, an existing description is left alone.
            type: str
      egress:
        description:
          - Outbound rules, exactly. Omitted, the outbound rules are left alone (a new group keeps
            AWS's allow-all rule); V([]) means none. Same suboptions as the inbound rules.
        type: list
        elements: dict
        suboptions: *rule
      tags:
        description: Tags of this group besides O(tags).
        type: dict
  state:
    description: Whether the groups should exist.
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
  - O(tags) are given to every group, with its own tags and C(Name) (the group's name).
  - Waits for AWS to show a new group or changed rules for at most 60 seconds, then warns and returns.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Application and database groups
  stream_sales.platform.ec2_vpc_security_group:
    vpc_id: vpc-0123456789abcdef0
    security_groups:
      - name: stream-sales-dev-app
        description: Stream Sales dev application
        ingress: []
        egress: [{proto: all, cidr_ip: 0.0.0.0/0}]
      - name: stream-sales-dev-database
        description: Stream Sales dev database
        ingress:
          - {proto: tcp, from_port: 5432, group_name: stream-sales-dev-app, description: PostgreSQL from the application}
        egress: []
    tags:
      Environment: dev
  register: groups

- name: Remove them, database first
  stream_sales.platform.ec2_vpc_security_group:
    vpc_id: vpc-0123456789abcdef0
    security_groups: [{name: stream-sales-dev-app}, {name: stream-sales-dev-database}]
    state: absent
"""

RETURN = r"""
security_groups:
  description: The groups, in the order of O(security_groups) (empty when absent).
  returned: always
  type: list
  elements: dict
  contains:
    group_id:
      description: Its ID (not for a group check mode would create).
      type: str
      sample: sg-0123456789abcdef0
    group_name:
      description: Its name.
      type: str
      sample: stream-sales-dev-database
    description:
      description: Its description.
      type: str
    ingress:
      description: Its inbound rules, one per peer, in the form of the options (peers by ID).
      type: list
      elements: dict
      sample:
        - {proto: tcp, from_port: 5432, to_port: 5432, group_id: sg-0fedcba9876543210, description: PostgreSQL from the application}
    egress:
      description: Its outbound rules.
      type: list
      elements: dict
      sample: []
    tags:
      description: Its tags.
      type: dict
group_ids:
  description: Group IDs by name, for the groups that exist.
  returned: always
  type: dict
  sample: {stream-sales-dev-app: sg-0123456789abcdef0}
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import not_yet_visible
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import tags_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import update_tags
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

# A group created a moment ago (this one, or the peer of a rule) may not be known yet to the
# call that uses it: retried on this code only, with backoff; no wait when it is known.
NEW = not_yet_visible("InvalidGroup.NotFound")
CONSISTENCY_TIMEOUT = 60
PROTOCOLS = {"all": "-1", "-1": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
# Peer kinds: rule option, IpPermissions list, key of the peer in that list.
PEERS = (("cidr_ip", "IpRanges", "CidrIp"), ("cidr_ipv6", "Ipv6Ranges", "CidrIpv6"),
         ("group_id", "UserIdGroupPairs", "GroupId"), ("prefix_list_id", "PrefixListIds", "PrefixListId"))
# AWS's rule on every new VPC group.
DEFAULT_EGRESS = {("-1", None, None, "cidr_ip", "0.0.0.0/0"): None}
RULE_OPTIONS = dict(
    proto=dict(type="str", default="tcp"),
    from_port=dict(type="int"),
    to_port=dict(type="int"),
    cidr_ip=dict(type="str"),
    group_id=dict(type="str"),
    group_name=dict(type="str"),
    description=dict(type="str"),
)


@NEW
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


def tolerate(codes, method, **kwargs):
    """A call whose resend after a lost answer fails with one of codes: done already."""
    try:
        return call(method, **kwargs)
    except is_boto3_error_code(codes):
        return None


def normalize_proto(proto):
    proto = str(proto).lower()
    return PROTOCOLS.get(proto, proto)


def rules_of(permissions):
    """{(proto, from, to, peer kind, peer): description} of an IpPermissions list."""
    rules = {}
    for perm in permissions or []:
        proto = normalize_proto(perm["IpProtocol"])
        ports = (None, None) if proto == "-1" else (perm.get("FromPort"), perm.get("ToPort"))
        for kind, list_key, peer_key in PEERS:
            for peer in perm.get(list_key) or []:
                rules[(proto, ports[0], ports[1], kind, peer[peer_key])] = peer.get("Description")
    return rules


def desired_rules(module, where, specs, group_ids):
    """Rules in rules_of()'s form, validated (None: not managed). Peers by name resolve through
    group_ids; one not created yet (check mode) stays `<name>`."""
    if specs is None:
        return None
    rules = {}
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        proto = normalize_proto(spec["proto"])
        if proto == "-1":
            ports = (None, None)
        else:
            if spec["from_port"] is None:
                module.fail_json(msg=f"{at}: from_port is required for protocol {spec['proto']}.")
            ports = (spec["from_port"], spec["to_port"] if spec["to_port"] is not None else spec["from_port"])
        peers = [(kind, spec[kind]) for kind in ("cidr_ip", "group_id", "group_name") if spec.get(kind)]
        if len(peers) != 1:
            module.fail_json(msg=f"{at}: give exactly one of cidr_ip, group_id and group_name.")
        if peers[0][0] == "group_name":
            name = peers[0][1]
            if name not in group_ids:
                module.fail_json(msg=f"{at}: no security group {name} in {module.params['vpc_id']} or in security_groups.")
            peers = [("group_id", group_ids[name] or f"<{name}>")]
        key = (proto, ports[0], ports[1]) + peers[0]
        if key in rules:
            module.fail_json(msg=f"{at}: the same rule is given twice.")
        rules[key] = spec.get("description")
    return rules


def rule_list(rules):
    out = []
    for (proto, from_port, to_port, kind, peer), description in sorted(rules.items(), key=lambda r: str(r[0])):
        rule = {"proto": "all" if proto == "-1" else proto}
        if from_port is not None:
            rule.update(from_port=from_port, to_port=to_port)
        rule[kind] = peer
        if description:
            rule["description"] = description
        out.append(rule)
    return out


def permissions(rules):
    """IpPermissions for authorize/revoke/update calls, one entry per protocol and port range."""
    grouped = {}
    for (proto, from_port, to_port, kind, peer), description in sorted(rules.items(), key=lambda r: str(r[0])):
        perm = grouped.setdefault((proto, from_port, to_port), {"IpProtocol": proto})
        if from_port is not None:
            perm.update(FromPort=from_port, ToPort=to_port)
        list_key, peer_key = next((lk, pk) for k, lk, pk in PEERS if k == kind)
        entry = {peer_key: peer}
        if description:
            entry["Description"] = description
        perm.setdefault(list_key, []).append(entry)
    return list(grouped.values())


def summary(group):
    result = {
        "group_name": group["GroupName"],
        "description": group.get("Description"),
        "vpc_id": group.get("VpcId"),
        "ingress": rule_list(rules_of(group.get("IpPermissions"))),
        "egress": rule_list(rules_of(group.get("IpPermissionsEgress"))),
        "tags": tags_of(group),
    }
    if group.get("GroupId"):
        result["group_id"] = group["GroupId"]
    return result


def rule_changes(current, wanted):
    """(to authorize, to revoke, descriptions to update) to go from current to wanted rules."""
    if wanted is None:
        return {}, {}, {}
    add = {k: d for k, d in wanted.items() if k not in current}
    revoke = {k: d for k, d in current.items() if k not in wanted}
    describe = {k: d for k, d in wanted.items() if k in current and d is not None and d != (current[k] or None)}
    return add, revoke, describe


def rules_after(current, wanted):
    if wanted is None:
        return current
    return {k: (d if d is not None else current.get(k)) for k, d in wanted.items()}


def groups_in(ec2, vpc_id, group_ids=None):
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
    if group_ids:
        filters.append({"Name": "group-id", "Values": sorted(group_ids)})
    return {g["GroupName"]: g for g in paginate(ec2, "describe_security_groups", "SecurityGroups", Filters=filters)}


def create(module, ec2, spec, tags):
    """Create one group; the allow-all egress rule AWS adds is awaited so that it can be revoked."""
    vpc_id = module.params["vpc_id"]
    params = dict(GroupName=spec["name"], Description=spec["description"], VpcId=vpc_id,
                  TagSpecifications=boto3_tag_specifications(tags, ["security-group"]))
    try:
        group_id = call(ec2.create_security_group, **params)["GroupId"]
    except is_boto3_error_code("InvalidGroup.Duplicate"):
        # A resent call whose first attempt did create the group.
        group_id = groups_in(ec2, vpc_id)[spec["name"]]["GroupId"]
    group, seen = wait_until(lambda: groups_in(ec2, vpc_id, [group_id]).get(spec["name"]),
                             lambda g: g is not None and bool(g.get("IpPermissionsEgress")), CONSISTENCY_TIMEOUT)
    if group is None:
        module.fail_json(msg=f"Security group {group_id} was created but AWS did not show it within {CONSISTENCY_TIMEOUT} s.")
    return group, seen


def ensure_present(module, ec2):
    vpc_id, purge = module.params["vpc_id"], module.params["purge_tags"]
    specs = module.params["security_groups"]
    current = groups_in(ec2, vpc_id)
    group_ids = {name: g["GroupId"] for name, g in current.items()}
    group_ids.update({s["name"]: group_ids.get(s["name"]) for s in specs})
    changed, before, after, expected = False, [], [], {}
    for spec in specs:
        name = spec["name"]
        tags = dict(module.params["tags"] or {}, **(spec.get("tags") or {}), Name=name)
        wanted_in = desired_rules(module, f"{name}.ingress", spec.get("ingress"), group_ids)
        wanted_out = desired_rules(module, f"{name}.egress", spec.get("egress"), group_ids)
        group = current.get(name)
        created = group is None
        if created:
            if not spec.get("description"):
                module.fail_json(msg=f"description is required to create security group {name}.")
            current_in, current_out, current_tags = {}, dict(DEFAULT_EGRESS), {}
            if not module.check_mode:
                group, seen = create(module, ec2, spec, tags)
                group_ids[name] = group["GroupId"]
                current_tags = tags_of(group)
                if seen:
                    current_out = rules_of(group["IpPermissionsEgress"])
                # Rules of later groups that name this one resolve to its ID now.
                wanted_in = desired_rules(module, f"{name}.ingress", spec.get("ingress"), group_ids)
                wanted_out = desired_rules(module, f"{name}.egress", spec.get("egress"), group_ids)
        else:
            before.append(summary(group))
            current_in, current_out = rules_of(group.get("IpPermissions")), rules_of(group.get("IpPermissionsEgress"))
            current_tags = tags_of(group)
            if spec.get("description") and spec["description"] != group.get("Description"):
                module.warn(f"Security group {name} keeps its description {group.get('Description')!r}: "
                            "AWS cannot change a group's description (replace the group to change it).")
        in_changes = rule_changes(current_in, wanted_in)
        out_changes = rule_changes(current_out, wanted_out)
        group_id = group_ids.get(name)
        tags_changed, now_tags = (update_tags(module, ec2, group_id, current_tags, tags, purge) if group_id
                                  else (False, tags_after(current_tags, tags, purge)))
        group_changed = created or tags_changed or any(any(c) for c in (in_changes, out_changes))
        changed |= group_changed
        if group_id and not module.check_mode:
            apply_rules(ec2, group_id, in_changes, out_changes)
        state = {
            "group_name": name,
            "description": group.get("Description") if group else spec.get("description"),
            "vpc_id": vpc_id,
            "ingress": rule_list(rules_after(current_in, wanted_in)),
            "egress": rule_list(rules_after(current_out, wanted_out)),
            "tags": now_tags,
        }
        if group_id:
            state["group_id"] = group_id
            if group_changed:
                expected[group_id] = state
        after.append(state)
    if expected and not module.check_mode:
        after = settle(module, ec2, after, expected)
    return changed, before, after, {s["name"]: group_ids[s["name"]] for s in specs if group_ids.get(s["name"])}


def apply_rules(ec2, group_id, in_changes, out_changes):
    (in_add, in_revoke, in_describe), (out_add, out_revoke, out_describe) = in_changes, out_changes
    # Revokes name each rule as AWS shows it, description included.
    if in_revoke:
        tolerate("InvalidPermission.NotFound", ec2.revoke_security_group_ingress, GroupId=group_id,
                 IpPermissions=permissions(in_revoke))
    if out_revoke:
        # Also the default egress rule of a new group that AWS had not shown yet, and did not add.
        tolerate("InvalidPermission.NotFound", ec2.revoke_security_group_egress, GroupId=group_id,
                 IpPermissions=permissions(out_revoke))
    if in_add:
        tolerate("InvalidPermission.Duplicate", ec2.authorize_security_group_ingress, GroupId=group_id,
                 IpPermissions=permissions(in_add))
    if out_add:
        tolerate("InvalidPermission.Duplicate", ec2.authorize_security_group_egress, GroupId=group_id,
                 IpPermissions=permissions(out_add))
    if in_describe:
        call(ec2.update_security_group_rule_descriptions_ingress, GroupId=group_id, IpPermissions=permissions(in_describe))
    if out_describe:
        call(ec2.update_security_group_rule_descriptions_egress, GroupId=group_id, IpPermissions=permissions(out_describe))


def settle(module, ec2, after, expected):
    """The groups as AWS shows them once it shows every change: no fixed sleep."""
    vpc_id = module.params["vpc_id"]

    def shown():
        return {g["GroupId"]: summary(g) for g in groups_in(ec2, vpc_id, list(expected)).values()}

    final, seen = wait_until(shown, lambda f: all(f.get(i) == s for i, s in expected.items()), CONSISTENCY_TIMEOUT)
    if not seen:
        module.warn(f"Security groups {', '.join(expected)} were changed, but AWS did not show all changes "
                    f"within {CONSISTENCY_TIMEOUT} s.")
        return after
    return [final.get(a.get("group_id"), a) for a in after]


def ensure_absent(module, ec2):
    current = groups_in(ec2, module.params["vpc_id"])
    gone = [current[s["name"]] for s in reversed(module.params["security_groups"]) if s["name"] in current]
    if gone and not module.check_mode:
        for group in gone:
            try:
                call(ec2.delete_security_group, GroupId=group["GroupId"])
            except is_boto3_error_code("InvalidGroup.NotFound"):
                pass  # a resent delete whose first attempt went through
            except is_boto3_error_code("DependencyViolation") as e:  # pylint: disable=duplicate-except
                module.fail_json_aws(e, msg=f"Security group {group['GroupName']} ({group['GroupId']}) is still in use "
                                            "(network interfaces or other groups' rules refer to it).")
    return bool(gone), [summary(g) for g in gone], [], {}


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            vpc_id=dict(type="str", required=True),
            security_groups=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str"),
                ingress=dict(type="list", elements="dict", options=RULE_OPTIONS),
                egress=dict(type="list", elements="dict", options=RULE_OPTIONS),
                tags=dict(type="dict"),
            )),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    with aws_errors(module, f"the security groups of {module.params['vpc_id']}"):
        if module.params["state"] == "present":
            changed, before, after, group_ids = ensure_present(module, ec2)
        else:
            changed, before, after, group_ids = ensure_absent(module, ec2)
    exit_with(module, changed, before, after, kind="security_groups", security_groups=after, group_ids=group_ids)


if __name__ == "__main__":
    main()
