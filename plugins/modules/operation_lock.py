#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: operation_lock
short_description: One operation per environment at a time, with a lock kept in DynamoDB
version_added: 0.1.0
description:
  - Takes or releases the lock O(lock_id) in the DynamoDB table O(table), creating the table
    (on-demand) when missing. The lock records its owner, operation, start time and expiry.
  - Taking it is one conditional write, so of two operators starting at once exactly one
    wins; the other is told who holds the lock, since when, and until when.
  - An expired lock is taken over. O(break_lock=true) takes over a lock that has not
    expired (a stale lock left by a killed run).
  - Releasing presents the token returned when the lock was taken, so a run can never
    release somebody else's lock.
  - Every write is safe to resend. A conditional write that fails against the very lock this
    run wrote (its first answer lost, the SDK resent it) is recognised by its token, so the run
    holds the lock and goes on, instead of refusing itself and leaving its own lock behind.
  - In check mode nothing is written; the result says whether the lock could be taken.
options:
  table:
    description: DynamoDB table holding the locks.
    type: str
    required: true
  lock_id:
    description: What is locked, e.g. C(stream-sales-production).
    type: str
    required: true
  state:
    description:
      - C(acquired) takes the lock, C(released) gives it back (with O(token)).
      - C(absent) deletes the table, once no lock in it is held by someone else.
    type: str
    choices: [acquired, released, absent]
    default: acquired
  operation:
    description: What the holder is doing (deploy, migrate, rotate, teardown).
    type: str
    default: deploy
  owner:
    description: Who takes the lock; C(user@host) of the control node when omitted.
    type: str
  ttl_seconds:
    description: Seconds after which the lock expires and may be taken over.
    type: int
    default: 3600
  wait_seconds:
    description: Seconds to keep trying while somebody else holds the lock (0 fails at once).
    type: int
    default: 0
  break_lock:
    description: Take over the lock even if it has not expired.
    type: bool
    default: false
  token:
    description: The token returned by O(state=acquired); required to release.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Reports whether the lock could be taken, without writing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Take the environment's lock
  stream_sales.platform.operation_lock:
    table: stream-sales-production-locks
    lock_id: stream-sales-production
    operation: deploy
  register: lock

- name: Give it back
  stream_sales.platform.operation_lock:
    table: stream-sales-production-locks
    lock_id: stream-sales-production
    state: released
    token: "{{ lock.token }}"
"""

RETURN = r"""
token:
  description: Proof of ownership, to release the lock.
  returned: when the lock was taken
  type: str
lock:
  description: The lock as recorded (owner, operation, started_at, expires_at in UTC ISO 8601).
  returned: always
  type: dict
taken_over:
  description: The lock that was broken or had expired, when there was one.
  returned: when a lock was taken over
  type: dict
"""

import datetime
import getpass
import socket
import time
import uuid

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

FIELDS = ("owner", "operation", "started_at", "expires_at")


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(item):
    if not item:
        return {}
    out = {k: item[k]["S"] for k in FIELDS if k in item}
    return out


def read_lock(ddb, table, lock_id):
    return ddb.get_item(aws_retry=True, TableName=table, Key={"lock_id": {"S": lock_id}}, ConsistentRead=True).get("Item")


def ensure_table(module, ddb, table):
    """Create the lock table (a write found none; never in check mode), or wait for a colleague's."""
    try:
        ddb.describe_table(aws_retry=True, TableName=table)
        return
    except is_boto3_error_code("ResourceNotFoundException"):
        pass
    extra = {"Tags": ansible_dict_to_boto3_tag_list(module.params["tags"])} if module.params["tags"] else {}
    try:
        ddb.create_table(
            aws_retry=True, TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}], **extra,
        )
    except is_boto3_error_code("ResourceInUseException"):
        pass  # a colleague created it a moment ago
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 60})


