#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_private_bucket
short_description: A private, encrypted, TLS-only S3 bucket, configured as a whole
version_added: 0.1.0
description:
  - Ensures bucket O(name) with server-side encryption, all four public-access blocks, bucket
    owner enforced ownership, a bucket policy that denies any request not made over TLS (plus
    O(policy_statements)), versioning, CORS rules, lifecycle rules and tags.
  - Exists because M(amazon.aws.s3_bucket), M(community.aws.s3_cors) and
    M(community.aws.s3_lifecycle) have no check mode, so C(--check --diff) could not show
    what a deploy would change. Every call retries throttling with jittered backoff.
  - With O(state=absent) and O(force=true) the bucket is emptied first, every object version
    and delete marker included.
  - With O(encryption=aws:kms) S3 Bucket Keys are on (one KMS request per bucket key rather than
    per object).
  - O(server_access_logging) sends the bucket's S3 server access logs to another bucket (its
    policy must let C(logging.s3.amazonaws.com) write there); the configuration is read and
    written only when the option is given.
options:
  name:
    description: Bucket name.
    type: str
    required: true
  encryption:
    description: Default server-side encryption.
    type: str
    choices: [AES256, "aws:kms"]
    default: AES256
  kms_key_id:
    description: KMS key for O(encryption=aws:kms) (its ARN; the account's C(aws/s3) key when omitted).
    type: str
  server_access_logging:
    description:
      - Where S3 writes the bucket's server access logs; omitted leaves logging as it is, an empty
        O(server_access_logging.target_bucket) turns it off.
      - Log objects are keyed by date under C(<target_prefix><account>/<region>/<bucket>/) (S3's
        partitioned key format), so several buckets share one prefix.
    type: dict
    suboptions:
      target_bucket:
        description: The bucket receiving the logs (same account and region).
        type: str
        required: true
      target_prefix:
        description: Key prefix of the log objects.
        type: str
        default: ""
  versioning:
    description: Keep object versions.
    type: bool
    default: false
  cors_rules:
    description: CORS rules in the S3 API's shape (C(AllowedOrigins), C(AllowedMethods), ...). Empty removes CORS.
    type: list
    elements: dict
    default: []
  lifecycle_rules:
    description: Lifecycle rules in the S3 API's shape (C(ID), C(Status), C(Filter), ...). Empty removes them.
    type: list
    elements: dict
    default: []
  policy_statements:
    description: Statements added to the bucket policy after the TLS-only deny statement.
    type: list
    elements: dict
    default: []
  policy_kept_sids:
    description:
      - Sids of statements another task manages in this bucket's policy (e.g. with
        M(stream_sales.platform.s3_bucket_policy_statements)); they are kept as they are.
    type: list
    elements: str
    default: []
  force:
    description: With O(state=absent), delete every object and version first.
    type: bool
    default: false
  state:
    description: Whether the bucket should exist.
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
- name: Images bucket, versioned, with CORS for browser uploads
  stream_sales.platform.s3_private_bucket:
    name: stream-sales-production-images-123456789012
    versioning: true
    cors_rules:
      - AllowedOrigins: ["https://*"]
        AllowedMethods: [GET, PUT, POST, HEAD]
        AllowedHeaders: ["*"]
        MaxAgeSeconds: 3000
    tags:
      Environment: production
"""

RETURN = r"""
bucket:
  description: The bucket's configuration after the run (empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Bucket name.
      type: str
    arn:
      description: Bucket ARN.
      type: str
    encryption:
      description: Default encryption algorithm.
      type: str
    versioning:
      description: Whether versioning is enabled.
      type: bool
    policy:
      description: The bucket policy.
      type: dict
    tags:
      description: The bucket's tags.
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
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after

BLOCK_ALL = {
    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
}
NOT_FOUND = ("NoSuchBucket", "404", "NotFound")


def tls_only_statement(name):
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _get(call, missing_codes, default, **kwargs):
    """A bucket sub-resource, or default when S3 says it is not configured."""
    try:
        return call(aws_retry=True, **kwargs)
    except is_boto3_error_code(list(missing_codes)):
        return default


