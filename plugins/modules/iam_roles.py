#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_roles
short_description: IAM roles with their trust policy, inline policies, managed policies and tags, read in one call
version_added: 0.2.0
description:
  - Brings every role of O(roles) to its trust policy, inline policies (others are removed),
    attached managed policies (others are detached) and tags; or, with O(state=absent), deletes them
    with their policies and instance profile memberships.
  - Reads every role of the account in one paginated C(GetAccountAuthorizationDetails) call (roles,
    their trust, inline and attached policies and tags). Upstream lacks this (measured with
    amazon.aws 10.1 on a no-change rerun of the production inventory) - C(iam_role) and C(iam_policy)
    take one role each and made 8 calls per role, 4 of them repeats (C(GetRole) and
    C(ListAttachedRolePolicies) twice, C(ListRolePolicies) three times); C(iam_role) returns no diff,
    so a change-safety review could not tell a trust policy widened from a tag added.
  - The caller needs C(iam:GetAccountAuthorizationDetails), which reads every role of the account
    (one page per 100 roles); a deployer limited to C(iam:GetRole) and friends cannot run it.
  - Up to two roles are read one by one instead (C(GetRole), C(ListRolePolicies), C(GetRolePolicy)
    per inline policy, C(ListAttachedRolePolicies)) - a few small calls, where the account-wide read
    is one page per 100 roles of the account, and IAM throttles it hard - and a play whose roles
    each own one or two IAM roles reads the whole account once, not once per role.
  - A C(CreateRole) resent after its answer was lost (C(EntityAlreadyExists)) is adopted and
    converged. A role's description and maximum session duration are set when it is created.
options:
  roles:
    description: The roles.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Role name.
        type: str
        required: true
      trust_policy:
        description: The assume-role policy document (a dict or JSON); required with O(state=present).
        type: raw
      inline_policies:
        description: Inline policies by name (documents as dicts or JSON); the role's others are deleted.
        type: dict
        default: {}
      managed_policies:
        description: ARNs of the managed policies attached to the role; others are detached.
        type: list
        elements: str
        default: []
      description:
        description: Description given at creation.
        type: str
        default: ""
  state:
    description: Whether the roles exist.
    type: str
    default: present
    choices: [present, absent]
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
- name: One execution role per function, each with its own inline policy
  stream_sales.platform.iam_roles:
    roles:
      - name: stream-sales-production-server
        description: OpenNext server function
        trust_policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]}
        inline_policies:
          stream-sales-production-server: {Version: "2012-10-17", Statement: []}
    tags: {Project: StreamSales}
"""

RETURN = r"""
roles:
  description: Every role of O(roles) that exists after the run, by name (name, arn).
  returned: always
  type: dict
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with


