#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_log_group
short_description: A CloudWatch Logs log group with its retention and tags, honouring check mode
version_added: 0.1.0
description:
  - Creates the log group O(log_group_name) or brings its retention and tags to what is asked; returns
    a diff (name, retention, tags).
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
    description: Name of the log group.
    type: str
    required: true
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
"""

RETURN = r"""
arn:
  description: The group's ARN (as amazon.aws C(cloudwatchlogs_log_group) returns it), once it exists.
  returned: when the group exists
  type: str
log_group:
  description: The group after the change (name, retention, tags, kms_key_id when given, arn when it exists).
  returned: always
  type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, tag_diff, tags_after

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def find(logs, name):
    for group in logs.describe_log_groups(aws_retry=True, logGroupNamePrefix=name).get("logGroups", []):
        if group["logGroupName"] == name:
            return group
    return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            log_group_name=dict(type="str", required=True),
            retention=dict(type="int"),
            kms_key_id=dict(type="str", no_log=False),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name, retention, key = p["log_group_name"], p["retention"], p["kms_key_id"]
    if retention is not None and retention not in RETENTION_DAYS:
        module.fail_json(msg="retention is %s; allowed: %s." % (retention, ", ".join(map(str, RETENTION_DAYS))))
    logs = client(module, "logs")
    try:
        group = find(logs, name)
        tags = logs.list_tags_log_group(aws_retry=True, logGroupName=name).get("tags", {}) if group else {}
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
                    # Our create, resent after its answer was lost: converge what is there.
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
            if group.get("arn"):
                after["arn"] = group["arn"]
        elif group and group.get("arn"):
            after["arn"] = group["arn"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to converge log group %s" % name)
    result = dict(changed=changed, log_group=after)
    if after.get("arn"):
        result["arn"] = after["arn"]
    if module._diff:
        result["diff"] = {"before": before, "after": after if changed else before}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
