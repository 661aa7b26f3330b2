#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sns_topic_encryption
short_description: Which KMS key encrypts an SNS topic at rest
version_added: 0.1.0
description:
  - Ensures the existing topic O(topic_arn) is encrypted with O(kms_key_id) (attribute
    C(KmsMasterKeyId)), or not encrypted when it is empty.
  - M(community.aws.sns_topic) (10.0) has no option for the topic's KMS key, so it makes the topic
    and this module only its encryption. One C(GetTopicAttributes) per run.
  - CloudWatch alarms publish to an encrypted topic only when the key's policy lets
    C(cloudwatch.amazonaws.com) use it; AWS managed keys (C(alias/aws/sns)) cannot, so give a
    customer managed key.
options:
  topic_arn:
    description: The topic's ARN. The topic must exist (a check run plans it too).
    type: str
    required: true
  kms_key_id:
    description: The customer managed key (ARN); empty for no encryption.
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
- name: The alarm topic is encrypted with the environment's key
  stream_sales.platform.sns_topic_encryption:
    topic_arn: arn:aws:sns:us-east-1:123456789012:stream-sales-production-alarms
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
kms_key_id:
  description: The topic's key after the run (empty when not encrypted).
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import converge
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(topic_arn=dict(type="str", required=True), kms_key_id=dict(type="str", default="")),
        supports_check_mode=True,
    )
    p = module.params
    sns = client(module, "sns")
    wanted = {"kms_key_id": p["kms_key_id"]}

    def update(_current):
        sns.set_topic_attributes(aws_retry=True, TopicArn=p["topic_arn"], AttributeName="KmsMasterKeyId",
                                 AttributeValue=p["kms_key_id"])
        return wanted

    with aws_errors(module, f"encryption of topic {p['topic_arn']}"):
        try:
            attrs = sns.get_topic_attributes(aws_retry=True, TopicArn=p["topic_arn"])["Attributes"]
            current = {"kms_key_id": attrs.get("KmsMasterKeyId") or ""}
        except is_boto3_error_code("NotFound"):
            if not module.check_mode:
                module.fail_json(msg=f"Topic {p['topic_arn']} does not exist: create it first.")
            current = None  # a check run plans the topic too
        changed, after = converge(module, current, wanted, create=lambda: wanted, update=update)
    exit_with(module, changed, current, after, kms_key_id=after["kms_key_id"])


if __name__ == "__main__":
    main()
