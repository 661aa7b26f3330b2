#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_metric_alarms
short_description: The set of CloudWatch metric alarms whose names start with a prefix
version_added: 0.1.0
description:
  - Converges every alarm whose name starts with O(prefix) to O(alarms) in one run. It creates
    missing ones, updates changed ones in place (PutMetricAlarm), tags them, and with
    O(purge=true) deletes alarms under the prefix that are no longer wanted.
  - The tags of existing alarms are read in one Resource Groups Tagging API call
    (C(tag:GetResources)); an alarm whose tags differ there, or that it does not list, is read on
    its own before anything is written (that API is eventually consistent).
  - Why not M(amazon.aws.cloudwatch_metric_alarm) (amazon.aws 10.1.2, measured)? It has no tags option
    (every resource of the stack is tagged), returns no diff, reads one alarm per task (one
    DescribeAlarms each, where this module reads the prefix once), and deletes nothing that is no
    longer wanted.
options:
  prefix:
    description: Name prefix this module owns, e.g. C(stream-sales-production-).
    type: str
    required: true
  alarms:
    description:
      - Alarms in the PutMetricAlarm shape (C(AlarmName), C(Namespace), C(MetricName), C(Dimensions),
        C(Statistic), C(Period), C(EvaluationPeriods), C(DatapointsToAlarm), C(Threshold),
        C(ComparisonOperator), C(TreatMissingData), C(AlarmDescription), C(AlarmActions), C(OKActions)).
      - Each C(AlarmName) must start with O(prefix).
    type: list
    elements: dict
    default: []
  purge:
    description: Delete alarms under O(prefix) that are not in O(alarms).
    type: bool
    default: true
  state:
    description: C(absent) deletes every alarm under O(prefix).
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
- name: Database CPU alarm
  stream_sales.platform.cloudwatch_metric_alarms:
    prefix: stream-sales-production-
    alarms:
      - AlarmName: stream-sales-production-db-cpu
        Namespace: AWS/RDS
        MetricName: CPUUtilization
        Dimensions: [{Name: DBClusterIdentifier, Value: stream-sales-production-cluster}]
        Statistic: Average
        Period: 300
        EvaluationPeriods: 2
        Threshold: 80
        ComparisonOperator: GreaterThanThreshold
"""

RETURN = r"""
alarms:
  description: Names of the alarms under the prefix after the run.
  returned: always
  type: list
  elements: str
updated:
  description: Names of the alarms created or changed.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the alarms deleted.
  returned: always
  type: list
  elements: str
"""

import functools

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_by_arn
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_to_compare

DEFAULTS = {"TreatMissingData": "missing", "AlarmActions": [], "OKActions": [], "InsufficientDataActions": [],
            "AlarmDescription": "", "Dimensions": [], "ActionsEnabled": True}


def normalise(alarm):
    """The fields PutMetricAlarm takes, with AWS's defaults filled in, for comparison."""
    out = dict(DEFAULTS)
    out.update({k: v for k, v in alarm.items() if v is not None})
    out["Threshold"] = float(out["Threshold"])
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in out:
            out[key] = int(out[key])
    out["Dimensions"] = sorted(({"Name": d["Name"], "Value": str(d["Value"])} for d in out["Dimensions"]),
                               key=lambda d: d["Name"])
    return out


def differs(current, wanted):
    cur = normalise({k: current.get(k) for k in wanted})
    return any(cur.get(k) != v for k, v in wanted.items())


def alarm_tags(cw, arn):
    return boto3_tag_list_to_ansible_dict(cw.list_tags_for_resource(aws_retry=True, ResourceARN=arn).get("Tags", []))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            prefix=dict(type="str", required=True),
            alarms=dict(type="list", elements="dict", default=[]),
            purge=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted = {} if p["state"] == "absent" else {a["AlarmName"]: normalise(a) for a in p["alarms"]}
    stray = [n for n in wanted if not n.startswith(p["prefix"])]
    if stray:
        module.fail_json(msg=f"alarms {stray} do not start with prefix {p['prefix']!r}.")
    cw = client(module, "cloudwatch")
    updated, deleted = [], []
    try:
        current = {a["AlarmName"]: a for a in paginate(cw, "describe_alarms", "MetricAlarms", AlarmNamePrefix=p["prefix"])}
        # DescribeAlarms shows no tags: one tagging API read for every kept alarm, an alarm's own
        # read only where that differs.
        listed = tags_by_arn(module, [current[n]["AlarmArn"] for n in wanted if n in current], p["tags"])
        for name, alarm in wanted.items():
            if name not in current or differs(current[name], alarm):
                updated.append(name)
                if not module.check_mode:
                    extra = {"Tags": ansible_dict_to_boto3_tag_list(p["tags"])} if p["tags"] and name not in current else {}
                    cw.put_metric_alarm(aws_retry=True, **alarm, **extra)
            if name in current and p["tags"] is not None:
                arn = current[name]["AlarmArn"]
                have = tags_to_compare(listed, arn, p["tags"], p["purge_tags"], functools.partial(alarm_tags, cw, arn))
                to_set, to_remove = tag_diff(have, p["tags"], p["purge_tags"])
                if (to_set or to_remove) and name not in updated:
                    updated.append(name)
                if not module.check_mode:
                    if to_remove:
                        cw.untag_resource(aws_retry=True, ResourceARN=arn, TagKeys=to_remove)
                    if to_set:
                        cw.tag_resource(aws_retry=True, ResourceARN=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))
        if p["purge"] or p["state"] == "absent":
            deleted = sorted(set(current) - set(wanted))
            if deleted and not module.check_mode:
                for i in range(0, len(deleted), 100):  # DeleteAlarms takes 100 names at most
                    cw.delete_alarms(aws_retry=True, AlarmNames=deleted[i:i + 100])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage alarms under {p['prefix']}")
    after = sorted((set(current) | set(wanted)) - set(deleted))
    result = dict(changed=bool(updated or deleted), alarms=after, updated=updated, deleted=deleted)
    if module._diff:
        shown = ("MetricName", "Statistic", "Period", "EvaluationPeriods", "Threshold", "ComparisonOperator")
        result["diff"] = dict(
            before={n: {k: current[n].get(k) for k in shown} for n in sorted(current) if n in updated or n in deleted},
            after={n: {k: wanted[n].get(k) for k in shown} for n in updated},
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
