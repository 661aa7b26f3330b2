#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_alias_key
short_description: A customer managed KMS key, found by its alias, for its whole life
version_added: 0.1.0
description:
  - Ensures the symmetric encryption key that O(alias) names, with its key policy, automatic
    rotation (every O(rotation_period_days)), description and tags; a key scheduled for deletion
    is brought back (its deletion cancelled, the key enabled again), a disabled one enabled.
  - With O(state=absent) the key's deletion is scheduled after O(pending_window_days) (AWS
    deletes a key no sooner than 7 days later). The alias stays until AWS deletes the key, so a
    rerun reports the pending deletion and a deploy in between cancels it.
  - Resend-safe. C(CreateKey) takes no client token, so a create whose answer was lost and was
    sent again leaves a second key. The key is tagged C(Name=<alias>) at its creation. Before
    creating, keys so tagged that no alias names are looked for (C(ListKeys), C(ListAliases), their
    tags) and the oldest is adopted; after the alias is set, any other is scheduled for deletion,
    with a warning. Only the create path pays for this.
  - Why not M(amazon.aws.kms_key) (10.1, measured) - a no-change run makes 11 calls, three of them
    repeats (C(DescribeKey) twice, C(GetKeyPolicy) twice, C(GetKeyRotationStatus) twice) plus the
    account's whole alias list, where this module makes 4 (C(DescribeKey), C(GetKeyPolicy),
    C(GetKeyRotationStatus), C(ListResourceTags)); it cannot set the rotation period; and its
    create is not resend-safe (a lost answer leaves an orphan key with no alias).
options:
  alias:
    description: The key's alias, C(alias/...).
    type: str
    required: true
  description:
    description: The key's description.
    type: str
    default: ""
  policy:
    description:
      - The key policy. Required to create. It must let the account (its IAM policies) administer
        the key, or AWS refuses it (the policy lockout safety check).
    type: dict
  enable_key_rotation:
    description: Automatic rotation of the key material.
    type: bool
    default: true
  rotation_period_days:
    description: Days between automatic rotations (90 to 2560), with O(enable_key_rotation).
    type: int
    default: 365
  pending_window_days:
    description: With O(state=absent), days before AWS deletes the key (7 to 30).
    type: int
    default: 7
  state:
    description: Whether the key should exist (C(absent) schedules its deletion).
    type: str
    choices: [present, absent]
    default: present
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
- name: The environment's key
  stream_sales.platform.kms_alias_key:
    alias: alias/stream-sales-production
    description: Stream Sales production
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: AccountAdministersTheKey
          Effect: Allow
          Principal: {AWS: "arn:aws:iam::123456789012:root"}
          Action: "kms:*"
          Resource: "*"
    tags:
      Environment: production

- name: Schedule its deletion (dev teardown)
  stream_sales.platform.kms_alias_key:
    alias: alias/stream-sales-dev
    state: absent
"""

RETURN = r"""
key:
  description: The key after the run (empty when there is none).
  returned: always
  type: dict
  contains:
    arn:
      description: The key's ARN (what services that take no alias need).
      type: str
    key_id:
      description: The key's ID.
      type: str
    alias:
      description: Its alias.
      type: str
    state:
      description: C(Enabled), C(PendingDeletion), ...
      type: str
    deletion_date:
      description: When AWS deletes the key (ISO 8601), when its deletion is scheduled.
      type: str
    enable_key_rotation:
      description: Whether automatic rotation is on.
      type: bool
    rotation_period_days:
      description: Days between rotations.
      type: int
    policy:
      description: The key policy.
      type: dict
    tags:
      description: The key's tags.
      type: dict
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state

GONE = ("PendingDeletion", "PendingReplicaDeletion")


def kms_tags(tags):
    return ansible_dict_to_boto3_tag_list(tags, tag_name_key_name="TagKey", tag_value_key_name="TagValue")


def describe_key(kms, key_id):
    try:
        return kms.describe_key(aws_retry=True, KeyId=key_id)["KeyMetadata"]
    except is_boto3_error_code("NotFoundException"):
        return None


