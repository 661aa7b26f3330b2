#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_outputs_info
short_description: Read a stack's outputs back from SSM Parameter Store
version_added: 0.1.0
description:
  - Reads every parameter directly under O(path) as output key to value, as written by
    M(stream_sales.platform.stack_outputs).
options:
  path:
    description: Parameter path that holds the outputs, e.g. C(/stream-sales/dev/outputs).
    type: str
    required: true
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
- name: Read the production outputs
  stream_sales.platform.stack_outputs_info:
    path: /stream-sales/production/outputs
  register: stack
"""

RETURN = r"""
outputs:
  description: Output key to value; empty when nothing is recorded.
  returned: always
  type: dict
  sample: {"VPCId": "vpc-0123456789abcdef0"}
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.ssm_outputs import read_outputs


def main():
    module = AnsibleAWSModule(argument_spec=dict(path=dict(type="str", required=True)), supports_check_mode=True)
    path = "/" + module.params["path"].strip("/")
    try:
        outputs = read_outputs(client(module, "ssm"), path)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to read outputs under {path}")
    module.exit_json(changed=False, outputs=outputs)


if __name__ == "__main__":
    main()
