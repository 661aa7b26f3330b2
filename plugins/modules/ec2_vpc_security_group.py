#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_security_group
short_description: A VPC security group with exactly the given ingress and egress rules
version_added: 0.1.0
description:
  - Ensures one security group named O(name) in O(vpc_id) with exactly the rules of O(ingress)
    and O(egress), authorizing the missing rules and revoking the others.
  - Unlike M(amazon.aws.ec2_security_group), it does not sleep after creating a group or
    changing rules; it polls until AWS shows the group and its rules, and returns as soon as
    they are visible.
  - O(egress=[]) revokes the allow-all rule AWS gives every new group, so the group allows
    no outbound traffic.
options:
  name:
    description: The group's name, its identity within O(vpc_id).
    type: str
    required: true
  vpc_id:
    description: The VPC of the group.
    type: str
    required: true
  description:
    description:
      - The group's description. Required to create it.
      - AWS cannot change the description of a group; a different one is reported as a warning.
    type: str
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
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
        description: First port (ICMP type) of the range. Required unless O(ingress[].proto=all).
        type: int
      to_port:
        description: Last port (ICMP code) of the range; defaults to O(ingress[].from_port).
        type: int
      cidr_ip:
        description: Peer IPv4 CIDR block. Exactly one of O(ingress[].cidr_ip) and O(ingress[].group_id).
        type: str
      group_id:
        description: Peer security group ID.
        type: str
      description:
        description: The rule's description; omitted, an existing description is left alone.
        type: str
  egress:
    description:
      - Outbound rules, exactly. Omitted, the outbound rules are left alone (a new group keeps
        AWS's allow-all rule); V([]) means none.
      - Same suboptions as O(ingress).
    type: list
    elements: dict
    suboptions: *rule
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
notes:
  - Waits for AWS to show a new group or changed rules for at most 60 seconds, then warns and returns.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Application group, no inbound rule, all outbound traffic
  stream_sales.platform.ec2_vpc_security_group:
    name: stream-sales-dev-app
    description: Stream Sales dev application
    vpc_id: vpc-0123456789abcdef0
    ingress: []
    egress:
      - proto: all
        cidr_ip: 0.0.0.0/0
    tags:
      Environment: dev
  register: app_sg

- name: Database group, PostgreSQL from the application only, no outbound traffic
  stream_sales.platform.ec2_vpc_security_group:
    name: stream-sales-dev-database
    description: Stream Sales dev database
    vpc_id: vpc-0123456789abcdef0
    ingress:
      - proto: tcp
        from_port: 5432
        group_id: "{{ app_sg.group_id }}"
        description: PostgreSQL from the application
    egress: []

- name: Remove a group
  stream_sales.platform.ec2_vpc_security_group:
    name: stream-sales-dev-database
    vpc_id: vpc-0123456789abcdef0
    state: absent
"""

RETURN = r"""
group_id:
  description: The group's ID.
  returned: when the group exists (not for a group check mode would create)
  type: str
  sample: sg-0123456789abcdef0
security_group:
  description: The group (empty when absent).
  returned: always
  type: dict
  contains:
    group_id:
      description: Its ID.
      returned: when it exists
      type: str
      sample: sg-0123456789abcdef0
    group_name:
      description: Its name.
      type: str
      sample: stream-sales-dev-database
    description:
      description: Its description.
      type: str
      sample: Stream Sales dev database
    vpc_id:
      description: Its VPC.
      type: str
      sample: vpc-0123456789abcdef0
    ingress:
      description: Its inbound rules, one per peer, in the form of O(ingress).
      type: list
      elements: dict
      sample:
        - proto: tcp
          from_port: 5432
          to_port: 5432
          group_id: sg-0fedcba9876543210
          description: PostgreSQL from the application
    egress:
      description: Its outbound rules, in the form of O(egress).
      type: list
      elements: dict
      sample: []
    tags:
      description: Its tags.
      type: dict
      sample:
        Name: stream-sales-dev-database
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.emulator import security_group_pair_descriptions_updatable
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

# A group created a moment ago (this one, or the peer of a rule) may not be known yet to the
# call that uses it: retried on this code only, with backoff; no wait when it is known.
NOT_YET_VISIBLE = AWSRetry.jittered_backoff(retries=6, delay=1, max_delay=8,
                                            catch_extra_error_codes=["InvalidGroup.NotFound"])
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
    description=dict(type="str"),
)