def read(kms, meta, alias):
    """The key as this module compares it: 3 reads besides DescribeKey."""
    view = {
        "arn": meta["Arn"], "key_id": meta["KeyId"], "alias": alias, "state": meta["KeyState"],
        "description": meta.get("Description", ""),
    }
    if meta.get("DeletionDate"):
        view["deletion_date"] = meta["DeletionDate"].isoformat()
    if meta["KeyState"] in GONE:
        return view  # AWS answers nothing more about a key on its way out
    policy = kms.get_key_policy(aws_retry=True, KeyId=meta["KeyId"], PolicyName="default")["Policy"]
    rotation = kms.get_key_rotation_status(aws_retry=True, KeyId=meta["KeyId"])
    tags = paginate(kms, "list_resource_tags", "Tags", KeyId=meta["KeyId"])
    view.update(
        policy=json.loads(policy),
        enable_key_rotation=bool(rotation.get("KeyRotationEnabled")),
        rotation_period_days=rotation.get("RotationPeriodInDays"),
        tags=boto3_tag_list_to_ansible_dict(tags, "TagKey", "TagValue"),
    )
    return view


def wanted_tags(p):
    return dict(p["tags"] or {}, Name=p["alias"])


def orphans(kms, alias):
    """Keys of ours that no alias names: creates whose answer was lost and were sent again.

    Read from KMS itself (ListKeys, ListAliases, then the tags of the keys no alias names), not
    from the Resource Groups Tagging API, which lags behind new keys. Only on the create path.
    """
    aliased = {a.get("TargetKeyId") for a in paginate(kms, "list_aliases", "Aliases")}
    keys = []
    for item in paginate(kms, "list_keys", "Keys"):
        if item["KeyId"] in aliased:
            continue
        try:
            tags = paginate(kms, "list_resource_tags", "Tags", KeyId=item["KeyId"])
        except is_boto3_error_code(["AccessDeniedException", "NotFoundException"]):
            continue  # not ours to look at, or gone meanwhile
        if {"TagKey": "Name", "TagValue": alias} not in tags:
            continue
        meta = describe_key(kms, item["KeyId"])
        if meta and meta["KeyState"] not in GONE and meta.get("KeyManager") == "CUSTOMER":
            keys.append(meta)
    return sorted(keys, key=lambda m: m["CreationDate"])


def retire(module, kms, meta, why):
    try:
        kms.schedule_key_deletion(aws_retry=True, KeyId=meta["KeyId"], PendingWindowInDays=7)
    except is_boto3_error_code("KMSInvalidStateException"):
        return  # already on its way out
    module.warn(f"KMS key {meta['Arn']} ({why}) is scheduled for deletion in 7 days.")


def create(module, kms):
    """The new key's metadata, and whether it is fresh (else adopted: converge it like any other)."""
    p = module.params
    found = orphans(kms, p["alias"])
    if found:
        meta, fresh = found[0], False
        for extra in found[1:]:
            retire(module, kms, extra, f"another key tagged Name={p['alias']} that no alias names")
    else:
        meta, fresh = kms.create_key(
            aws_retry=True, Policy=json.dumps(p["policy"]), Description=p["description"],
            KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT", Tags=kms_tags(wanted_tags(p)),
        )["KeyMetadata"], True
    try:
        kms.create_alias(aws_retry=True, AliasName=p["alias"], TargetKeyId=meta["KeyId"])
    except is_boto3_error_code("AlreadyExistsException"):
        # Another run made the alias meanwhile: its key is the environment's; ours goes.
        retire(module, kms, meta, f"made while {p['alias']} was created elsewhere")
        meta, fresh = describe_key(kms, p["alias"]), False
    # A CreateKey whose answer was lost and that botocore sent again made a key no alias names.
    for extra in orphans(kms, p["alias"]):
        retire(module, kms, extra, f"a resent create of {p['alias']} whose first answer was lost")
    if fresh and p["enable_key_rotation"]:
        kms.enable_key_rotation(aws_retry=True, KeyId=meta["KeyId"], RotationPeriodInDays=p["rotation_period_days"])
    elif not fresh:
        converge_present(module, kms, meta)
    return meta