def read_bucket(s3, name, logging_read=False):
    # Versioning answers for every bucket (no "not configured" error): it doubles as the existence
    # check, one call fewer than a HeadBucket first.
    try:
        versioning = s3.get_bucket_versioning(aws_retry=True, Bucket=name).get("Status") == "Enabled"
    except is_boto3_error_code(list(NOT_FOUND)):
        return None
    enc = _get(s3.get_bucket_encryption, ["ServerSideEncryptionConfigurationNotFoundError"], {}, Bucket=name)
    rule = ((enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}])[0]
    sse = rule.get("ApplyServerSideEncryptionByDefault", {})
    pab = _get(s3.get_public_access_block, ["NoSuchPublicAccessBlockConfiguration"], {}, Bucket=name)
    own = _get(s3.get_bucket_ownership_controls, ["OwnershipControlsNotFoundError"], {}, Bucket=name)
    policy = _get(s3.get_bucket_policy, ["NoSuchBucketPolicy"], {}, Bucket=name).get("Policy")
    cors = _get(s3.get_bucket_cors, ["NoSuchCORSConfiguration"], {}, Bucket=name).get("CORSRules", [])
    lifecycle = _get(s3.get_bucket_lifecycle_configuration, ["NoSuchLifecycleConfiguration"], {}, Bucket=name).get("Rules", [])
    tags = _get(s3.get_bucket_tagging, ["NoSuchTagSet", "NoSuchTagSetError"], {}, Bucket=name).get("TagSet", [])
    out = {
        "name": name,
        "arn": f"arn:aws:s3:::{name}",
        "encryption": sse.get("SSEAlgorithm"),
        "kms_key_id": sse.get("KMSMasterKeyID"),
        "public_access_block": pab.get("PublicAccessBlockConfiguration", {}),
        "object_ownership": ((own.get("OwnershipControls") or {}).get("Rules") or [{}])[0].get("ObjectOwnership"),
        "policy": json.loads(policy) if policy else {},
        "versioning": versioning,
        "cors_rules": cors,
        "lifecycle_rules": lifecycle,
        "tags": boto3_tag_list_to_ansible_dict(tags),
        "bucket_key": bool(rule.get("BucketKeyEnabled")),
    }
    if logging_read:
        enabled = s3.get_bucket_logging(aws_retry=True, Bucket=name).get("LoggingEnabled") or {}
        out["server_access_logging"] = (
            {"target_bucket": enabled["TargetBucket"], "target_prefix": enabled.get("TargetPrefix", "")}
            if enabled.get("TargetBucket") else {})
    return out


def desired_bucket(p, current):
    kept = [s for s in ((current or {}).get("policy") or {}).get("Statement") or [] if s.get("Sid") in p["policy_kept_sids"]]
    statements = [tls_only_statement(p["name"])] + list(p["policy_statements"]) + kept
    out = {
        "name": p["name"],
        "arn": f"arn:aws:s3:::{p['name']}",
        "encryption": p["encryption"],
        "kms_key_id": p["kms_key_id"] if p["encryption"] == "aws:kms" else None,
        "public_access_block": BLOCK_ALL,
        "object_ownership": "BucketOwnerEnforced",
        "policy": {"Version": "2012-10-17", "Statement": statements},
        "versioning": p["versioning"],
        "cors_rules": p["cors_rules"],
        "lifecycle_rules": p["lifecycle_rules"],
        "tags": tags_after((current or {}).get("tags"), p["tags"], p["purge_tags"]),
        "bucket_key": p["encryption"] == "aws:kms",
    }
    if p["server_access_logging"] is not None:
        target = p["server_access_logging"]
        out["server_access_logging"] = (
            {"target_bucket": target["target_bucket"], "target_prefix": target["target_prefix"]}
            if target["target_bucket"] else {})
    return out


def _lifecycle_equal(current, wanted):
    # S3 echoes rules back with defaults filled in; compare what we asked for.
    if len(current) != len(wanted):
        return False
    by_id = {r.get("ID"): r for r in current}
    return all(by_id.get(w.get("ID")) and all(by_id[w.get("ID")].get(k) == v for k, v in w.items()) for w in wanted)


def changes(current, wanted):
    """Names of the sub-resources to write."""
    if current is None:
        # A new bucket has never been versioned; "Suspended" would be a different state.
        return ["create", "encryption", "public_access_block", "object_ownership", "policy", "cors_rules",
                "lifecycle_rules", "tags"] + (["versioning"] if wanted["versioning"] else []) + (
                    ["server_access_logging"] if wanted.get("server_access_logging") else [])
    out = []
    for key in ("encryption", "public_access_block", "object_ownership", "versioning", "tags"):
        if key == "versioning" and not wanted["versioning"] and not current["versioning"]:
            continue
        if current[key] != wanted[key] or (key == "encryption" and (current["kms_key_id"], current["bucket_key"])
                                           != (wanted["kms_key_id"], wanted["bucket_key"])):
            out.append(key)
    if "server_access_logging" in wanted and current.get("server_access_logging") != wanted["server_access_logging"]:
        out.append("server_access_logging")
    if compare_policies(current["policy"], wanted["policy"]):
        out.append("policy")
    if compare_policies({"r": current["cors_rules"]}, {"r": wanted["cors_rules"]}):
        out.append("cors_rules")
    if not _lifecycle_equal(current["lifecycle_rules"], wanted["lifecycle_rules"]):
        out.append("lifecycle_rules")
    return out


