#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_origin_access_controls
short_description: CloudFront origin access controls (S3 or Lambda function URL), found by name in one list
version_added: 0.1.0
description:
  - Ensures the origin access controls of O(controls), each signing requests with SigV4
    (O(controls[].signing_behavior)) for origins of its O(controls[].origin_type), or deletes
    those whose O(controls[].state) is C(absent). Origin access controls carry no tags, so the
    name is the identity.
  - Finds them all with one walk of C(ListOriginAccessControls), which answers their whole
    configuration.
  - amazon.aws 10.1 and community.aws 10.0 have no module for origin access controls; only
    M(community.aws.cloudfront_origin_access_identity), the legacy identity, which cannot sign requests to
    Lambda function URLs. Hence this one.
options:
  controls:
    description: The origin access controls, by name.
    type: list
    elements: dict
    required: true
    suboptions:
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
- name: The buckets and the Lambda function URLs behind CloudFront
  stream_sales.platform.cloudfront_origin_access_controls:
    controls:
      - {name: stream-sales-dev-s3, origin_type: s3}
      - {name: stream-sales-dev-lambda, origin_type: lambda}
"""

RETURN = r"""
ids:
  description: The ID of each present control, by name (empty when not yet created, in check mode).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import create_or_find
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import write_current
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with


def find_all(cf):
    """{name: summary} of every origin access control of the account (one walk of the list)."""
    found, marker = {}, ""
    while True:
        page = cf.list_origin_access_controls(aws_retry=True, **({"Marker": marker} if marker else {}))["OriginAccessControlList"]
        for item in page.get("Items") or []:
            found[item["Name"]] = item
        marker = page.get("NextMarker")
        if not marker:
            return found


def config(spec):
    return {"Name": spec["name"], "Description": spec["description"], "SigningProtocol": "sigv4",
            "SigningBehavior": spec["signing_behavior"], "OriginAccessControlOriginType": spec["origin_type"]}


def converge_one(module, cf, spec, current):
    """(changed, id) of one control brought to its spec."""
    wanted = config(spec)
    if spec["state"] == "absent":
        if current and not module.check_mode:
            write_current(lambda: cf.get_origin_access_control(aws_retry=True, Id=current["Id"])["ETag"],
                          lambda etag: cf.delete_origin_access_control(aws_retry=True, Id=current["Id"], IfMatch=etag))
        return current is not None, ""
    oac_id = (current or {}).get("Id", "")
    changed = current is None or {k: current.get(k) for k in wanted} != wanted
    if changed and not module.check_mode:
        if current is None:
            created, found = create_or_find(
                lambda: cf.create_origin_access_control(aws_retry=True, OriginAccessControlConfig=wanted)["OriginAccessControl"],
                "OriginAccessControlAlreadyExists", lambda: find_all(cf).get(spec["name"]))
            oac_id = created["Id"]
            if found and {k: (created.get("OriginAccessControlConfig") or created).get(k) for k in wanted} != wanted:
                current = created  # found with another config: updated below
        if current is not None:
            write_current(lambda: cf.get_origin_access_control(aws_retry=True, Id=oac_id)["ETag"],
                          lambda etag: cf.update_origin_access_control(aws_retry=True, Id=oac_id, IfMatch=etag,
                                                                       OriginAccessControlConfig=wanted))
    return changed, oac_id


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            controls=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                origin_type=dict(type="str", default="s3", choices=["s3", "lambda", "mediastore", "mediapackagev2"]),
                signing_behavior=dict(type="str", default="always", choices=["always", "never", "no-override"]),
                description=dict(type="str", default=""),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            )),
        ),
        supports_check_mode=True,
    )
    cf = client(module, "cloudfront")
    before, after, ids, changed = [], [], {}, False
    with aws_errors(module, "origin access controls " + ", ".join(c["name"] for c in module.params["controls"])):
        existing = find_all(cf)
        for spec in module.params["controls"]:
            current = existing.get(spec["name"])
            wanted = config(spec)
            if current:
                before.append({k: current.get(k) for k in wanted})
            one_changed, oac_id = converge_one(module, cf, spec, current)
            changed = changed or one_changed
            if spec["state"] == "present":
                after.append(wanted)
                ids[spec["name"]] = oac_id
    exit_with(module, changed, before, after, kind="origin_access_controls", ids=ids)


if __name__ == "__main__":
    main()
