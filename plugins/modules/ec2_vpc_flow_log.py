#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_flow_log
short_description: VPC flow logs delivered to CloudWatch Logs, with their log group and delivery role
version_added: 0.1.0
description:
  - Ensures one flow log for O(resource_id) delivering to the log group O(log_group_name); with
    O(log_group_retention_days), that log group with its retention and O(tags); and, with
    O(deliver_logs_role_name), the IAM role it delivers with, trusted by
    C(vpc-flow-logs.amazonaws.com) for this account's flow logs only (C(aws:SourceAccount) and
    C(aws:SourceArn) conditions, against the confused deputy; the account is the role's, or the
    caller's when the role is made), allowed to write to that log group only (inline policy
    C(write-flow-logs)), tagged with O(tags).
  - M(amazon.aws.cloudwatchlogs_log_group) fails when a CreateLogGroup resent after a lost answer
    meets the group its first attempt created (C(ResourceAlreadyExistsException), measured
    with lost answers injected); here that group is adopted.
  - amazon.aws (10.1) and community.aws (10.0) have no module for flow logs. The role was
    M(amazon.aws.iam_role) plus M(amazon.aws.iam_policy), 7 IAM calls on a no-change run, 3 of them
    repeats (measured); here GetRole and GetRolePolicy.
  - CreateFlowLogs carries a client token per call, so a call resent after a lost answer creates
    no second flow log; AWS refuses a second flow log of a resource to the same log group
    (C(FlowLogAlreadyExists)), and one a resend without the token made is adopted. A CreateRole
    resent after a lost answer (C(EntityAlreadyExists)) is adopted.
  - Flow logs cannot be modified in AWS; a changed O(traffic_type), role or aggregation
    interval replaces the flow log; it holds no data of its own, the log group keeps the logs.
options:
  resource_id:
    description:
      - The VPC, subnet or network interface ID. Required with O(state=present).
      - With O(state=absent) and omitted, only the log group and the role (when managed here) go.
    type: str
  resource_type:
    description: Kind of O(resource_id).
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  log_group_name:
    description: CloudWatch Logs group receiving the records.
    type: str
    required: true
  log_group_retention_days:
    description:
      - Days the log group keeps records. Given, the log group is managed here (created, its
        retention and tags converged; with O(state=absent), deleted). Omitted, it is left alone.
    type: int
    choices: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
  log_group_kms_key_id:
    description:
      - KMS key (ARN) that encrypts the log group of O(log_group_retention_days) - given at its
        creation, or associated with it when it has another key or none. Omitted, its
        encryption is left as it is.
      - The key's policy must let C(logs.<region>.amazonaws.com) use it for this log group.
    type: str
  deliver_logs_role_name:
    description:
      - Name of the IAM role the flow log service assumes, managed by this module (see description).
      - With O(state=absent) the role is deleted too.
      - Exactly one of O(deliver_logs_role_name) and O(deliver_logs_permission_arn) with O(state=present).
    type: str
  deliver_logs_permission_arn:
    description: ARN of an IAM role, managed elsewhere, that the flow log service assumes to write to O(log_group_name).
    type: str
  traffic_type:
    description: Which traffic to record.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  max_aggregation_interval:
    description: Seconds over which packets are aggregated into one record.
    type: int
    choices: [60, 600]
    default: 600
  state:
    description: Whether the flow log (and the role of O(deliver_logs_role_name)) should exist.
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
  - O(tags) are given to the flow log and to the role.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Flow logs for the production VPC, with their delivery role
  stream_sales.platform.ec2_vpc_flow_log:
    resource_id: vpc-0123456789abcdef0
    log_group_name: /stream-sales/production/vpc-flow-logs
    deliver_logs_role_name: stream-sales-production-vpc-flow-logs
    tags:
      Environment: production
"""

RETURN = r"""
flow_log:
  description: The flow log (empty when absent).
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: Its ID (not in check mode before it exists).
      type: str
      sample: fl-0123456789abcdef0
    traffic_type:
      description: Recorded traffic.
      type: str
    log_group_name:
      description: Destination log group.
      type: str
    deliver_logs_permission_arn:
      description: The role it delivers with.
      type: str
log_group:
  description: The log group of O(log_group_retention_days) (empty when absent or not managed here).
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    retention_days:
      description: Its retention.
      type: int
    kms_key_id:
      description: Its KMS key (when O(log_group_kms_key_id) is given).
      type: str
    tags:
      description: Its tags.
      type: dict