def apply(module, s3, wanted, todo):
    name = wanted["name"]
    if "create" in todo:
        region = module.region
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(aws_retry=True, Bucket=name, ObjectOwnership="BucketOwnerEnforced", **extra)
        s3.get_waiter("bucket_exists").wait(Bucket=name)
    if "public_access_block" in todo:
        s3.put_public_access_block(aws_retry=True, Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
    if "object_ownership" in todo:
        s3.put_bucket_ownership_controls(
            aws_retry=True, Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    if "encryption" in todo:
        sse = {"SSEAlgorithm": wanted["encryption"]}
        if wanted["kms_key_id"]:
            sse["KMSMasterKeyID"] = wanted["kms_key_id"]
        s3.put_bucket_encryption(aws_retry=True, Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": sse, "BucketKeyEnabled": wanted["encryption"] == "aws:kms"}]})
    if "policy" in todo:
        s3.put_bucket_policy(aws_retry=True, Bucket=name, Policy=json.dumps(wanted["policy"]))
    if "versioning" in todo:
        status = "Enabled" if wanted["versioning"] else "Suspended"
        s3.put_bucket_versioning(aws_retry=True, Bucket=name, VersioningConfiguration={"Status": status})
    if "cors_rules" in todo:
        if wanted["cors_rules"]:
            s3.put_bucket_cors(aws_retry=True, Bucket=name, CORSConfiguration={"CORSRules": wanted["cors_rules"]})
        elif "create" not in todo:
            s3.delete_bucket_cors(aws_retry=True, Bucket=name)
    if "lifecycle_rules" in todo:
        if wanted["lifecycle_rules"]:
            s3.put_bucket_lifecycle_configuration(
                aws_retry=True, Bucket=name, LifecycleConfiguration={"Rules": wanted["lifecycle_rules"]})
        elif "create" not in todo:
            s3.delete_bucket_lifecycle(aws_retry=True, Bucket=name)
    if "server_access_logging" in todo:
        target = wanted["server_access_logging"]
        status = {"LoggingEnabled": {
            "TargetBucket": target["target_bucket"], "TargetPrefix": target["target_prefix"],
            "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}},
        }} if target else {}
        s3.put_bucket_logging(aws_retry=True, Bucket=name, BucketLoggingStatus=status)
    if "tags" in todo:
        if wanted["tags"]:
            s3.put_bucket_tagging(aws_retry=True, Bucket=name, Tagging={"TagSet": ansible_dict_to_boto3_tag_list(wanted["tags"])})
        elif "create" not in todo:
            s3.delete_bucket_tagging(aws_retry=True, Bucket=name)


def empty_bucket(s3, name):
    """Delete every object version and delete marker, 1000 at a time."""
    versions = paginate(s3, "list_object_versions", "Versions", Bucket=name)
    versions += paginate(s3, "list_object_versions", "DeleteMarkers", Bucket=name)
    keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
    for i in range(0, len(keys), 1000):
        s3.delete_objects(aws_retry=True, Bucket=name, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
    return len(keys)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            encryption=dict(type="str", default="AES256", choices=["AES256", "aws:kms"]),
            kms_key_id=dict(type="str"),
            versioning=dict(type="bool", default=False),
            cors_rules=dict(type="list", elements="dict", default=[]),
            lifecycle_rules=dict(type="list", elements="dict", default=[]),
            server_access_logging=dict(type="dict", options=dict(
                target_bucket=dict(type="str", required=True),
                target_prefix=dict(type="str", default=""),
            )),
            policy_statements=dict(type="list", elements="dict", default=[]),
            policy_kept_sids=dict(type="list", elements="str", default=[]),
            force=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    s3 = client(module, "s3")
    result = {}
    try:
        current = read_bucket(s3, p["name"], logging_read=p["server_access_logging"] is not None)
        if p["state"] == "present":
            wanted = desired_bucket(p, current)
            todo = changes(current, wanted)
            if todo and not module.check_mode:
                apply(module, s3, wanted, todo)
            result = dict(changed=bool(todo), bucket=wanted, updated=todo)
            before, after = current or {}, wanted
        else:
            after = {}
            before = current or {}
            if current is not None and not module.check_mode:
                if p["force"]:
                    result["deleted_objects"] = empty_bucket(s3, p["name"])
                s3.delete_bucket(aws_retry=True, Bucket=p["name"])
            result.update(changed=current is not None, bucket={})
    except is_boto3_error_code("BucketNotEmpty") as e:
        module.fail_json_aws(e, msg=f"Bucket {p['name']} is not empty; set force=true to delete its objects")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to manage bucket {p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
