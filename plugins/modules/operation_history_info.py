#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: operation_history_info
short_description: Read the last operations recorded for an environment
version_added: 0.1.0
description:
  - Reads the newest O(limit) records that M(stream_sales.platform.operation_history) wrote for
    O(environment), newest first (one Query, no scan).
  - A record still C(running) after O(stale_after_seconds) is reported with result C(unfinished),
    as that run was killed or lost its connection before it could record its end.
  - No table yet means no history - an empty list, not an error.
options:
  table:
    description: DynamoDB table of the history.
    type: str
    required: true
  environment:
    description: The environment, e.g. C(stream-sales-production).
    type: str
    required: true
  limit:
    description: How many records, newest first.
    type: int
    default: 20
  stale_after_seconds:
    description: After how long a record that never finished counts as C(unfinished) (the lock's TTL).
    type: int
    default: 3600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Only reads.
    support: full
  diff_mode:
    description: Not supported.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: The last ten operations on production
  stream_sales.platform.operation_history_info:
    table: stream-sales-production-history
    environment: stream-sales-production
    limit: 10
"""

RETURN = r"""
records:
  description: The records, newest first, each with its C(record_id).
  returned: always
  type: list
  elements: dict
"""

import datetime
import json

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            table=dict(type="str", required=True),
            environment=dict(type="str", required=True),
            limit=dict(type="int", default=20),
            stale_after_seconds=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["limit"] < 1:
        module.fail_json(msg="limit is %d; allowed: 1 or more." % p["limit"])
    ddb = client(module, "dynamodb")
    try:
        items = ddb.query(aws_retry=True, TableName=p["table"], KeyConditionExpression="#e = :e",
                          ExpressionAttributeNames={"#e": "environment"},
                          ExpressionAttributeValues={":e": {"S": p["environment"]}},
                          ScanIndexForward=False, Limit=p["limit"], ConsistentRead=True).get("Items", [])
    except is_boto3_error_code("ResourceNotFoundException"):
        module.exit_json(changed=False, records=[])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg="Failed to read the history in %s" % p["table"])
    now = datetime.datetime.now(datetime.timezone.utc)
    records = []
    for item in items:
        record = json.loads(item["record"]["S"])
        record["record_id"] = item["started"]["S"]
        if record.get("result") == "running":
            begun = datetime.datetime.strptime(record["started_at"], TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
            if (now - begun).total_seconds() > p["stale_after_seconds"]:
                record["result"] = "unfinished"
        records.append(record)
    module.exit_json(changed=False, records=records)


if __name__ == "__main__":
    main()
