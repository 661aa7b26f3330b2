#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dynamodb_table_encryption
short_description: Which KMS key encrypts a DynamoDB table at rest
version_added: 0.1.0
description:
  - Ensures the existing table O(name) is encrypted with the customer managed key O(kms_key_arn),
    or with DynamoDB's AWS owned key when O(kms_key_arn) is empty (C(UpdateTable)
    C(SSESpecification); the table stays available while DynamoDB re-encrypts it).
  - M(community.aws.dynamodb_table) (10.0) cannot set C(SSESpecification) (left out of its code),
    so it makes the table and this module only its encryption. One C(DescribeTable) per run.
options:
  name:
    description: Table name. The table must exist.
    type: str
    required: true
  kms_key_arn:
    description: The customer managed key's ARN; empty uses the AWS owned key (DynamoDB's default).
    type: str
    default: ""
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: The tag cache is encrypted with the environment's key
  stream_sales.platform.dynamodb_table_encryption:
    name: stream-sales-production-tag-cache
    kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
encryption:
  description: The table's encryption after the run.
  returned: always
  type: dict
  contains:
    sse_type:
      description: C(KMS), or C(DEFAULT) for the AWS owned key.
      type: str
    kms_key_arn:
      description: The customer managed key, when C(KMS).
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import converge
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with


def view(table):
    sse = table.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") and sse.get("SSEType") == "KMS":
        return {"sse_type": "KMS", "kms_key_arn": sse.get("KMSMasterKeyArn", "")}
    return {"sse_type": "DEFAULT", "kms_key_arn": ""}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str", required=True), kms_key_arn=dict(type="str", default="", no_log=False)),
        supports_check_mode=True,
    )
    p = module.params
    ddb = client(module, "dynamodb")
    wanted = {"sse_type": "KMS" if p["kms_key_arn"] else "DEFAULT", "kms_key_arn": p["kms_key_arn"]}

    def update(_current):
        spec = ({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": p["kms_key_arn"]} if p["kms_key_arn"]
                else {"Enabled": False})
        ddb.update_table(aws_retry=True, TableName=p["name"], SSESpecification=spec)
        return wanted

    with aws_errors(module, f"encryption of table {p['name']}"):
        try:
            current = view(ddb.describe_table(aws_retry=True, TableName=p["name"])["Table"])
        except is_boto3_error_code("ResourceNotFoundException"):
            if not module.check_mode:
                module.fail_json(msg=f"Table {p['name']} does not exist: create it first.")
            current = None  # a check run plans the table too
        changed, after = converge(module, current, wanted, create=lambda: wanted, update=update)
    exit_with(module, changed, current, after, encryption=after)


if __name__ == "__main__":
    main()
