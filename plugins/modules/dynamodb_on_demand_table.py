#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dynamodb_on_demand_table
short_description: An on-demand DynamoDB table with its global secondary indexes and tags
version_added: 0.1.0
description:
  - Ensures table O(name) with key schema O(hash_key)/O(range_key), on-demand billing, the global
    secondary indexes O(indexes) (missing ones are added, extra ones removed, one per call as
    DynamoDB requires) and tags.
  - A different key schema needs a new table; the module refuses instead of replacing data.
  - M(community.aws.dynamodb_table) fails against the embedded emulator (it reads C(TableId), which
    moto does not return); hence this module.
options:
  name:
    description: Table name.
    type: str
    required: true
  hash_key:
    description: Partition key, C({name, type}) with type C(S), C(N) or C(B).
    type: dict
  range_key:
    description: Sort key, like O(hash_key).
    type: dict
  indexes:
    description: Global secondary indexes, each C({name, hash_key, range_key, projection}) (projection C(ALL) by default).
    type: list
    elements: dict
    default: []
  state:
    description: Whether the table should exist.
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
- name: OpenNext tag cache
  stream_sales.platform.dynamodb_on_demand_table:
    name: stream-sales-dev-tag-cache
    hash_key: {name: tag, type: S}
    range_key: {name: path, type: S}
    indexes:
      - name: revalidate
        hash_key: {name: path, type: S}
        range_key: {name: revalidatedAt, type: N}
"""

RETURN = r"""
table:
  description: The table after the run (empty when absent).
  returned: always
  type: dict
  contains:
    arn:
      description: Table ARN.
      type: str
    indexes:
      description: Names of the global secondary indexes.
      type: list
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after


def key_schema(hash_key, range_key):
    out = [{"AttributeName": hash_key["name"], "KeyType": "HASH"}]
    if range_key:
        out.append({"AttributeName": range_key["name"], "KeyType": "RANGE"})
    return out


def gsi(index):
    return {
        "IndexName": index["name"],
        "KeySchema": key_schema(index["hash_key"], index.get("range_key")),
        "Projection": {"ProjectionType": index.get("projection", "ALL")},
    }


def attributes(p, indexes):
    attrs = {}
    for key in [p["hash_key"], p["range_key"]] + [k for i in indexes for k in (i["hash_key"], i.get("range_key"))]:
        if key:
            attrs[key["name"]] = key["type"]
    return [{"AttributeName": n, "AttributeType": t} for n, t in sorted(attrs.items())]


def read_table(ddb, name):
    try:
        t = ddb.describe_table(aws_retry=True, TableName=name)["Table"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    tags = ddb.list_tags_of_resource(aws_retry=True, ResourceArn=t["TableArn"]).get("Tags", [])
    return {
        "arn": t["TableArn"],
        "status": t.get("TableStatus"),
        "key_schema": t["KeySchema"],
        "indexes": {i["IndexName"]: i for i in t.get("GlobalSecondaryIndexes", [])},
        "tags": boto3_tag_list_to_ansible_dict(tags),
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            hash_key=dict(type="dict", no_log=False),
            range_key=dict(type="dict", no_log=False),
            indexes=dict(type="list", elements="dict", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ("hash_key",))],
        supports_check_mode=True,
    )
    p = module.params
    ddb = client(module, "dynamodb")
    changed = False
    try:
        current = read_table(ddb, p["name"])
        before = {"indexes": sorted(current["indexes"]), "tags": current["tags"]} if current else {}
        if p["state"] == "absent":
            if current and not module.check_mode:
                ddb.delete_table(aws_retry=True, TableName=p["name"])
                ddb.get_waiter("table_not_exists").wait(TableName=p["name"])
            module.exit_json(changed=current is not None, table={}, diff=dict(before=before, after={}))
        wanted_keys = key_schema(p["hash_key"], p["range_key"])
        tags = tags_after(current["tags"] if current else {}, p["tags"], p["purge_tags"])
        after = {"indexes": sorted(i["name"] for i in p["indexes"]), "tags": tags}
        if current is None:
            changed = True
            if not module.check_mode:
                extra = {"GlobalSecondaryIndexes": [gsi(i) for i in p["indexes"]]} if p["indexes"] else {}
                ddb.create_table(aws_retry=True, TableName=p["name"], KeySchema=wanted_keys, BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=attributes(p, p["indexes"]),
                                 Tags=ansible_dict_to_boto3_tag_list(tags), **extra)
                ddb.get_waiter("table_exists").wait(TableName=p["name"])
                current = read_table(ddb, p["name"])
        else:
            if current["key_schema"] != wanted_keys:
                module.fail_json(msg=f"Table {p['name']} has key schema {current['key_schema']}, wanted {wanted_keys}; "
                                     "DynamoDB cannot change it in place. Delete the table (its data is a cache) and rerun.")
            wanted_idx = {i["name"]: i for i in p["indexes"]}
            for name in sorted(set(current["indexes"]) - set(wanted_idx)):
                changed = True
                if not module.check_mode:
                    ddb.update_table(aws_retry=True, TableName=p["name"], GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
                    ddb.get_waiter("table_exists").wait(TableName=p["name"])
            for name in sorted(set(wanted_idx) - set(current["indexes"])):
                changed = True
                if not module.check_mode:
                    ddb.update_table(aws_retry=True, TableName=p["name"], AttributeDefinitions=attributes(p, p["indexes"]),
                                     GlobalSecondaryIndexUpdates=[{"Create": gsi(wanted_idx[name])}])
                    ddb.get_waiter("table_exists").wait(TableName=p["name"])
            to_set, to_remove = tag_diff(current["tags"], p["tags"], p["purge_tags"])
            if to_set or to_remove:
                changed = True
                if not module.check_mode:
                    if to_remove:
                        ddb.untag_resource(aws_retry=True, ResourceArn=current["arn"], TagKeys=to_remove)
                    if to_set:
                        ddb.tag_resource(aws_retry=True, ResourceArn=current["arn"], Tags=ansible_dict_to_boto3_tag_list(to_set))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, botocore.exceptions.WaiterError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage DynamoDB table {p['name']}")
    result = dict(changed=changed, table=dict(arn=(current or {}).get("arn", ""), **after))
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