def _doc(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


def view(detail):
    """The comparable view of a role as GetAccountAuthorizationDetails describes it."""
    return {
        "name": detail["RoleName"],
        "arn": detail["Arn"],
        "trust_policy": _doc(detail.get("AssumeRolePolicyDocument")),
        "inline_policies": {p["PolicyName"]: _doc(p["PolicyDocument"]) for p in detail.get("RolePolicyList", [])},
        "managed_policies": sorted(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", [])),
        "tags": boto3_tag_list_to_ansible_dict(detail.get("Tags", [])),
    }


def wanted(spec, current, tags, purge_tags):
    return {
        "name": spec["name"],
        "arn": (current or {}).get("arn"),
        "trust_policy": _doc(spec["trust_policy"]),
        "inline_policies": {k: _doc(v) for k, v in (spec["inline_policies"] or {}).items()},
        "managed_policies": sorted(spec["managed_policies"] or []),
        "tags": tags_after((current or {}).get("tags", {}), tags, purge_tags),
    }


def differs(have, want):
    if compare_policies(have["trust_policy"], want["trust_policy"]):
        return True
    if set(have["inline_policies"]) != set(want["inline_policies"]):
        return True
    if any(compare_policies(have["inline_policies"][k], v) for k, v in want["inline_policies"].items()):
        return True
    return have["managed_policies"] != want["managed_policies"] or have["tags"] != want["tags"]


def read_all(iam):
    """Every role of the account, by name, and the instance profiles each is in: one paginated call."""
    details = paginate(iam, "get_account_authorization_details", "RoleDetailList", Filter=["Role"])
    return ({d["RoleName"]: view(d) for d in details},
            {d["RoleName"]: [i["InstanceProfileName"] for i in d.get("InstanceProfileList", [])] for d in details})


def read_each(iam, names):
    """The named roles as read_all describes them, read one by one (for a few roles)."""
    found, profiles = {}, {}
    for name in names:
        try:
            role = iam.get_role(aws_retry=True, RoleName=name)["Role"]
        except is_boto3_error_code("NoSuchEntity"):
            continue
        inline = paginate(iam, "list_role_policies", "PolicyNames", RoleName=name)
        detail = dict(role, RolePolicyList=[
            {"PolicyName": policy, "PolicyDocument": iam.get_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)["PolicyDocument"]}
            for policy in inline])
        detail["AttachedManagedPolicies"] = paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        found[name] = view(detail)
        profiles[name] = None  # read when the role is deleted (instance_profiles)
    return found, profiles


def instance_profiles(iam, name, known):
    if known is not None:
        return known
    return [i["InstanceProfileName"] for i in paginate(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name)]


def create(iam, spec, tags):
    name = spec["name"]
    try:
        iam.create_role(aws_retry=True, RoleName=name, AssumeRolePolicyDocument=json.dumps(_doc(spec["trust_policy"])),
                        Description=spec["description"] or "", Tags=ansible_dict_to_boto3_tag_list(tags or {}))
    except is_boto3_error_code("EntityAlreadyExists"):
        pass  # our create, resent after its answer was lost: converged below like any existing role
    role = iam.get_role(aws_retry=True, RoleName=name)["Role"]
    return {"name": name, "arn": role["Arn"], "trust_policy": _doc(role.get("AssumeRolePolicyDocument")),
            "inline_policies": {}, "managed_policies": [], "tags": boto3_tag_list_to_ansible_dict(role.get("Tags", []))}


def update(iam, have, want, tags, purge_tags):
    name = want["name"]
    if compare_policies(have["trust_policy"], want["trust_policy"]):
        iam.update_assume_role_policy(aws_retry=True, RoleName=name, PolicyDocument=json.dumps(want["trust_policy"]))
    for policy, document in want["inline_policies"].items():
        if policy not in have["inline_policies"] or compare_policies(have["inline_policies"][policy], document):
            iam.put_role_policy(aws_retry=True, RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document))
    for policy in set(have["inline_policies"]) - set(want["inline_policies"]):
        iam.delete_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)
    for arn in set(want["managed_policies"]) - set(have["managed_policies"]):
        iam.attach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn)
    for arn in set(have["managed_policies"]) - set(want["managed_policies"]):
        iam.detach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn)
    to_set, to_remove = tag_diff(have["tags"], tags, purge_tags)
    if to_set:
        iam.tag_role(aws_retry=True, RoleName=name, Tags=ansible_dict_to_boto3_tag_list(to_set))
    if to_remove:
        iam.untag_role(aws_retry=True, RoleName=name, TagKeys=to_remove)
    return dict(want, arn=have["arn"])


def delete(iam, have, profiles):
    name = have["name"]
    try:
        for policy in have["inline_policies"]:
            iam.delete_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)
        for arn in have["managed_policies"]:
            iam.detach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn)
        for profile in profiles:
            iam.remove_role_from_instance_profile(aws_retry=True, RoleName=name, InstanceProfileName=profile)
        iam.delete_role(aws_retry=True, RoleName=name)
    except is_boto3_error_code("NoSuchEntity"):
        pass  # gone already: a delete resent after its answer was lost


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            roles=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                trust_policy=dict(type="raw"),
                inline_policies=dict(type="dict", default={}),
                managed_policies=dict(type="list", elements="str", default=[]),
                description=dict(type="str", default=""),
            )),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    present = p["state"] == "present"
    for index, spec in enumerate(p["roles"]):
        if present and not spec["trust_policy"]:
            module.fail_json(msg="roles[%d].trust_policy is required with state=present (role %s)." % (index, spec["name"]))
    iam = client(module, "iam")
    before, after, changed, found = [], [], False, {}
    with aws_errors(module, "IAM roles %s" % ", ".join(s["name"] for s in p["roles"])):
        names = [spec["name"] for spec in p["roles"]]
        existing, profiles = read_each(iam, names) if len(names) <= 2 else read_all(iam)
        for spec in p["roles"]:
            have = existing.get(spec["name"])
            if have:
                before.append(have)
            if not present:
                if have:
                    changed = True
                    if not module.check_mode:
                        delete(iam, have, instance_profiles(iam, spec["name"], profiles.get(spec["name"], [])))
                continue
            want = wanted(spec, have, p["tags"], p["purge_tags"])
            if have is not None and not differs(have, want):
                after.append(have)
                found[spec["name"]] = {"name": spec["name"], "arn": have["arn"]}
                continue
            changed = True
            if module.check_mode:
                after.append(want)
                continue
            now = have or create(iam, spec, p["tags"])
            done = update(iam, now, want, p["tags"], p["purge_tags"])
            after.append(done)
            found[spec["name"]] = {"name": spec["name"], "arn": done["arn"]}
    exit_with(module, changed, before, after, kind="roles", roles=found)


if __name__ == "__main__":
    main()
