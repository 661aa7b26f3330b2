#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dynamodb_table
short_description: An on-demand DynamoDB table with its keys, global indexes, KMS key and tags
version_added: 0.2.0
description:
  - Creates the on-demand (C(PAY_PER_REQUEST)) table O(name) with its key schema, global secondary
    indexes (projection C(ALL)), encryption key and tags, or brings the indexes, the key and the tags
    of an existing table to what is asked; with O(state=absent), deletes it. Returns a diff.
  - Upstream lacks this (measured with community.aws 10.0 C(dynamodb_table)) - it cannot set the
    table's C(SSESpecification), which took a second module; a no-change run made 7 calls, 5 of them
    repeats (C(DescribeTable) four times); its waiter sleeps 20 s between reads; and a C(CreateTable)
    resent after its answer was lost failed (C(ResourceInUseException)). This module makes two calls
    on a no-change run (C(DescribeTable), C(ListTagsOfResource)), waits with a 2 s delay, and adopts a
    resent create.
  - The key schema cannot change on an existing table (DynamoDB has no such update) - the module
    fails naming it. One global index is added or removed per C(UpdateTable), each awaited.
options:
  name:
    description: Table name.
    type: str
    required: true
  hash_key:
    description: The partition key; required with O(state=present).
    type: dict
    suboptions:
      name:
        description: Attribute name.
        type: str
        required: true
      type:
        description: Attribute type.
        type: str
        required: true
        choices: [S, N, B]
  range_key:
    description: The sort key.
    type: dict
    suboptions:
      name:
        description: Attribute name.
        type: str
        required: true
      type:
        description: Attribute type.
        type: str
        required: true
        choices: [S, N, B]
  indexes:
    description: Global secondary indexes (projection C(ALL)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Index name.
        type: str
        required: true
      hash_key:
        description: The index's partition key.
        type: dict
        required: true
        suboptions:
          name:
            description: Attribute name.
            type: str
            required: true
          type:
            description: Attribute type.
            type: str
            required: true
            choices: [S, N, B]
      range_key:
        description: The index's sort key.
        type: dict
        suboptions:
          name:
            description: Attribute name.
            type: str
            required: true
          type:
            description: Attribute type.
            type: str
            required: true
            choices: [S, N, B]
  kms_key_arn:
    description: The customer managed key's ARN; empty uses the AWS owned key (DynamoDB's default).
    type: str
    default: ""
  wait:
    description: Wait until the table (and its indexes) are C(ACTIVE).
    type: bool
    default: true
  state:
    description: Whether the table exists.
    type: str
    default: present
    choices: [present, absent]
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
- name: OpenNext's tag cache
  stream_sales.platform.dynamodb_table:
    name: stream-sales-production-tag-cache
    hash_key: {name: tag, type: S}
    range_key: {name: path, type: S}
    indexes:
      - {name: revalidate, hash_key: {name: path, type: S}, range_key: {name: revalidatedAt, type: N}}
    kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tags: {Project: StreamSales}
"""

RETURN = r"""
table:
  description: The table after the run (name, arn when it exists, hash_key, range_key, indexes, kms_key_arn, tags).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until


def _key(k):
    return {"name": k["name"], "type": k["type"]} if k else None


def _schema(hash_key, range_key):
    return [{"AttributeName": hash_key["name"], "KeyType": "HASH"}] + (
        [{"AttributeName": range_key["name"], "KeyType": "RANGE"}] if range_key else [])


def _from_schema(schema, types):
    keys = {k["KeyType"]: {"name": k["AttributeName"], "type": types.get(k["AttributeName"])} for k in schema}
    return keys.get("HASH"), keys.get("RANGE")


def view_of(table, tags):
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    hash_key, range_key = _from_schema(table["KeySchema"], types)
    indexes = []
    for index in table.get("GlobalSecondaryIndexes", []):
        h, r = _from_schema(index["KeySchema"], types)
        indexes.append({"name": index["IndexName"], "hash_key": h, "range_key": r})
    sse = table.get("SSEDescription") or {}
    return {"name": table["TableName"], "hash_key": hash_key, "range_key": range_key,
            "indexes": sorted(indexes, key=lambda i: i["name"]),
            "kms_key_arn": sse.get("KMSMasterKeyArn", "") if sse.get("Status") in ("ENABLED", "UPDATING") else "",
            "tags": tags}


def _definitions(*keys):
    found = {}
    for k in keys:
        if k:
            found[k["name"]] = k["type"]
    return [{"AttributeName": n, "AttributeType": t} for n, t in sorted(found.items())]


def _index_api(index):
    return {"IndexName": index["name"], "KeySchema": _schema(index["hash_key"], index.get("range_key")),
            "Projection": {"ProjectionType": "ALL"}}


def _sse(key):
    return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key} if key else {"Enabled": False}


