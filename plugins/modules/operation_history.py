#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: operation_history
short_description: Record an operation on an environment (start, then end) in a DynamoDB table
version_added: 0.1.0
description:
  - The environment's operation history, like the events of a CloudFormation stack - who ran what,
    from where, when, for how long, with which collection version and git commit, and how it ended.
  - O(state=started) writes a record with result C(running) and returns its O(record_id); the table
    (on demand, key C(environment) and C(started)) is created when missing. O(state=finished)
    completes that record with the result, the duration, the changed resources and the failed task.
    A run that was killed keeps its C(running) record, so it shows in the history.
  - The record holds names, labels and messages only, never a secret, an argument or a diff.
  - In check mode nothing is written.
  - Upstream has no module for this; amazon.aws C(dynamodb_table) manages tables, not items.
options:
  table:
    description: DynamoDB table of the history, e.g. C(stream-sales-production-history).
    type: str
    required: true
  environment:
    description: The environment recorded, e.g. C(stream-sales-production) (the table's partition key).
    type: str
    required: true
  state:
    description: C(started) writes a new record, C(finished) completes O(record_id).
    type: str
    choices: [started, finished]
    default: started
  operation:
    description: What runs (deploy, migrate, rotate, rollback, teardown).
    type: str
  caller:
    description: The AWS identity (ARN) the run acts as.
    type: str
  details:
    description: More facts of the run, e.g. C(collection_version), C(git_commit), C(git_dirty), C(extra_vars).
    type: dict
    default: {}
  record_id:
    description: The record to complete (returned by O(state=started)).
    type: str
  result:
    description: How the run ended.
    type: str
    choices: [succeeded, failed]
  changes:
    description: The changed resources (role, task, item, action), as the plan callback journals them.
    type: list
    elements: dict
    default: []
  failed_task:
    description: The first failed task (role, task, item, msg), when the run failed.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Record the start of a deploy
  stream_sales.platform.operation_history:
    table: stream-sales-production-history
    environment: stream-sales-production
    operation: deploy
  register: history

- name: Record its end
  stream_sales.platform.operation_history:
    table: stream-sales-production-history
    environment: stream-sales-production
    state: finished
    record_id: "{{ history.record_id }}"
    result: succeeded
"""

RETURN = r"""
record_id:
  description: The record's sort key (start time and a random suffix).
  returned: always
  type: str
record:
  description: The record as written.
  returned: always
  type: dict
"""

import datetime
import getpass
import json
import socket
import uuid

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

# A DynamoDB item holds 400 KB: a deploy of an empty account changes ~80 resources.
MAX_CHANGES = 300
MAX_MESSAGE = 1000
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def ensure_table(module, ddb, table):
    try:
        ddb.describe_table(aws_retry=True, TableName=table)
        return
    except is_boto3_error_code("ResourceNotFoundException"):
        pass
    extra = {"Tags": ansible_dict_to_boto3_tag_list(module.params["tags"])} if module.params["tags"] else {}
    try:
        ddb.create_table(
            # Deletion protection: the history outlives every teardown (roles/history).
            aws_retry=True, TableName=table, BillingMode="PAY_PER_REQUEST", DeletionProtectionEnabled=True,
            AttributeDefinitions=[{"AttributeName": "environment", "AttributeType": "S"},
                                  {"AttributeName": "started", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "environment", "KeyType": "HASH"},
                       {"AttributeName": "started", "KeyType": "RANGE"}], **extra,
        )
    except is_boto3_error_code("ResourceInUseException"):
        pass  # a colleague created it a moment ago
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 60})


def started(module, ddb):
    p = module.params
    if not p["operation"]:
        module.fail_json(msg="operation is required with state=started.")
    at = now()
    record_id = "%s#%s" % (at.strftime(TIME_FORMAT), uuid.uuid4().hex[:8])
    record = {
        "operation": p["operation"],
        "result": "running",
        "user": getpass.getuser(),
        "host": socket.getfqdn(),
        "caller": p["caller"] or "",
        "started_at": at.strftime(TIME_FORMAT),
    }
    record.update({k: v for k, v in p["details"].items() if v not in (None, "")})
    if module.check_mode:
        module.exit_json(changed=False, record_id="", record=record)
    item = {"environment": {"S": p["environment"]}, "started": {"S": record_id}, "record": {"S": json.dumps(record, sort_keys=True)}}
    try:
        ddb.put_item(aws_retry=True, TableName=p["table"], Item=item)
    except is_boto3_error_code("ResourceNotFoundException"):
        ensure_table(module, ddb, p["table"])  # the first record of the account: the table is made then
        ddb.put_item(aws_retry=True, TableName=p["table"], Item=item)
    module.exit_json(changed=True, record_id=record_id, record=record)


def finished(module, ddb):
    p = module.params
    if not p["record_id"] or not p["result"]:
        module.fail_json(msg="record_id and result are required with state=finished.")
    key = {"environment": {"S": p["environment"]}, "started": {"S": p["record_id"]}}
    item = ddb.get_item(aws_retry=True, TableName=p["table"], Key=key, ConsistentRead=True).get("Item")
    if not item:
        module.fail_json(msg="No history record %s in %s." % (p["record_id"], p["table"]))
    record = json.loads(item["record"]["S"])
    at = now()
    begun = datetime.datetime.strptime(record["started_at"], TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    changes = [{k: str(c.get(k, ""))[:200] for k in ("role", "task", "item", "action")} for c in p["changes"]]
    counts = {}
    for change in changes:
        counts[change["action"]] = counts.get(change["action"], 0) + 1
    record.update(result=p["result"], finished_at=at.strftime(TIME_FORMAT),
                  duration_seconds=round((at - begun).total_seconds(), 1),
                  counts=counts, changes=changes[:MAX_CHANGES], changes_truncated=len(changes) > MAX_CHANGES)
    if p["failed_task"]:
        failed = {k: str(p["failed_task"].get(k) or "") for k in ("role", "task", "item", "msg")}
        failed["msg"] = failed["msg"][:MAX_MESSAGE]
        record["failed_task"] = failed
    if module.check_mode:
        module.exit_json(changed=False, record_id=p["record_id"], record=record)
    ddb.put_item(aws_retry=True, TableName=p["table"], Item=dict(key, record={"S": json.dumps(record, sort_keys=True)}))
    module.exit_json(changed=True, record_id=p["record_id"], record=record)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            table=dict(type="str", required=True),
            environment=dict(type="str", required=True),
            state=dict(type="str", default="started", choices=["started", "finished"]),
            operation=dict(type="str"),
            caller=dict(type="str"),
            details=dict(type="dict", default={}),
            record_id=dict(type="str"),
            result=dict(type="str", choices=["succeeded", "failed"]),
            changes=dict(type="list", elements="dict", default=[]),
            failed_task=dict(type="dict"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ddb = client(module, "dynamodb")
    try:
        {"started": started, "finished": finished}[module.params["state"]](module, ddb)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to record the operation in %s" % module.params["table"])


if __name__ == "__main__":
    main()
