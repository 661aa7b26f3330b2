#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secretsmanager_secret_info
short_description: Find a secret's ARN by name, without reading its value
version_added: 0.1.0
description:
  - Describes the secret O(name) with C(DescribeSecret) - ARN, name, tags, whether it is scheduled
    for deletion. Never reads the value (C(GetSecretValue) is not called).
  - Why not upstream - amazon.aws (10.1) has no info module for secrets, and its
    C(secretsmanager_secret) lookup reads the value (C(GetSecretValue)).
options:
  name:
    description: Name or ARN of the secret.
    type: str
    required: true
  required:
    description: Fail when the secret does not exist (otherwise C(secret) is empty).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
  diff_mode:
    description: Returns before and after states in diff mode.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: The database secret's ARN
  stream_sales.platform.secretsmanager_secret_info:
    name: stream-sales/dev/database/credentials
  register: database_secret
"""

RETURN = r"""
secret:
  description: The secret's metadata (never its value); empty when absent and not required.
  returned: always
  type: dict
  contains:
    arn:
      description: Its ARN.
      type: str
    name:
      description: Its name.
      type: str
    tags:
      description: Its tags.
      type: dict
    scheduled_for_deletion:
      description: Whether it is scheduled for deletion.
      type: bool
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str", required=True), required=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    name = module.params["name"]
    try:
        secret = client(module, "secretsmanager").describe_secret(aws_retry=True, SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        if module.params["required"]:
            module.fail_json(msg=f"Secret {name} does not exist; deploy the environment first (playbooks/deploy.yml).")
        module.exit_json(changed=False, secret={})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Cannot describe secret {name}")
    module.exit_json(changed=False, secret=dict(
        arn=secret["ARN"], name=secret["Name"], tags=boto3_tag_list_to_ansible_dict(secret.get("Tags", [])),
        scheduled_for_deletion=bool(secret.get("DeletedDate"))))


if __name__ == "__main__":
    main()