def converge_present(module, kms, meta):
    """Bring an existing key to what is asked; returns the list of what changed."""
    p = module.params
    done = []
    key = meta["KeyId"]
    if meta["KeyState"] in GONE:
        done.append("deletion cancelled")
        if not module.check_mode:
            kms.cancel_key_deletion(aws_retry=True, KeyId=key)
            meta = describe_key(kms, key)
    if meta["KeyState"] == "Disabled" or "deletion cancelled" in done:
        done.append("enabled")
        if not module.check_mode:
            kms.enable_key(aws_retry=True, KeyId=key)
    current = read(kms, meta, p["alias"]) if "deletion cancelled" not in done or not module.check_mode else {}
    if p["policy"] is not None and compare_policies(current.get("policy") or {}, p["policy"]):
        done.append("policy")
        if not module.check_mode:
            kms.put_key_policy(aws_retry=True, KeyId=key, PolicyName="default", Policy=json.dumps(p["policy"]))
    rotation = (p["enable_key_rotation"], p["rotation_period_days"] if p["enable_key_rotation"] else None)
    have = (current.get("enable_key_rotation"), current.get("rotation_period_days") if current.get("enable_key_rotation") else None)
    if rotation != have:
        done.append("rotation")
        if not module.check_mode:
            if p["enable_key_rotation"]:
                kms.enable_key_rotation(aws_retry=True, KeyId=key, RotationPeriodInDays=p["rotation_period_days"])
            else:
                kms.disable_key_rotation(aws_retry=True, KeyId=key)
    if p["description"] != current.get("description", meta.get("Description", "")):
        done.append("description")
        if not module.check_mode:
            kms.update_key_description(aws_retry=True, KeyId=key, Description=p["description"])
    to_set, to_remove = tag_diff(current.get("tags") or {}, wanted_tags(p), p["purge_tags"])
    if to_set or to_remove:
        done.append("tags")
        if not module.check_mode:
            if to_remove:
                kms.untag_resource(aws_retry=True, KeyId=key, TagKeys=to_remove)
            if to_set:
                kms.tag_resource(aws_retry=True, KeyId=key, Tags=kms_tags(to_set))
    return done, current


def planned(p, meta=None, current=None):
    view = dict(current or {})
    view.update(alias=p["alias"], state="Enabled", description=p["description"],
                enable_key_rotation=p["enable_key_rotation"],
                rotation_period_days=p["rotation_period_days"] if p["enable_key_rotation"] else None,
                tags=tags_after((current or {}).get("tags"), wanted_tags(p), p["purge_tags"]))
    view.pop("deletion_date", None)
    if p["policy"] is not None:
        view["policy"] = p["policy"]
    if meta:
        view.update(arn=meta["Arn"], key_id=meta["KeyId"])
    return view


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            alias=dict(type="str", required=True),
            description=dict(type="str", default=""),
            policy=dict(type="dict"),
            enable_key_rotation=dict(type="bool", default=True),
            rotation_period_days=dict(type="int", default=365),
            pending_window_days=dict(type="int", default=7),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["alias"].startswith("alias/") or p["alias"].startswith("alias/aws/"):
        module.fail_json(msg=f"alias is {p['alias']!r}; allowed: alias/<name>, not under alias/aws/ (AWS managed keys).")
    if not 90 <= p["rotation_period_days"] <= 2560:
        module.fail_json(msg=f"rotation_period_days is {p['rotation_period_days']}; allowed: 90 to 2560.")
    if not 7 <= p["pending_window_days"] <= 30:
        module.fail_json(msg=f"pending_window_days is {p['pending_window_days']}; allowed: 7 to 30.")
    kms = client(module, "kms")
    with aws_errors(module, f"KMS key {p['alias']}"):
        meta = describe_key(kms, p["alias"])
        if p["state"] == "absent":
            before = read(kms, meta, p["alias"]) if meta else {}
            if meta is None or meta["KeyState"] in GONE:
                exit_with(module, False, before, before, key=before)
            after = dict(before, state="PendingDeletion")
            if not module.check_mode:
                res = kms.schedule_key_deletion(aws_retry=True, KeyId=meta["KeyId"],
                                                PendingWindowInDays=p["pending_window_days"])
                after["deletion_date"] = res["DeletionDate"].isoformat()
            exit_with(module, True, before, after, key=after)
        if meta is None:
            if p["policy"] is None:
                module.fail_json(msg=f"Creating the KMS key {p['alias']} needs a policy.")
            if module.check_mode:
                after = planned(p)
                exit_with(module, True, {}, after, key=after)
            meta = create(module, kms)
            after = planned(p, meta)
            exit_with(module, True, {}, after, key=after)
        done, current = converge_present(module, kms, meta)
        after = planned(p, meta, current) if done else current
        exit_with(module, bool(done), current, after, key=after, updated=done)


if __name__ == "__main__":
    main()