role:
  description: The delivery role of O(deliver_logs_role_name) (empty when absent or not managed here).
  returned: always
  type: dict
  contains:
    arn:
      description: Its ARN (not in check mode before it exists).
      type: str
    name:
      description: Its name.
      type: str
    tags:
      description: Its tags.
      type: dict
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import client_token
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import not_yet_visible
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import tags_of
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import update_tags
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

POLICY_NAME = "write-flow-logs"
SERVICE = "vpc-flow-logs.amazonaws.com"
# IAM is eventually consistent: a role created a moment ago may not be usable yet.
NEW_ROLE = not_yet_visible("NoSuchEntity")
ROLE_VISIBLE_TIMEOUT = 60


def trust(partition, account, region):
    """The flow log service, for this account's flow logs only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account},
                      "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"}}}]}


def describe(flow_log):
    if not flow_log:
        return {}
    return {
        "flow_log_id": flow_log["FlowLogId"],
        "resource_id": flow_log["ResourceId"],
        "traffic_type": flow_log.get("TrafficType"),
        "log_group_name": flow_log.get("LogGroupName"),
        "deliver_logs_permission_arn": flow_log.get("DeliverLogsPermissionArn"),
        "max_aggregation_interval": flow_log.get("MaxAggregationInterval", 600),
        "tags": tags_of(flow_log),
    }


def find(ec2, resource_id, log_group_name):
    return paginate(ec2, "describe_flow_logs", "FlowLogs",
                    Filters=[{"Name": "resource-id", "Values": [resource_id]},
                             {"Name": "log-group-name", "Values": [log_group_name]}])


def canonical(document):
    """A policy document, as IAM returns it (a dict, or URL-decoded JSON text), comparable."""
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]

    def listed(value):
        return sorted(value) if isinstance(value, list) else [value]

    return sorted(json.dumps({k: ({p: listed(v) for p, v in s[k].items()} if k == "Principal" else listed(s[k]))
                              for k in sorted(s) if k != "Sid"}, sort_keys=True) for s in statements)


def write_policy(role_arn, module):
    """Writing to the log group only. Its ARN is built from the role's partition and account."""
    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    group = f"arn:{partition}:logs:{module.region}:{account}:log-group:{module.params['log_group_name']}"
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        "Resource": [group, f"{group}:*"]}]}


def get_role(iam, name):
    try:
        return iam.get_role(aws_retry=True, RoleName=name)["Role"]
    except is_boto3_error_code("NoSuchEntity"):
        return None


def ensure_role(module, iam):
    """(changed, before, after) of the delivery role; after["arn"] is None in check mode before it exists."""
    name, tags = module.params["deliver_logs_role_name"], module.params["tags"] or {}
    role = get_role(iam, name)
    changed = role is None
    if role is None:
        before = {}
        if not module.check_mode:
            caller = client(module, "sts").get_caller_identity(aws_retry=True)["Arn"].split(":")
            wanted_trust = trust(caller[1], caller[4], module.region)
            try:
                role = iam.create_role(aws_retry=True, RoleName=name, AssumeRolePolicyDocument=json.dumps(wanted_trust),
                                       Tags=ansible_dict_to_boto3_tag_list(tags))["Role"]
            except is_boto3_error_code("EntityAlreadyExists"):
                role = get_role(iam, name)  # a resent CreateRole whose first attempt went through
        current_tags, arn = tags, (role or {}).get("Arn")
    else:
        current_tags, arn = tags_of(role), role["Arn"]
        before = {"name": name, "arn": arn, "tags": current_tags}
        wanted_trust = trust(arn.split(":")[1], arn.split(":")[4], module.region)
        if canonical(role.get("AssumeRolePolicyDocument") or {}) != canonical(wanted_trust):
            changed = True
            if not module.check_mode:
                iam.update_assume_role_policy(aws_retry=True, RoleName=name, PolicyDocument=json.dumps(wanted_trust))
        to_set, to_remove = tag_diff(current_tags, tags, module.params["purge_tags"])
        if to_set or to_remove:
            changed = True
            if not module.check_mode:
                if to_remove:
                    iam.untag_role(aws_retry=True, RoleName=name, TagKeys=to_remove)
                if to_set:
                    iam.tag_role(aws_retry=True, RoleName=name, Tags=ansible_dict_to_boto3_tag_list(to_set))
            current_tags = dict({k: v for k, v in current_tags.items() if k not in to_remove}, **to_set)
    if arn:
        wanted = write_policy(arn, module)
        try:
            policy = iam.get_role_policy(aws_retry=True, RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
        except is_boto3_error_code("NoSuchEntity"):
            policy = None
        if policy is None or canonical(policy) != canonical(wanted):
            changed = True
            if not module.check_mode:
                NEW_ROLE(iam.put_role_policy)(aws_retry=True, RoleName=name, PolicyName=POLICY_NAME,
                                              PolicyDocument=json.dumps(wanted))
    return changed, before, {"name": name, "arn": arn, "tags": current_tags}


def delete_role(module, iam):
    name = module.params["deliver_logs_role_name"]
    role = get_role(iam, name)
    if role is None:
        return False
    if not module.check_mode:
        for policy in paginate(iam, "list_role_policies", "PolicyNames", RoleName=name):
            iam.delete_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)
        try:
            iam.delete_role(aws_retry=True, RoleName=name)
        except is_boto3_error_code("NoSuchEntity"):
            pass  # a resent delete whose first attempt went through
    return True