@NOT_YET_VISIBLE
def call(method, **kwargs):
    return method(aws_retry=True, **kwargs)


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


def desired_rules(module, option):
    """The rules of an option in rules_of()'s form, validated before any call (None: not managed)."""
    if module.params[option] is None:
        return None
    rules = {}
    for i, spec in enumerate(module.params[option]):
        where = f"{option}[{i}]"
        proto = normalize_proto(spec["proto"])
        if proto == "-1":
            ports = (None, None)
        else:
            if spec["from_port"] is None:
                module.fail_json(msg=f"{where}: from_port is required for protocol {spec['proto']}.")
            ports = (spec["from_port"], spec["to_port"] if spec["to_port"] is not None else spec["from_port"])
        peers = [(kind, spec[kind]) for kind in ("cidr_ip", "group_id") if spec.get(kind)]
        if len(peers) != 1:
            module.fail_json(msg=f"{where}: give exactly one of cidr_ip and group_id.")
        key = (proto, ports[0], ports[1]) + peers[0]
        if key in rules:
            module.fail_json(msg=f"{where}: the same rule is given twice.")
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
    if not group:
        return {}
    result = {
        "group_name": group["GroupName"],
        "description": group.get("Description"),
        "vpc_id": group.get("VpcId"),
        "ingress": rule_list(rules_of(group.get("IpPermissions"))),
        "egress": rule_list(rules_of(group.get("IpPermissionsEgress"))),
        "tags": boto3_tag_list_to_ansible_dict(group.get("Tags", [])),
    }
    if group.get("GroupId"):
        result["group_id"] = group["GroupId"]
    return result


def find_group(ec2, name, vpc_id):
    groups = paginate(ec2, "describe_security_groups", "SecurityGroups",
                      Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}])
    groups = [g for g in groups if g["GroupName"] == name and g.get("VpcId") == vpc_id]
    return groups[0] if groups else None


def find_by_id(ec2, group_id):
    try:
        groups = ec2.describe_security_groups(aws_retry=True, GroupIds=[group_id])["SecurityGroups"]
    except is_boto3_error_code("InvalidGroup.NotFound"):
        return None
    return groups[0] if groups else None


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


