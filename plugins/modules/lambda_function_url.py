#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_function_url
short_description: A Lambda function URL, and CloudFront's permission to invoke it
version_added: 0.1.0
description:
  - Ensures the function URL of O(name) (at O(qualifier)) with O(auth_type) and O(invoke_mode).
  - With O(cloudfront_distribution_arn), also ensures the resource-policy statement that lets
    that distribution (through a Lambda origin access control) call C(lambda:InvokeFunctionUrl).
    Omitted, the statement is left as it is.
  - amazon.aws has no module for function URLs; hence this one.
options:
  name:
    description: Function name.
    type: str
    required: true
  qualifier:
    description: Alias the URL serves.
    type: str
    default: live
  auth_type:
    description: C(AWS_IAM) (signed requests only, e.g. CloudFront with an origin access control) or C(NONE) (public).
    type: str
    choices: [AWS_IAM, NONE]
    default: AWS_IAM
  invoke_mode:
    description: C(RESPONSE_STREAM) for streaming OpenNext functions, else C(BUFFERED).
    type: str
    choices: [BUFFERED, RESPONSE_STREAM]
    default: BUFFERED
  cloudfront_distribution_arn:
    description: Distribution allowed to invoke the URL.
    type: str
  permission_only:
    description:
      - Manage only the permission of O(cloudfront_distribution_arn), not the URL (made by an earlier
        task, before the distribution existed); the URL is not read again.
    type: bool
    default: false
  state:
    description: Whether the URL should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Server function URL, signed requests only
  stream_sales.platform.lambda_function_url:
    name: stream-sales-dev-server
    qualifier: live
    auth_type: AWS_IAM
"""

RETURN = r"""
url:
  description: The function URL (empty when absent).
  returned: always
  type: str
domain:
  description: The URL's host name, for a CloudFront origin.
  returned: always
  type: str
"""

import json
from urllib.parse import urlparse

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

SID = "AllowCloudFrontOriginAccessControl"


def read_url(lam, name, qualifier):
    try:
        cfg = lam.get_function_url_config(aws_retry=True, FunctionName=name, Qualifier=qualifier)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    return {"url": cfg["FunctionUrl"], "auth_type": cfg["AuthType"], "invoke_mode": cfg.get("InvokeMode") or "BUFFERED"}


def read_statement(lam, name, qualifier):
    try:
        policy = json.loads(lam.get_policy(aws_retry=True, FunctionName=name, Qualifier=qualifier)["Policy"])
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    for st in policy.get("Statement", []):
        if st.get("Sid") == SID:
            cond = st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
            return cond
    return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            qualifier=dict(type="str", default="live"),
            auth_type=dict(type="str", default="AWS_IAM", choices=["AWS_IAM", "NONE"]),
            invoke_mode=dict(type="str", default="BUFFERED", choices=["BUFFERED", "RESPONSE_STREAM"]),
            cloudfront_distribution_arn=dict(type="str"),
            permission_only=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    lam = client(module, "lambda")
    key = dict(FunctionName=p["name"], Qualifier=p["qualifier"])
    try:
        changed = False
        if p["permission_only"]:
            current = {}
        else:
            current = read_url(lam, p["name"], p["qualifier"])
        before = dict(current or {})
        if p["permission_only"]:
            after = {}
        elif p["state"] == "absent":
            if current and not module.check_mode:
                lam.delete_function_url_config(aws_retry=True, **key)
            changed, after = current is not None, None
        else:
            wanted = {"auth_type": p["auth_type"], "invoke_mode": p["invoke_mode"]}
            if current is None:
                changed = True
                if not module.check_mode:
                    cfg = lam.create_function_url_config(aws_retry=True, AuthType=p["auth_type"], InvokeMode=p["invoke_mode"], **key)
                    current = {"url": cfg["FunctionUrl"], **wanted}
            elif any(current[k] != v for k, v in wanted.items()):
                changed = True
                if not module.check_mode:
                    lam.update_function_url_config(aws_retry=True, AuthType=p["auth_type"], InvokeMode=p["invoke_mode"], **key)
                current = dict(current, **wanted)
            after = dict(current or {}, **wanted)
        if p["state"] == "present":
            if p["cloudfront_distribution_arn"]:
                source = read_statement(lam, p["name"], p["qualifier"])
                if source:
                    before["cloudfront_distribution_arn"] = source
                if source != p["cloudfront_distribution_arn"]:
                    changed = True
                    if not module.check_mode:
                        if source is not None:
                            lam.remove_permission(aws_retry=True, StatementId=SID, **key)
                        lam.add_permission(aws_retry=True, StatementId=SID, Action="lambda:InvokeFunctionUrl",
                                           Principal="cloudfront.amazonaws.com", SourceArn=p["cloudfront_distribution_arn"],
                                           FunctionUrlAuthType=p["auth_type"], **key)
                after["cloudfront_distribution_arn"] = p["cloudfront_distribution_arn"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the function URL of {p['name']}:{p['qualifier']}")
    url = (after or {}).get("url", "")
    result = dict(changed=changed, url=url, domain=urlparse(url).hostname or "")
    if module._diff:
        result["diff"] = dict(before=before, after=after or {})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