def read_lock_if_table(ddb, table, lock_id):
    """The lock's item, or None when it or its table is missing (check mode before the first run)."""
    try:
        return read_lock(ddb, table, lock_id)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def acquire(module, ddb):
    p = module.params
    owner = p["owner"] or f"{getpass.getuser()}@{socket.gethostname()}"
    deadline = time.monotonic() + p["wait_seconds"]
    # The first attempt writes without reading: one conditional PutItem takes a free or expired
    # lock (ALL_OLD returns the expired one it replaced). The holder is read only when that fails,
    # to break the lock (its token), and in check mode.
    blind = not p["break_lock"] and not module.check_mode
    held = None
    while True:
        now = int(time.time())
        if not blind:
            held = read_lock_if_table(ddb, p["table"], p["lock_id"])
            expired = held and int(held["expires_epoch"]["N"]) < now
            if held and not expired and not p["break_lock"]:
                if time.monotonic() < deadline:
                    time.sleep(min(5, max(1, deadline - time.monotonic())))
                    continue
                h = describe(held)
                module.fail_json(
                    msg=(f"{p['lock_id']} is locked by {h.get('owner')} ({h.get('operation')}) since {h.get('started_at')}, "
                         f"until {h.get('expires_at')}. Nothing was changed. Wait for it, or if that run is dead, "
                         "take the lock over with -e break_lock=true."),
                    lock=h,
                )
        record = {"owner": owner, "operation": p["operation"], "started_at": iso(now), "expires_at": iso(now + p["ttl_seconds"])}
        if module.check_mode:
            module.exit_json(changed=False, lock=record, would_acquire=True)
        token = uuid.uuid4().hex
        item = {k: {"S": v} for k, v in record.items()}
        item.update(lock_id={"S": p["lock_id"]}, token={"S": token}, expires_epoch={"N": str(now + p["ttl_seconds"])})
        # One conditional write decides between concurrent runs: free, expired, or (breaking) the
        # very lock we saw - never one taken in between.
        if held:
            condition = {"ConditionExpression": "#t = :seen", "ExpressionAttributeNames": {"#t": "token"},
                         "ExpressionAttributeValues": {":seen": held["token"]}}
        else:
            condition = {"ConditionExpression": "attribute_not_exists(lock_id) OR expires_epoch < :now",
                         "ExpressionAttributeValues": {":now": {"N": str(now)}}}
        try:
            answer = ddb.put_item(aws_retry=True, TableName=p["table"], Item=item, ReturnValues="ALL_OLD", **condition)
        except is_boto3_error_code("ResourceNotFoundException"):
            ensure_table(module, ddb, p["table"])
            continue
        except is_boto3_error_code("ConditionalCheckFailedException"):
            blind = False
            # A resent PutItem whose first answer was lost (a timeout, a 500 after success) fails
            # its condition against our own write: if the lock now carries our token, it is ours.
            now_held = read_lock(ddb, p["table"], p["lock_id"])
            if now_held and now_held.get("token", {}).get("S") == token:
                result = dict(changed=True, token=token, lock=record)
                if held:
                    result["taken_over"] = describe(held)
                module.exit_json(**result)
            continue  # somebody got in between: look again, and report them if they hold it
        result = dict(changed=True, token=token, lock=record)
        replaced = held or answer.get("Attributes")
        if replaced:
            result["taken_over"] = describe(replaced)
        module.exit_json(**result)


def release(module, ddb):
    p = module.params
    if not p["token"]:
        module.fail_json(msg="token is required to release a lock (the token returned when it was taken).")
    try:
        ddb.delete_item(aws_retry=True, TableName=p["table"], Key={"lock_id": {"S": p["lock_id"]}},
                        ConditionExpression="#t = :mine", ExpressionAttributeNames={"#t": "token"},
                        ExpressionAttributeValues={":mine": {"S": p["token"]}})
    except is_boto3_error_code(["ConditionalCheckFailedException", "ResourceNotFoundException"]):
        # Not ours any more (broken by a colleague, or already released): nothing to give back.
        module.exit_json(changed=False, lock=describe(read_lock(ddb, p["table"], p["lock_id"])) if table_exists(ddb, p["table"]) else {})
    module.exit_json(changed=True, lock={})


def table_exists(ddb, table):
    try:
        ddb.describe_table(aws_retry=True, TableName=table)
        return True
    except is_boto3_error_code("ResourceNotFoundException"):
        return False


def delete_table(module, ddb):
    p = module.params
    if not table_exists(ddb, p["table"]):
        module.exit_json(changed=False, lock={})
    items = ddb.scan(aws_retry=True, TableName=p["table"], ConsistentRead=True).get("Items", [])
    others = [i for i in items if i.get("token", {}).get("S") != p["token"] and int(i["expires_epoch"]["N"]) >= time.time()]
    if others:
        h = describe(others[0])
        module.fail_json(msg=f"Lock table {p['table']} still holds a lock of {h.get('owner')} ({h.get('operation')}); not deleted.")
    if not module.check_mode:
        try:
            ddb.delete_table(aws_retry=True, TableName=p["table"])
        except is_boto3_error_code("ResourceNotFoundException"):
            pass  # a resent DeleteTable whose first answer was lost: gone already
    module.exit_json(changed=True, lock={})


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            table=dict(type="str", required=True),
            lock_id=dict(type="str", required=True),
            state=dict(type="str", default="acquired", choices=["acquired", "released", "absent"]),
            operation=dict(type="str", default="deploy"),
            owner=dict(type="str"),
            ttl_seconds=dict(type="int", default=3600),
            wait_seconds=dict(type="int", default=0),
            break_lock=dict(type="bool", default=False),
            token=dict(type="str", no_log=False),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if module.params["ttl_seconds"] < 60:
        module.fail_json(msg=f"ttl_seconds is {module.params['ttl_seconds']}; allowed: 60 or more.")
    ddb = client(module, "dynamodb")
    try:
        {"acquired": acquire, "released": release, "absent": delete_table}[module.params["state"]](module, ddb)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage lock {module.params['lock_id']}")


if __name__ == "__main__":
    main()