def create(module, ec2, wanted, extra, new_role):
    """Create the flow log; its ID. One that a call resent without its token made (AWS answers
    FlowLogAlreadyExists: same settings, same destination) is adopted. A role created a moment
    ago may not be assumable yet: then the creation is retried for a while."""
    p = module.params

    def attempt():
        try:
            res = ec2.create_flow_logs(
                aws_retry=True, ResourceIds=[p["resource_id"]], ResourceType=p["resource_type"],
                TrafficType=p["traffic_type"], LogDestinationType="cloud-watch-logs",
                LogGroupName=p["log_group_name"], DeliverLogsPermissionArn=wanted["deliver_logs_permission_arn"],
                MaxAggregationInterval=p["max_aggregation_interval"], ClientToken=client_token(), **extra,
            )
        except is_boto3_error_code("FlowLogAlreadyExists"):
            return {"adopt": True}
        failed = res.get("Unsuccessful") or []
        if not failed:
            return {"id": res["FlowLogIds"][0]}
        if all((f.get("Error") or {}).get("Code") == "FlowLogAlreadyExists" for f in failed):
            return {"adopt": True}
        return {"failed": failed}

    result = wait_until(attempt, lambda r: "failed" not in r or not new_role, ROLE_VISIBLE_TIMEOUT if new_role else 0)[0]
    if "failed" in result:
        module.fail_json(msg="Flow log creation failed", unsuccessful=result["failed"])
    if "id" in result:
        return result["id"]
    same = [f for f in find(ec2, p["resource_id"], p["log_group_name"])
            if all(describe(f).get(k) == v for k, v in wanted.items())]
    if not same:
        module.fail_json(msg=f"AWS answered FlowLogAlreadyExists for {p['resource_id']} but shows no such flow log.")
    return same[0]["FlowLogId"]


def ensure_log_group(module, logs):
    """(changed, before, after) of the log group."""
    p = module.params
    name, retention, tags = p["log_group_name"], p["log_group_retention_days"], p["tags"] or {}
    key = p["log_group_kms_key_id"]
    groups = [g for g in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name) if g["logGroupName"] == name]
    if not groups:
        if not module.check_mode:
            try:
                logs.create_log_group(aws_retry=True, logGroupName=name, **({"tags": tags} if tags else {}),
                                      **({"kmsKeyId": key} if key else {}))
            except is_boto3_error_code("ResourceAlreadyExistsException"):
                # A resent create whose first attempt went through: converge it below.
                if key:
                    logs.associate_kms_key(aws_retry=True, logGroupName=name, kmsKeyId=key)
            logs.put_retention_policy(aws_retry=True, logGroupName=name, retentionInDays=retention)
            if tags:
                logs.tag_log_group(aws_retry=True, logGroupName=name, tags=tags)  # the adopted one gets them too
        return True, {}, dict({"name": name, "retention_days": retention, "tags": tags}, **({"kms_key_id": key} if key else {}))
    current = logs.list_tags_log_group(aws_retry=True, logGroupName=name).get("tags", {})
    before = {"name": name, "retention_days": groups[0].get("retentionInDays"), "tags": current}
    changed = before["retention_days"] != retention
    if changed and not module.check_mode:
        logs.put_retention_policy(aws_retry=True, logGroupName=name, retentionInDays=retention)
    if key:
        before["kms_key_id"] = groups[0].get("kmsKeyId")
        if before["kms_key_id"] != key:
            changed = True
            if not module.check_mode:
                logs.associate_kms_key(aws_retry=True, logGroupName=name, kmsKeyId=key)
    to_set, to_remove = tag_diff(current, tags, p["purge_tags"])
    if (to_set or to_remove) and not module.check_mode:
        if to_remove:
            logs.untag_log_group(aws_retry=True, logGroupName=name, tags=to_remove)
        if to_set:
            logs.tag_log_group(aws_retry=True, logGroupName=name, tags=to_set)
    after = dict(before, retention_days=retention, tags=dict({k: v for k, v in current.items() if k not in to_remove}, **to_set),
                 **({"kms_key_id": key} if key else {}))
    return changed or bool(to_set or to_remove), before, after


