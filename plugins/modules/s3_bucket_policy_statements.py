#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_bucket_policy_statements
short_description: Some statements of an S3 bucket policy, identified by their Sid
version_added: 0.1.0
description:
  - Ensures that the policy of the existing bucket O(bucket) holds O(statements) exactly, each
    identified by its C(Sid), and leaves every other statement as it is. With O(state=absent) the
    statements with those Sids are removed (the policy is deleted when nothing is left).
  - Lets a second owner add a grant to a bucket whose policy another task writes, e.g. the cdn
    role's read access for its own distribution only, which can be named once the distribution
    exists (M(stream_sales.platform.s3_private_bucket) keeps such statements with its
    O(stream_sales.platform.s3_private_bucket#module:policy_kept_sids)).
  - M(amazon.aws.s3_bucket) can only replace a policy as a whole.
options:
  bucket:
    description: Bucket name.
    type: str
    required: true
  statements:
    description: Policy statements, each with a unique C(Sid). With O(state=absent) only the Sids matter.
    type: list
    elements: dict
    required: true
  current_policy:
    description:
      - The bucket's policy as a task of this run just read or wrote it (e.g. the C(bucket.policy)
        that M(stream_sales.platform.s3_private_bucket) returns), to save reading it again - S3 has
        no batch read, and a play that converges a bucket and then adds another role's grant read
        the same policy twice.
      - Trusted only when it already holds O(statements) as asked; otherwise the policy is read
        from S3 before anything is decided, so a write never rests on a copy.
    type: dict
  state:
    description: Whether the statements should be in the policy.
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
- name: Only this distribution may read the assets
  stream_sales.platform.s3_bucket_policy_statements:
    bucket: stream-sales-dev-site-123456789012
    statements:
      - Sid: CloudFrontReadsAssets
        Effect: Allow
        Principal: {Service: cloudfront.amazonaws.com}
        Action: s3:GetObject
        Resource: arn:aws:s3:::stream-sales-dev-site-123456789012/_assets/*
        Condition:
          StringEquals: {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"}
"""

RETURN = r"""
policy:
  description: The bucket policy after the run (empty when the bucket has none or does not exist).
  returned: always
  type: dict
"""

import json

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client


def read_policy(s3, bucket):
    """The bucket's policy ({} without one), or None when the bucket does not exist."""
    try:
        return json.loads(s3.get_bucket_policy(aws_retry=True, Bucket=bucket)["Policy"])
    except is_boto3_error_code("NoSuchBucketPolicy"):
        return {}
    except is_boto3_error_code("NoSuchBucket"):
        return None


def merged(current, statements, present):
    """current's statements with those of the given Sids replaced in place (or appended), or removed."""
    wanted = {s["Sid"]: s for s in statements}
    out, seen = [], set()
    for st in current.get("Statement") or []:
        sid = st.get("Sid")
        if sid in wanted:
            if present and sid not in seen:
                out.append(wanted[sid])
            seen.add(sid)
        else:
            out.append(st)
    if present:
        out += [s for s in statements if s["Sid"] not in seen]
    return {"Version": current.get("Version", "2012-10-17"), "Statement": out} if out else {}


def differs(current, wanted):
    return compare_policies(current, wanted) if current and wanted else current != wanted


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            statements=dict(type="list", elements="dict", required=True),
            current_policy=dict(type="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    sids = [s.get("Sid") for s in p["statements"]]
    if not all(sids) or len(set(sids)) != len(sids):
        module.fail_json(msg="statements: every statement needs a Sid, and Sids must be unique")
    s3 = client(module, "s3")
    try:
        present = p["state"] == "present"
        given = p["current_policy"]
        if given is not None and not differs(given, merged(given, p["statements"], present)):
            module.exit_json(changed=False, policy=given, diff={"before": given, "after": given})
        current = read_policy(s3, p["bucket"])
        if current is None:
            if p["state"] == "present":
                module.fail_json(msg=f"bucket {p['bucket']} does not exist")
            module.exit_json(changed=False, policy={})
        wanted = merged(current, p["statements"], present)
        changed = differs(current, wanted)
        if changed and not module.check_mode:
            if wanted:
                s3.put_bucket_policy(aws_retry=True, Bucket=p["bucket"], Policy=json.dumps(wanted))
            else:
                s3.delete_bucket_policy(aws_retry=True, Bucket=p["bucket"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to update the policy of bucket {p['bucket']}")
    module.exit_json(changed=changed, policy=wanted, diff={"before": current, "after": wanted})


if __name__ == "__main__":
    main()
