#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_outputs
short_description: Keep a stack's outputs in SSM Parameter Store, one parameter per key
version_added: 0.1.0
description:
  - Writes each output as the String parameter C(<path>/<Key>), like CloudFormation stack
    outputs but readable by any tool (the C(amazon.aws.ssm_parameter) lookup,
    C(aws ssm get-parameters-by-path)).
  - Only parameters whose value or tags differ are written, in one module run.
  - The tags of parameters that keep their value are read in one Resource Groups Tagging API call
    (C(tag:GetResources)); a parameter whose tags differ there, or that it does not list, is read
    on its own before anything is written (that API is eventually consistent).
  - A new parameter's PutParameter resent after a lost answer (C(ParameterAlreadyExists)) is adopted - value overwritten, tags added.
  - Outputs are names, IDs, ARNs and URLs; never put a secret value here.
options:
  path:
    description: Parameter path that holds the outputs, e.g. C(/stream-sales/dev/outputs).
    type: str
    required: true
  outputs:
    description: Output key to value. Keys with an empty value are skipped (SSM stores no empty strings).
    type: dict
    default: {}
  purge:
    description: Delete parameters under O(path) whose key is not in O(outputs).
    type: bool
    default: false
  state:
    description: C(absent) deletes every parameter under O(path).
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
- name: Record the deploy's outputs
  stream_sales.platform.stack_outputs:
    path: /stream-sales/dev/outputs
    outputs:
      VPCId: vpc-0123456789abcdef0
      ImagesBucketName: stream-sales-dev-images-123456789012
    tags:
      Environment: dev
"""

RETURN = r"""
outputs:
  description: Every output under O(path) after the run.
  returned: always
  type: dict
  sample: {"VPCId": "vpc-0123456789abcdef0"}
"""

import functools

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
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_by_arn
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_to_compare
from ansible_collections.stream_sales.platform.plugins.module_utils.ssm_outputs import read_parameters


def parameter_tags(ssm, name):
    return boto3_tag_list_to_ansible_dict(
        ssm.list_tags_for_resource(aws_retry=True, ResourceType="Parameter", ResourceId=name).get("TagList", []))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            path=dict(type="str", required=True),
            outputs=dict(type="dict", default={}),
            purge=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path = "/" + p["path"].strip("/")
    ssm = client(module, "ssm")
    try:
        params = read_parameters(ssm, path)
        current = {key: param["Value"] for key, param in params.items()}
        if p["state"] == "absent":
            wanted = {}
        else:
            wanted = {k: str(v) for k, v in p["outputs"].items() if v not in (None, "")}
            if not p["purge"]:
                wanted = dict(current, **wanted)
        to_write = {k: v for k, v in wanted.items() if current.get(k) != v}
        to_delete = sorted(set(current) - set(wanted))
        to_tag = {}
        if p["tags"] is not None:
            # Tags of parameters that keep their value (new ones are created with their tags): one
            # tagging API read for all of them, each parameter's own read only where it differs.
            kept = sorted(set(wanted) - set(to_write))
            listed = tags_by_arn(module, [params[key]["ARN"] for key in kept], p["tags"])
            for key in kept:
                name = f"{path}/{key}"
                have = tags_to_compare(listed, params[key]["ARN"], p["tags"], p["purge_tags"], functools.partial(parameter_tags, ssm, name))
                diff = tag_diff(have, p["tags"], p["purge_tags"])
                if diff[0] or diff[1]:
                    to_tag[name] = diff
        changed = bool(to_write or to_delete or to_tag)
        if changed and not module.check_mode:
            for key, value in to_write.items():
                name = f"{path}/{key}"
                if key in current:
                    ssm.put_parameter(aws_retry=True, Name=name, Value=value, Type="String", Overwrite=True)
                    if p["tags"] is not None:
                        to_tag[name] = (p["tags"], [])
                else:
                    extra = {"Tags": ansible_dict_to_boto3_tag_list(p["tags"])} if p["tags"] else {}
                    try:
                        ssm.put_parameter(aws_retry=True, Name=name, Value=value, Type="String", **extra)
                    except is_boto3_error_code("ParameterAlreadyExists"):
                        # Our create, resent after its answer was lost (or a parameter written since
                        # the read): overwrite its value; tags go separately (PutParameter takes
                        # Tags only without Overwrite).
                        ssm.put_parameter(aws_retry=True, Name=name, Value=value, Type="String", Overwrite=True)
                        if p["tags"] is not None:
                            to_tag[name] = (p["tags"], [])
            for name, (to_set, to_remove) in to_tag.items():
                if to_remove:
                    ssm.remove_tags_from_resource(aws_retry=True, ResourceType="Parameter", ResourceId=name, TagKeys=to_remove)
                if to_set:
                    ssm.add_tags_to_resource(aws_retry=True, ResourceType="Parameter", ResourceId=name,
                                             Tags=ansible_dict_to_boto3_tag_list(to_set))
            # DeleteParameters takes at most 10 names per call.
            names = [f"{path}/{k}" for k in to_delete]
            for i in range(0, len(names), 10):
                ssm.delete_parameters(aws_retry=True, Names=names[i:i + 10])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to write outputs under {path}")
    result = dict(changed=changed, outputs=wanted)
    if module._diff:
        result["diff"] = dict(before=current, after=wanted)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
