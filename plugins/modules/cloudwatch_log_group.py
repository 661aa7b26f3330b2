#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_log_group
short_description: CloudWatch Logs log groups with their retention, KMS key and tags, honouring check mode
version_added: 0.1.0
description:
  - Creates the log group O(log_group_name) - or each of O(log_groups) - or brings its retention and
    tags to what is asked; returns a diff (name, retention, tags).
  - The groups of O(log_groups) are found with one C(DescribeLogGroups) walk on the prefix their
    names share (a group it does not list is created, and adopted if it was there after all), and
    their tags with one Resource Groups Tagging API call (C(tag:GetResources)); a group whose tags
    differ there, or that it does not list, is read on its own before anything is written (that
    API is eventually consistent).
  - Upstream lacks this (measured with amazon.aws 10.1 C(cloudwatchlogs_log_group)) - on an existing
    group whose retention differs, it calls C(PutRetentionPolicy) in check mode too, so a
    C(--check --diff) run or C(playbooks/drift.yml) changed the account; it also returns no diff.
  - Upstream also sets a KMS key only when it creates the group; O(kms_key_id) is associated with an
    existing group whose key differs (C(AssociateKmsKey)), and a resent create whose first attempt
    went through is converged rather than failed.
  - Deleting a log group is left to amazon.aws C(cloudwatchlogs_log_group) (C(state=absent)), which
    honours check mode.
options:
  log_group_name:
    description: Name of the log group. One of O(log_group_name) and O(log_groups) is required.
    type: str
  log_groups:
    description: Names of log groups that share O(retention), O(kms_key_id) and O(tags).
    type: list
    elements: str
  retention:
    description: Days to keep the events (a value CloudWatch Logs accepts); omitted leaves it alone.
    type: int
  kms_key_id:
    description:
      - ARN of the KMS key that encrypts the group's events; omitted leaves its encryption alone.
      - The key's policy must let C(logs.<region>.amazonaws.com) use it for this group.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Reports what would change without changing it.
    support: full
  diff_mode:
    description: Returns the group's name, retention, tags (and KMS key when O(kms_key_id) is given) before and after.
    support: full
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: A function's log group, kept 30 days
  stream_sales.platform.cloudwatch_log_group:
    log_group_name: /aws/lambda/stream-sales-production-server
    retention: 30
    tags: {Project: StreamSales}

- name: Every function's log group, found in one list call
  stream_sales.platform.cloudwatch_log_group:
    log_groups: [/aws/lambda/stream-sales-production-server, /aws/lambda/stream-sales-production-warmer]
    retention: 30
"""

RETURN = r"""
arn:
  description: The group's ARN (as amazon.aws C(cloudwatchlogs_log_group) returns it), once it exists.
  returned: when the group exists
  type: str
log_group:
  description: The group after the change (name, retention, tags, kms_key_id when given, arn when it exists).
  returned: with O(log_group_name)
  type: dict
log_groups:
  description: Each group of O(log_groups) after the change, by name (as RV(log_group)).
  returned: with O(log_groups)
  type: dict