def ensure_present(module, ec2):
    name, vpc_id = module.params["name"], module.params["vpc_id"]
    wanted_in, wanted_out = desired_rules(module, "ingress"), desired_rules(module, "egress")
    group = find_group(ec2, name, vpc_id)
    desired_tags = module.params["tags"]
    if group is None:
        if not module.params["description"]:
            module.fail_json(msg=f"description is required to create security group {name}.")
        current_in, current_out, current_tags = {}, dict(DEFAULT_EGRESS), {}
        desired_tags = desired_tags or {}
    else:
        current_in, current_out = rules_of(group.get("IpPermissions")), rules_of(group.get("IpPermissionsEgress"))
        current_tags = boto3_tag_list_to_ansible_dict(group.get("Tags", []))
        if module.params["description"] and module.params["description"] != group.get("Description"):
            module.warn(f"Security group {name} keeps its description {group.get('Description')!r}: "
                        "AWS cannot change a group's description (replace the group to change it).")
    in_add, in_revoke, in_describe = rule_changes(current_in, wanted_in)
    out_add, out_revoke, out_describe = rule_changes(current_out, wanted_out)
    to_set, to_remove = tag_diff(current_tags, desired_tags, module.params["purge_tags"]) if group else ({}, [])

    before = summary(group)
    after = {
        "group_name": name,
        "description": group.get("Description") if group else module.params["description"],
        "vpc_id": vpc_id,
        "ingress": rule_list(rules_after(current_in, wanted_in)),
        "egress": rule_list(rules_after(current_out, wanted_out)),
        "tags": tags_after(current_tags, desired_tags, module.params["purge_tags"]) if group else dict(desired_tags),
    }
    if group:
        after["group_id"] = group["GroupId"]
    changed = group is None or bool(in_add or in_revoke or in_describe or out_add or out_revoke or out_describe
                                    or to_set or to_remove)
    if not changed or module.check_mode:
        return changed, before, after

    if group is None:
        params = dict(GroupName=name, Description=module.params["description"], VpcId=vpc_id)
        if desired_tags:
            params["TagSpecifications"] = boto3_tag_specifications(desired_tags, ["security-group"])
        try:
            group_id = call(ec2.create_security_group, **params)["GroupId"]
        except is_boto3_error_code("InvalidGroup.Duplicate"):
            # A retried call whose first attempt did create the group.
            group_id = find_group(ec2, name, vpc_id)["GroupId"]
        # Describe until AWS shows the group with the allow-all egress rule it adds.
        group, seen = wait_until(lambda: find_by_id(ec2, group_id),
                                 lambda g: g is not None and bool(g.get("IpPermissionsEgress")), CONSISTENCY_TIMEOUT)
        if group is None:
            module.fail_json(msg=f"Security group {group_id} was created but AWS did not show it within {CONSISTENCY_TIMEOUT} s.")
        after["group_id"] = group_id
        if seen:
            current_out = rules_of(group["IpPermissionsEgress"])
            out_add, out_revoke, out_describe = rule_changes(current_out, wanted_out)
            after["egress"] = rule_list(rules_after(current_out, wanted_out))
    group_id = group["GroupId"]

    if not security_group_pair_descriptions_updatable(module):
        # Emulator only: a new description of a rule with a group peer is a revoke and authorize.
        for current, add, revoke, describe in ((current_in, in_add, in_revoke, in_describe),
                                               (current_out, out_add, out_revoke, out_describe)):
            for key in [k for k in describe if k[3] == "group_id"]:
                revoke[key], add[key] = current[key], describe.pop(key)
    # Revokes name each rule as AWS shows it, description included.
    if in_revoke:
        call(ec2.revoke_security_group_ingress, GroupId=group_id, IpPermissions=permissions(in_revoke))
    if out_revoke:
        try:
            call(ec2.revoke_security_group_egress, GroupId=group_id, IpPermissions=permissions(out_revoke))
        except is_boto3_error_code("InvalidPermission.NotFound"):
            pass  # the default egress rule of a new group AWS had not shown yet, and did not add
    if in_add:
        call(ec2.authorize_security_group_ingress, GroupId=group_id, IpPermissions=permissions(in_add))
    if out_add:
        call(ec2.authorize_security_group_egress, GroupId=group_id, IpPermissions=permissions(out_add))
    if in_describe:
        call(ec2.update_security_group_rule_descriptions_ingress, GroupId=group_id, IpPermissions=permissions(in_describe))
    if out_describe:
        call(ec2.update_security_group_rule_descriptions_egress, GroupId=group_id, IpPermissions=permissions(out_describe))
    if to_remove:
        call(ec2.delete_tags, Resources=[group_id], Tags=[{"Key": k} for k in to_remove])
    if to_set:
        call(ec2.create_tags, Resources=[group_id], Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])

    # Return as soon as AWS shows the rules and tags: no fixed sleep.
    final, seen = wait_until(lambda: find_by_id(ec2, group_id), lambda g: summary(g) == after, CONSISTENCY_TIMEOUT)
    if not seen:
        module.warn(f"Security group {group_id} was changed, but AWS did not show all changes within {CONSISTENCY_TIMEOUT} s.")
    return True, before, summary(final) or after


def ensure_absent(module, ec2):
    group = find_group(ec2, module.params["name"], module.params["vpc_id"])
    if not group:
        return False, {}, {}
    if not module.check_mode:
        try:
            ec2.delete_security_group(aws_retry=True, GroupId=group["GroupId"])
        except is_boto3_error_code("InvalidGroup.NotFound"):
            pass
        except is_boto3_error_code("DependencyViolation") as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Security group {module.params['name']} ({group['GroupId']}) is still in use "
                                 "(network interfaces or other groups' rules refer to it).")
    return True, summary(group), {}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            vpc_id=dict(type="str", required=True),
            description=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            ingress=dict(type="list", elements="dict", options=RULE_OPTIONS),
            egress=dict(type="list", elements="dict", options=RULE_OPTIONS),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    try:
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, ec2)
        else:
            changed, before, after = ensure_absent(module, ec2)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage security group {module.params['name']}")
    result = dict(changed=changed, security_group=after)
    if after.get("group_id"):
        result["group_id"] = after["group_id"]
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