def ensure_present(module, ec2, iam, logs):
    p = module.params
    group_changed, group_before, group = ensure_log_group(module, logs) if logs else (False, {}, {})
    role_changed, role_before, role = False, {}, {}
    if p["deliver_logs_role_name"]:
        role_changed, role_before, role = ensure_role(module, iam)
    arn = role.get("arn") if p["deliver_logs_role_name"] else p["deliver_logs_permission_arn"]
    tags = p["tags"]
    wanted = {
        "resource_id": p["resource_id"], "traffic_type": p["traffic_type"], "log_group_name": p["log_group_name"],
        "deliver_logs_permission_arn": arn, "max_aggregation_interval": p["max_aggregation_interval"],
    }
    existing = find(ec2, p["resource_id"], p["log_group_name"])
    current = describe(existing[0]) if existing else {}
    replace = bool(current) and any(current.get(k) != v for k, v in wanted.items() if v is not None)
    if current and not replace:
        changed, now_tags = update_tags(module, ec2, current["flow_log_id"], current["tags"], tags, p["purge_tags"])
        after = dict(current, tags=now_tags)
    else:
        changed, after = True, dict(wanted, tags=tags or {})
        if not module.check_mode:
            if replace:
                ec2.delete_flow_logs(aws_retry=True, FlowLogIds=[current["flow_log_id"]])
            extra = {"TagSpecifications": boto3_tag_specifications(tags, ["vpc-flow-log"])} if tags else {}
            after["flow_log_id"] = create(module, ec2, wanted, extra, new_role=not role_before and bool(role))
    before = dict(current, **({"role": role_before} if role_before else {}), **({"log_group": group_before} if group_before else {}))
    after = dict(after, **({"role": role} if role else {}), **({"log_group": group} if group else {}))
    return changed or role_changed or group_changed, before, after, role, group


def delete_log_group(module, logs):
    name = module.params["log_group_name"]
    if not [g for g in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name) if g["logGroupName"] == name]:
        return False
    if not module.check_mode:
        try:
            logs.delete_log_group(aws_retry=True, logGroupName=name)
        except is_boto3_error_code("ResourceNotFoundException"):
            pass  # a resent delete whose first attempt went through
    return True


def ensure_absent(module, ec2, iam, logs):
    p = module.params
    existing = find(ec2, p["resource_id"], p["log_group_name"]) if p["resource_id"] else []
    if existing and not module.check_mode:
        ec2.delete_flow_logs(aws_retry=True, FlowLogIds=[f["FlowLogId"] for f in existing])
    role_gone = delete_role(module, iam) if iam else False
    group_gone = delete_log_group(module, logs) if logs else False
    return bool(existing) or role_gone or group_gone, describe(existing[0]) if existing else {}, {}, {}, {}


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            resource_id=dict(type="str"),
            resource_type=dict(type="str", default="VPC", choices=["VPC", "Subnet", "NetworkInterface"]),
            log_group_name=dict(type="str", required=True),
            log_group_retention_days=dict(type="int", choices=[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                                                               1096, 1827, 2192, 2557, 2922, 3288, 3653]),
            log_group_kms_key_id=dict(type="str", no_log=False),
            deliver_logs_role_name=dict(type="str"),
            deliver_logs_permission_arn=dict(type="str"),
            traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
            max_aggregation_interval=dict(type="int", default=600, choices=[60, 600]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("deliver_logs_role_name", "deliver_logs_permission_arn")],
        required_if=[("state", "present", ["deliver_logs_role_name", "deliver_logs_permission_arn"], True),
                     ("state", "present", ["resource_id"])],
        supports_check_mode=True,
    )
    ec2 = client(module, "ec2")
    iam = client(module, "iam") if module.params["deliver_logs_role_name"] else None
    logs = client(module, "logs") if module.params["log_group_retention_days"] else None
    with aws_errors(module, f"the flow log of {module.params['resource_id'] or module.params['log_group_name']}"):
        if module.params["state"] == "present":
            changed, before, after, role, group = ensure_present(module, ec2, iam, logs)
        else:
            changed, before, after, role, group = ensure_absent(module, ec2, iam, logs)
    exit_with(module, changed, before, after, flow_log={k: v for k, v in after.items() if k not in ("role", "log_group")}, role=role, log_group=group)


if __name__ == "__main__":
    main()
