#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: caller_identity
short_description: Who the credentials are - account, ARN and user ID - in one STS call
version_added: 0.2.0
description:
  - Calls C(sts:GetCallerIdentity) once and returns the account ID, the caller's ARN and user ID.
    Changes nothing; it needs no permission (STS answers this call for any valid credentials).
  - Why not M(amazon.aws.aws_caller_info) (10.1, measured) - it also calls
    C(iam:ListAccountAliases) for the account's alias, which nothing here needs - a second call on
    every run, an IAM client built and its service model parsed (~0.25 s of a no-change rerun),
    and a permission the deployer otherwise does not use.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Find the account ID
  stream_sales.platform.caller_identity:
  register: caller
"""

RETURN = r"""
account:
  description: The account ID of the credentials.
  returned: success
  type: str
  sample: "123456789012"
arn:
  description: The caller's ARN (a user, or an assumed role's session).
  returned: success
  type: str
  sample: arn:aws:sts::123456789012:assumed-role/deployer/stream-sales-production-deploy
user_id:
  description: The caller's unique ID.
  returned: success
  type: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client


def main():
    module = AnsibleAWSModule(argument_spec={}, supports_check_mode=True)
    try:
        found = client(module, "sts").get_caller_identity(aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to find who the credentials are (sts:GetCallerIdentity)")
    module.exit_json(changed=False, account=found["Account"], arn=found["Arn"], user_id=found["UserId"])


if __name__ == "__main__":
    main()