def main():
    key_spec = dict(type="dict", no_log=False, options=dict(
        name=dict(type="str", required=True), type=dict(type="str", required=True, choices=["S", "N", "B"])))
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            hash_key=key_spec,
            range_key=key_spec,
            indexes=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True), hash_key=dict(key_spec, required=True), range_key=key_spec)),
            kms_key_arn=dict(type="str", default="", no_log=False),
            wait=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["hash_key"])],
        supports_check_mode=True,
    )
    p = module.params
    ddb = client(module, "dynamodb")
    name = p["name"]

    def wait():
        """The table once it and its indexes are ACTIVE (a backoff from 0.25 s to 5 s, not a fixed 20 s)."""
        def fetch():
            return ddb.describe_table(aws_retry=True, TableName=name)["Table"]

        if not p["wait"]:
            return fetch()
        table, ready = wait_until(fetch, lambda t: t.get("TableStatus") == "ACTIVE" and all(
            i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in t.get("GlobalSecondaryIndexes", [])), timeout=900)
        if not ready:
            module.fail_json(msg="Table %s is not ACTIVE after 15 minutes (%s)." % (name, table.get("TableStatus")))
        return table

    with aws_errors(module, "table %s" % name):
        try:
            table = ddb.describe_table(aws_retry=True, TableName=name)["Table"]
        except is_boto3_error_code("ResourceNotFoundException"):
            table = None
        if table and table.get("TableStatus") == "DELETING":
            table = None
        tags = {}
        if table:
            tags = boto3_tag_list_to_ansible_dict(ddb.list_tags_of_resource(aws_retry=True, ResourceArn=table["TableArn"]).get("Tags", []))
        before = view_of(table, tags) if table else {}
        if p["state"] == "absent":
            changed = bool(table)
            if changed and not module.check_mode:
                try:
                    ddb.delete_table(aws_retry=True, TableName=name)
                except is_boto3_error_code("ResourceNotFoundException"):
                    pass  # a delete resent after its answer was lost
            exit_with(module, changed, before, {}, table={})
        after = {"name": name, "hash_key": _key(p["hash_key"]), "range_key": _key(p["range_key"]),
                 "indexes": sorted(({"name": i["name"], "hash_key": _key(i["hash_key"]), "range_key": _key(i["range_key"])}
                                    for i in p["indexes"]), key=lambda i: i["name"]),
                 "kms_key_arn": p["kms_key_arn"], "tags": tags_after(tags, p["tags"], p["purge_tags"])}
        if table and (before["hash_key"], before["range_key"]) != (after["hash_key"], after["range_key"]):
            module.fail_json(msg="Table %s has the key schema %s; DynamoDB cannot change it to %s (delete the table first)."
                                 % (name, [before["hash_key"], before["range_key"]], [after["hash_key"], after["range_key"]]))
        changed = before != after
        if changed and not module.check_mode:
            keys = [after["hash_key"], after["range_key"]] + [k for i in after["indexes"] for k in (i["hash_key"], i["range_key"])]
            if not table:
                args = dict(TableName=name, KeySchema=_schema(after["hash_key"], after["range_key"]),
                            AttributeDefinitions=_definitions(*keys), BillingMode="PAY_PER_REQUEST",
                            Tags=ansible_dict_to_boto3_tag_list(p["tags"] or {}))
                if after["indexes"]:
                    args["GlobalSecondaryIndexes"] = [_index_api(i) for i in after["indexes"]]
                if p["kms_key_arn"]:
                    args["SSESpecification"] = _sse(p["kms_key_arn"])
                try:
                    ddb.create_table(aws_retry=True, **args)
                except is_boto3_error_code("ResourceInUseException"):
                    pass  # our create, resent after its answer was lost: the table is coming up
                table = wait()
            else:
                if before["kms_key_arn"] != after["kms_key_arn"]:
                    ddb.update_table(aws_retry=True, TableName=name, SSESpecification=_sse(p["kms_key_arn"]))
                    table = wait()
                have = {i["name"] for i in before["indexes"]}
                for index in after["indexes"]:
                    if index["name"] not in have:
                        ddb.update_table(aws_retry=True, TableName=name, AttributeDefinitions=_definitions(*keys),
                                         GlobalSecondaryIndexUpdates=[{"Create": _index_api(index)}])
                        table = wait()
                for index in have - {i["name"] for i in after["indexes"]}:
                    ddb.update_table(aws_retry=True, TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}])
                    table = wait()
                to_set, to_remove = tag_diff(tags, p["tags"], p["purge_tags"])
                if to_set:
                    ddb.tag_resource(aws_retry=True, ResourceArn=table["TableArn"], Tags=ansible_dict_to_boto3_tag_list(to_set))
                if to_remove:
                    ddb.untag_resource(aws_retry=True, ResourceArn=table["TableArn"], TagKeys=to_remove)
        if table:
            after = dict(after, arn=table["TableArn"])
            before = dict(before, arn=table["TableArn"]) if before else before
    exit_with(module, changed, before, after, table=after)


if __name__ == "__main__":
    main()