"""

import functools
import os

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_by_arn, tags_to_compare
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def find(logs, name):
    for group in logs.describe_log_groups(aws_retry=True, logGroupNamePrefix=name).get("logGroups", []):
        if group["logGroupName"] == name:
            return group
    return None


def find_all(logs, names):
    """{name: group} of those of `names` that exist: one walk on their common prefix."""
    prefix = os.path.commonprefix(names)
    if len(names) == 1 or not prefix:
        return {n: g for n, g in ((n, find(logs, n)) for n in names) if g}
    return {g["logGroupName"]: g for g in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)
            if g["logGroupName"] in names}


def group_arn(group):
    """The group's ARN as tagging APIs name it (DescribeLogGroups' `arn` ends in `:*`)."""
    return group.get("logGroupArn") or group["arn"].removesuffix(":*")


def group_tags(logs, name):
    return logs.list_tags_log_group(aws_retry=True, logGroupName=name).get("tags", {})


def converge(module, logs, name, group, listed):
    """(changed, before, after) of one group brought to what is asked; listed: tags_by_arn's answer."""
    p = module.params
    retention, key = p["retention"], p["kms_key_id"]
    tags = tags_to_compare(listed, group_arn(group), p["tags"], p["purge_tags"], functools.partial(group_tags, logs, name)) if group else {}
    before = {"name": name, "retention": group.get("retentionInDays"), "tags": tags} if group else {}
    after = {"name": name, "retention": retention if retention is not None else (group or {}).get("retentionInDays"),
             "tags": tags_after(tags, p["tags"], p["purge_tags"])}
    if key:
        if group:
            before["kms_key_id"] = group.get("kmsKeyId")
        after["kms_key_id"] = key
    to_set, to_remove = tag_diff(tags, p["tags"], p["purge_tags"])
    changed = before != after
    if changed and not module.check_mode:
        if not group:
            try:
                logs.create_log_group(aws_retry=True, logGroupName=name, **({"tags": p["tags"]} if p["tags"] else {}),
                                      **({"kmsKeyId": key} if key else {}))
                to_set, to_remove = {}, []
            except is_boto3_error_code("ResourceAlreadyExistsException"):
                # Our create, resent after its answer was lost (or one the list did not show yet):
                # converge what is there.
                group = find(logs, name) or {}
                to_set = p["tags"] or {}
        if key and group and group.get("kmsKeyId") != key:
            logs.associate_kms_key(aws_retry=True, logGroupName=name, kmsKeyId=key)
        if retention is not None and (group or {}).get("retentionInDays") != retention:
            logs.put_retention_policy(aws_retry=True, logGroupName=name, retentionInDays=retention)
        if to_set:
            logs.tag_log_group(aws_retry=True, logGroupName=name, tags=to_set)
        if to_remove:
            logs.untag_log_group(aws_retry=True, logGroupName=name, tags=to_remove)
        group = find(logs, name) or {}
    if (group or {}).get("arn"):
        after["arn"] = group["arn"]
    return changed, before, after


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            log_group_name=dict(type="str"),
            log_groups=dict(type="list", elements="str"),
            retention=dict(type="int"),
            kms_key_id=dict(type="str", no_log=False),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_one_of=[("log_group_name", "log_groups")],
        mutually_exclusive=[("log_group_name", "log_groups")],
        supports_check_mode=True,
    )
    p = module.params
    retention = p["retention"]
    if retention is not None and retention not in RETENTION_DAYS:
        module.fail_json(msg="retention is %s; allowed: %s." % (retention, ", ".join(map(str, RETENTION_DAYS))))
    names = p["log_groups"] if p["log_groups"] is not None else [p["log_group_name"]]
    logs = client(module, "logs")
    results = {}
    with aws_errors(module, "log group(s) %s" % ", ".join(names)):
        found = find_all(logs, names)
        # DescribeLogGroups shows no tags: one tagging API read for the groups found, a group's
        # own read only where that differs.
        listed = tags_by_arn(module, [group_arn(g) for g in found.values()], p["tags"])
        for name in names:
            results[name] = converge(module, logs, name, found.get(name), listed)
    changed = any(r[0] for r in results.values())
    if p["log_groups"] is None:
        one_changed, before, after = results[p["log_group_name"]]
        result = dict(changed=one_changed, log_group=after)
        if after.get("arn"):
            result["arn"] = after["arn"]
        if module._diff:
            result["diff"] = {"before": before, "after": after if one_changed else before}
        module.exit_json(**result)
    exit_with(module, changed, [r[1] for r in results.values() if r[1]], [r[2] if r[0] else r[1] for r in results.values()],
              kind="log_groups", log_groups={n: r[2] for n, r in results.items()})


if __name__ == "__main__":
    main()
