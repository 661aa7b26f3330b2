#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_function
short_description: A CloudFront Function, published to LIVE
version_added: 0.1.0
description:
  - Ensures CloudFront Function O(name) with O(code), O(runtime) and O(comment), and publishes it
    so that distributions run that code. Only a change of code, runtime or comment updates and
    republishes it.
  - amazon.aws 10.1 and community.aws 10.0 have no module for CloudFront Functions (none named
    cloudfront_function* in either); hence this one.
options:
  name:
    description: Function name.
    type: str
    required: true
  code:
    description: JavaScript source. Required with O(state=present).
    type: str
  runtime:
    description: Runtime.
    type: str
    choices: [cloudfront-js-1.0, cloudfront-js-2.0]
    default: cloudfront-js-2.0
  comment:
    description: Comment.
    type: str
    default: ""
  state:
    description: Whether it should exist. Deleting one a distribution still uses fails.
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
- name: OpenNext viewer-request function
  stream_sales.platform.cloudfront_function:
    name: stream-sales-dev-viewer-request
    code: "{{ lookup('ansible.builtin.file', 'viewer-request.js') }}"
"""

RETURN = r"""
arn:
  description: The function's ARN (empty when absent or not yet created in check mode).
  returned: always
  type: str
"""

import hashlib

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import create_or_find
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import write_current


def read(cf, name):
    try:
        desc = cf.describe_function(aws_retry=True, Name=name, Stage="LIVE")
    except is_boto3_error_code("NoSuchFunctionExists"):
        try:
            desc = cf.describe_function(aws_retry=True, Name=name, Stage="DEVELOPMENT")
        except is_boto3_error_code("NoSuchFunctionExists"):
            return None
    summary = desc["FunctionSummary"]
    stage = summary["FunctionMetadata"].get("Stage", "DEVELOPMENT")
    code = cf.get_function(aws_retry=True, Name=name, Stage=stage)["FunctionCode"].read()
    return {
        "arn": summary["FunctionMetadata"]["FunctionARN"],
        "stage": stage,
        "runtime": summary["FunctionConfig"].get("Runtime"),
        "comment": summary["FunctionConfig"].get("Comment", ""),
        "code_sha256": hashlib.sha256(code).hexdigest(),
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            code=dict(type="str"),
            runtime=dict(type="str", default="cloudfront-js-2.0", choices=["cloudfront-js-1.0", "cloudfront-js-2.0"]),
            comment=dict(type="str", default=""),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ("code",))],
        supports_check_mode=True,
    )
    p = module.params
    cf = client(module, "cloudfront")
    try:
        current = read(cf, p["name"])
        before = {k: v for k, v in (current or {}).items() if k != "arn"}
        if p["state"] == "absent":
            if current and not module.check_mode:
                write_current(lambda: cf.describe_function(aws_retry=True, Name=p["name"])["ETag"],
                              lambda etag: cf.delete_function(aws_retry=True, Name=p["name"], IfMatch=etag))
            result, after = dict(changed=current is not None, arn=""), {}
        else:
            code = p["code"].encode()
            config = {"Comment": p["comment"], "Runtime": p["runtime"]}
            after = {"stage": "LIVE", "runtime": p["runtime"],
                     "comment": p["comment"], "code_sha256": hashlib.sha256(code).hexdigest()}
            changed = before != after
            arn = (current or {}).get("arn", "")
            if changed and not module.check_mode:
                found = current is not None
                if current is None:
                    # Found instead when our own create was resent after its answer was lost: updated below.
                    resp, found = create_or_find(
                        lambda: cf.create_function(aws_retry=True, Name=p["name"], FunctionConfig=config, FunctionCode=code),
                        "FunctionAlreadyExists", lambda: read(cf, p["name"]))
                if found:
                    resp = write_current(
                        lambda: cf.describe_function(aws_retry=True, Name=p["name"], Stage="DEVELOPMENT")["ETag"],
                        lambda etag: cf.update_function(aws_retry=True, Name=p["name"], IfMatch=etag, FunctionConfig=config,
                                                        FunctionCode=code))
                arn = resp["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
                # Publishing again what is already LIVE changes nothing: safe to repeat.
                write_current(lambda: cf.describe_function(aws_retry=True, Name=p["name"], Stage="DEVELOPMENT")["ETag"],
                              lambda etag: cf.publish_function(aws_retry=True, Name=p["name"], IfMatch=etag), etag=resp["ETag"])
            result = dict(changed=changed, arn=arn)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage CloudFront Function {p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
