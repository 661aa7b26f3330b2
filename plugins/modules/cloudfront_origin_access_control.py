#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_origin_access_control
short_description: A CloudFront origin access control (S3 or Lambda function URL), found by name
version_added: 0.1.0
description:
  - Ensures the origin access control O(name) for origins of type O(origin_type), signing every
    request with SigV4 (O(signing_behavior)). Origin access controls carry no tags, so the name
    is the identity.
  - amazon.aws 10.1 and community.aws 10.0 have no module for origin access controls; only
    M(community.aws.cloudfront_origin_access_identity), the legacy identity, which cannot sign requests to
    Lambda function URLs. Hence this one.
options:
  name:
    description: Name, unique in the account.
    type: str
    required: true
  origin_type:
    description: Kind of origin it signs for.
    type: str
    choices: [s3, lambda, mediastore, mediapackagev2]
    default: s3
  signing_behavior:
    description: When CloudFront signs origin requests.
    type: str
    choices: [always, never, no-override]
    default: always
  description:
    description: Description.
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
- name: Lambda function URLs behind CloudFront
  stream_sales.platform.cloudfront_origin_access_control:
    name: stream-sales-dev-lambda
    origin_type: lambda
"""

RETURN = r"""
id:
  description: The origin access control's ID (empty when absent or not yet created in check mode).
  returned: always
  type: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import create_or_find
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import write_current


def find(cf, name):
    marker = ""
    while True:
        page = cf.list_origin_access_controls(aws_retry=True, **({"Marker": marker} if marker else {}))["OriginAccessControlList"]
        for item in page.get("Items") or []:
            if item["Name"] == name:
                return item
        marker = page.get("NextMarker")
        if not marker:
            return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            origin_type=dict(type="str", default="s3", choices=["s3", "lambda", "mediastore", "mediapackagev2"]),
            signing_behavior=dict(type="str", default="always", choices=["always", "never", "no-override"]),
            description=dict(type="str", default=""),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cf = client(module, "cloudfront")
    wanted = {"Name": p["name"], "Description": p["description"], "SigningProtocol": "sigv4",
              "SigningBehavior": p["signing_behavior"], "OriginAccessControlOriginType": p["origin_type"]}
    try:
        current = find(cf, p["name"])
        before = {k: current.get(k) for k in wanted} if current else {}
        if p["state"] == "absent":
            if current and not module.check_mode:
                write_current(lambda: cf.get_origin_access_control(aws_retry=True, Id=current["Id"])["ETag"],
                              lambda etag: cf.delete_origin_access_control(aws_retry=True, Id=current["Id"], IfMatch=etag))
            result = dict(changed=current is not None, id="")
            after = {}
        else:
            changed = current is None or before != wanted
            oac_id = (current or {}).get("Id", "")
            if changed and not module.check_mode:
                if current is None:
                    created, found = create_or_find(
                        lambda: cf.create_origin_access_control(aws_retry=True, OriginAccessControlConfig=wanted)["OriginAccessControl"],
                        "OriginAccessControlAlreadyExists", lambda: find(cf, p["name"]))
                    oac_id = created["Id"]
                    if found and {k: created.get(k) for k in wanted} != wanted:
                        current = created  # found with another config: updated below
                if current is not None:
                    write_current(lambda: cf.get_origin_access_control(aws_retry=True, Id=oac_id)["ETag"],
                                  lambda etag: cf.update_origin_access_control(aws_retry=True, Id=oac_id, IfMatch=etag,
                                                                               OriginAccessControlConfig=wanted))
            result = dict(changed=changed, id=oac_id)
            after = wanted
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage origin access control {p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
