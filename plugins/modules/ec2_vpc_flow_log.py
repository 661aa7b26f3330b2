#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_flow_log
short_description: VPC flow logs delivered to CloudWatch Logs
version_added: 0.1.0
description:
  - Ensures one flow log for O(resource_id) delivering to the log group O(log_group_name).
  - amazon.aws (10.1) and community.aws (10.0) have no module for flow logs.
  - CreateFlowLogs carries a client token per call, so a call resent after a lost answer creates
    no second flow log; AWS refuses a second flow log of a resource to the same log group
    (C(FlowLogAlreadyExists)), and one a resend without the token made is adopted.
  - Flow logs cannot be modified in AWS; a changed O(traffic_type), role or aggregation
    interval replaces the flow log; it holds no data of its own, the log group keeps the logs.
options:
  resource_id:
    description: The VPC, subnet or network interface ID.
    type: str
    required: true
  resource_type:
    description: Kind of O(resource_id).
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  log_group_name:
    description: CloudWatch Logs group receiving the records.
    type: str
    required: true
  deliver_logs_permission_arn:
    description: IAM role the flow log service assumes to write to O(log_group_name). Required with O(state=present).
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
    description: Whether the flow log should exist.
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
- name: Flow logs for the production VPC
  stream_sales.platform.ec2_vpc_flow_log:
    resource_id: vpc-0123456789abcdef0
    log_group_name: /stream-sales/production/vpc-flow-logs
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/stream-sales-production-flow-logs
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
      description: Its ID.
      type: str
      sample: fl-0123456789abcdef0
    traffic_type:
      description: Recorded traffic.
      type: str
    log_group_name:
      description: Destination log group.
      type: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.vpc import client_token


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
        "tags": boto3_tag_list_to_ansible_dict(flow_log.get("Tags", [])),
    }


def find(ec2, resource_id, log_group_name):
    return paginate(ec2, "describe_flow_logs", "FlowLogs",
                    Filters=[{"Name": "resource-id", "Values": [resource_id]},
                             {"Name": "log-group-name", "Values": [log_group_name]}])


def create(module, ec2, wanted, extra):
    """Create the flow log; its ID. One that a call resent without its token made (AWS answers
    FlowLogAlreadyExists: same settings, same destination) is adopted."""
    p = module.params
    try:
        res = ec2.create_flow_logs(
            aws_retry=True, ResourceIds=[p["resource_id"]], ResourceType=p["resource_type"],
            TrafficType=p["traffic_type"], LogDestinationType="cloud-watch-logs",
            LogGroupName=p["log_group_name"], DeliverLogsPermissionArn=p["deliver_logs_permission_arn"],
            MaxAggregationInterval=p["max_aggregation_interval"], ClientToken=client_token(), **extra,
        )
        failed = res.get("Unsuccessful") or []
        if not failed:
            return res["FlowLogIds"][0]
        if any((f.get("Error") or {}).get("Code") != "FlowLogAlreadyExists" for f in failed):
            module.fail_json(msg="Flow log creation failed", unsuccessful=failed)
    except is_boto3_error_code("FlowLogAlreadyExists"):
        pass
    same = [f for f in find(ec2, p["resource_id"], p["log_group_name"])
            if all(describe(f).get(k) == v for k, v in wanted.items())]
    if not same:
        module.fail_json(msg=f"AWS answered FlowLogAlreadyExists for {p['resource_id']} but shows no such flow log.")
    return same[0]["FlowLogId"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_id=dict(type="str", required=True),
            resource_type=dict(type="str", default="VPC", choices=["VPC", "Subnet", "NetworkInterface"]),
            log_group_name=dict(type="str", required=True),
            deliver_logs_permission_arn=dict(type="str"),
            traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
            max_aggregation_interval=dict(type="int", default=600, choices=[60, 600]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["deliver_logs_permission_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    ec2 = client(module, "ec2")
    try:
        existing = find(ec2, p["resource_id"], p["log_group_name"])
        wanted = {
            "resource_id": p["resource_id"], "traffic_type": p["traffic_type"],
            "log_group_name": p["log_group_name"], "deliver_logs_permission_arn": p["deliver_logs_permission_arn"],
            "max_aggregation_interval": p["max_aggregation_interval"],
        }
        current = describe(existing[0]) if existing else {}
        changed = False
        after = {}
        if p["state"] == "present":
            replace = current and any(current.get(k) != v for k, v in wanted.items())
            tags = p["tags"]
            if current and not replace:
                to_set, to_remove = tag_diff(current["tags"], tags, p["purge_tags"])
                after = dict(current, tags=tags_after(current["tags"], tags, p["purge_tags"]))
                changed = bool(to_set or to_remove)
                if changed and not module.check_mode:
                    if to_remove:
                        ec2.delete_tags(aws_retry=True, Resources=[current["flow_log_id"]], Tags=[{"Key": k} for k in to_remove])
                    if to_set:
                        ec2.create_tags(aws_retry=True, Resources=[current["flow_log_id"]],
                                        Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])
            else:
                changed = True
                after = dict(wanted, tags=tags or {})
                if not module.check_mode:
                    if replace:
                        ec2.delete_flow_logs(aws_retry=True, FlowLogIds=[current["flow_log_id"]])
                    extra = {"TagSpecifications": boto3_tag_specifications(tags, ["vpc-flow-log"])} if tags else {}
                    after["flow_log_id"] = create(module, ec2, wanted, extra)
        elif current:
            changed = True
            if not module.check_mode:
                ec2.delete_flow_logs(aws_retry=True, FlowLogIds=[f["FlowLogId"] for f in existing])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the flow log of {p['resource_id']}")
    result = dict(changed=changed, flow_log=after)
    if module._diff:
        result["diff"] = dict(before=current, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
