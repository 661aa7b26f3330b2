#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_bundle
short_description: A Lambda function deployed from a bundle folder by content hash, with a live alias
version_added: 0.1.0
description:
  - Ensures function O(name) with its configuration and the code of O(bundle_dir). The code is
    zipped deterministically and uploaded only when the folder's content hash differs from the
    one recorded on the function (tag C(BundleSha256)), so an unchanged build uploads nothing.
  - Bundles larger than O(direct_upload_limit) go through O(s3_bucket) (Lambda refuses direct
    uploads over 50 MB).
  - Every change of code or configuration publishes a version (its description carries the
    bundle hash and a hash of the configuration) and moves the alias O(alias) to it. A run reads
    the version the alias serves first (GetFunction of the alias, with the function's tags) and
    stops there when that version carries this bundle and configuration; only otherwise is
    C($LATEST) read and compared (a change made to C($LATEST) alone, which nothing serves, is
    corrected by the next publication). O(rollback=true) moves the alias back to the
    previous version instead.
  - O(invoke_payload) is sent once per bundle to the version the alias serves, right after it is
    published (e.g. the OpenNext tag-cache initialiser); the function's tag C(BundleInvoked) records
    the bundle hash once the invocation succeeded, so a run that failed there invokes again.
  - Creates are safe to resend - a function or alias that already exists when CreateFunction or
    CreateAlias is resent after a lost answer is adopted (PublishVersion of unchanged code returns
    the version already published).
  - M(amazon.aws.lambda) compares only a zip's checksum, cannot publish a version and move an
    alias in one step, and shows no code change in check mode; hence this module.
options:
  name:
    description: Function name.
    type: str
    required: true
  bundle_dir:
    description: Folder whose files are the function's code. Required with O(state=present) unless O(rollback).
    type: path
  bundle_hash:
    description: Content hash of O(bundle_dir) when already known; computed otherwise.
    type: str
  role_arn:
    description: Execution role ARN.
    type: str
  handler:
    description: Handler.
    type: str
    default: index.handler
  runtime:
    description: Runtime.
    type: str
    default: nodejs20.x
  architecture:
    description: Instruction set.
    type: str
    choices: [x86_64, arm64]
    default: x86_64
  memory_size:
    description: Memory in MB.
    type: int
    default: 1024
  timeout:
    description: Timeout in seconds.
    type: int
    default: 10
  environment:
    description: Environment variables (names and ARNs only; never secret values).
    type: dict
    default: {}
  vpc_subnet_ids:
    description: Subnets to run in; empty runs outside any VPC.
    type: list
    elements: str
    default: []
  vpc_security_group_ids:
    description: Security groups, with O(vpc_subnet_ids).
    type: list
    elements: str
    default: []
  description:
    description: Function description.
    type: str
    default: ""
  kms_key_arn:
    description: KMS key (ARN) encrypting the environment variables at rest; empty uses Lambda's AWS managed key.
    type: str
    default: ""
  dead_letter_arn:
    description: SQS queue or SNS topic (ARN) receiving the events of asynchronous invocations that failed every retry; empty for none.
    type: str
    default: ""
  s3_bucket:
    description: Staging bucket for bundles over O(direct_upload_limit).
    type: str
  s3_prefix:
    description: Key prefix in O(s3_bucket); the key is C(<prefix>/<name>/<hash>.zip).
    type: str
    default: _lambda
  direct_upload_limit:
    description: Largest zip in bytes sent directly in the API call.
    type: int
    default: 50000000
  build_id:
    description: Identity of the whole build; recorded in each published version's description so that a rollback moves back only what the last deploy moved.
    type: str
    default: ""
  rollback_build:
    description: With O(rollback), roll back only if the alias's version was published by this build (see O(build_id)); otherwise change nothing.
    type: str
    default: ""
  alias:
    description: Alias that serves traffic.
    type: str
    default: live
  invoke_payload:
    description: Payload sent once per bundle (content hash) to the alias's version; skipped when omitted.
    type: dict
  rollback:
    description: Move O(alias) to the version before the one it points to; nothing else changes.
    type: bool
    default: false
  state:
    description: Whether the function should exist.
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
- name: Server function from an OpenNext build
  stream_sales.platform.lambda_bundle:
    name: stream-sales-dev-server
    bundle_dir: example-app/.open-next/server-functions/default
    role_arn: arn:aws:iam::123456789012:role/stream-sales-dev-server
    environment:
      NODE_ENV: production
    s3_bucket: stream-sales-dev-site-123456789012

- name: Roll the live alias back one version
  stream_sales.platform.lambda_bundle:
    name: stream-sales-dev-server
    rollback: true
"""

RETURN = r"""
function:
  description: The function after the run.
  returned: always
  type: dict
  contains:
    arn:
      description: Unqualified function ARN.
      type: str
    bundle_sha256:
      description: Content hash of the deployed bundle.
      type: str
    version:
      description: Version the alias points to.
      type: str
    alias_arn:
      description: ARN of the alias.
      type: str
code_changed:
  description: Whether the code was (or in check mode would be) uploaded.
  returned: always
  type: bool
published:
  description: Whether a new version was published.
  returned: always
  type: bool
live:
  description: The alias's version after the run, with its description (bundle and build) and publication time.
  returned: when the function exists
  type: dict
kept:
  description: With O(state=absent), why the function could not be deleted yet (a Lambda@Edge function with replicas).
  returned: when the function had to stay
  type: str
invoked:
  description: Whether O(invoke_payload) was sent to a newly published version (and the function answered without error).
  returned: always
  type: bool
"""

import hashlib
import json
import os
import tempfile

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import content_hash
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import deterministic_zip

HASH_TAG = "BundleSha256"
# The bundle hash whose one-time invocation (invoke_payload) succeeded.
INVOKED_TAG = "BundleInvoked"


def read_function(lam, name):
    try:
        fn = lam.get_function(aws_retry=True, FunctionName=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    return dict(config_view(fn["Configuration"]), tags=fn.get("Tags") or {})


def config_view(cfg):
    """The comparable configuration of $LATEST or of a version (whose description is its own)."""
    name = cfg["FunctionName"].rsplit(":", 1)[-1]
    return {
        "arn": cfg["FunctionArn"].split(":function:")[0] + ":function:" + name,
        "role_arn": cfg.get("Role"),
        "handler": cfg.get("Handler"),
        "runtime": cfg.get("Runtime"),
        "architecture": (cfg.get("Architectures") or ["x86_64"])[0],
        "memory_size": cfg.get("MemorySize"),
        "timeout": cfg.get("Timeout"),
        "environment": (cfg.get("Environment") or {}).get("Variables") or {},
        "vpc_subnet_ids": sorted((cfg.get("VpcConfig") or {}).get("SubnetIds") or []),
        "vpc_security_group_ids": sorted((cfg.get("VpcConfig") or {}).get("SecurityGroupIds") or []),
        "description": cfg.get("Description") or "",
        "kms_key_arn": cfg.get("KMSKeyArn") or "",
        "dead_letter_arn": (cfg.get("DeadLetterConfig") or {}).get("TargetArn") or "",
    }


def read_live(lam, name, alias):
    """The configuration of the version the alias serves (its number, description, publication time):
    one call, where GetAlias then GetFunctionConfiguration made two."""
    try:
        return lam.get_function_configuration(aws_retry=True, FunctionName=name, Qualifier=alias)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def read_served(lam, name, alias):
    """GetFunction of the alias: the configuration of the version it serves and the function's tags
    (tags belong to the function, whatever the qualifier), or None."""
    try:
        fn = lam.get_function(aws_retry=True, FunctionName=name, Qualifier=alias)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    return fn["Configuration"], fn.get("Tags") or {}


def config_digest(w):
    """A short hash of the wanted configuration, carried in each published version's description."""
    return hashlib.sha256(json.dumps(w, sort_keys=True).encode()).hexdigest()[:16]


def version_description(digest, w, build_id):
    return f"bundle {digest} config {config_digest(w)}" + (f" build {build_id}" if build_id else "")


def current_of(served, digest, w):
    """The function as wanted, when the version the alias serves was published from this bundle and
    configuration (a version never changes): no need to read $LATEST. None otherwise."""
    config, tags = served
    if not config.get("Description", "").startswith(f"bundle {digest} config {config_digest(w)}"):
        return None
    return dict(w, arn=config_view(config)["arn"], tags=tags)


def alias_of(current, alias, live):
    """The alias as GetAlias describes it, from what read_live returned."""
    return {"FunctionVersion": live["Version"], "AliasArn": "%s:%s" % (current["arn"], alias), "Name": alias}


def live_of(live):
    return {"version": live["Version"], "description": live.get("Description", ""), "last_modified": live.get("LastModified", "")}


def read_alias(lam, name, alias):
    try:
        return lam.get_alias(aws_retry=True, FunctionName=name, Name=alias)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def create_alias(lam, name, alias, version):
    """CreateAlias, safe to resend: an alias that exists already (the first attempt went through,
    its answer lost) is adopted and pointed at the version."""
    try:
        return lam.create_alias(aws_retry=True, FunctionName=name, Name=alias, FunctionVersion=version)
    except is_boto3_error_code("ResourceConflictException") as conflict:
        found = read_alias(lam, name, alias)
        if found is None:
            raise conflict
        if found["FunctionVersion"] == version:
            return found
        return lam.update_alias(aws_retry=True, FunctionName=name, Name=alias, FunctionVersion=version)


def versions(lam, name):
    found = paginate(lam, "list_versions_by_function", "Versions", FunctionName=name)
    return sorted((v for v in found if v["Version"] != "$LATEST"), key=lambda v: int(v["Version"]))


def wanted_config(p):
    return {
        "role_arn": p["role_arn"], "handler": p["handler"], "runtime": p["runtime"],
        "architecture": p["architecture"], "memory_size": p["memory_size"], "timeout": p["timeout"],
        "environment": {k: str(v) for k, v in p["environment"].items()},
        "vpc_subnet_ids": sorted(p["vpc_subnet_ids"]),
        "vpc_security_group_ids": sorted(p["vpc_security_group_ids"]) if p["vpc_subnet_ids"] else [],
        "description": p["description"],
        "kms_key_arn": p["kms_key_arn"],
        "dead_letter_arn": p["dead_letter_arn"],
    }


def code_args(module, s3, p, digest, zip_path):
    size = os.path.getsize(zip_path)
    if size > p["direct_upload_limit"]:
        if not p["s3_bucket"]:
            module.fail_json(msg=f"{p['name']}: bundle is {size} bytes, over direct_upload_limit; set s3_bucket")
        key = f"{p['s3_prefix'].strip('/')}/{p['name']}/{digest}.zip"
        with open(zip_path, "rb") as fh:
            s3.put_object(aws_retry=True, Bucket=p["s3_bucket"], Key=key, Body=fh, ContentType="application/zip")
        return {"S3Bucket": p["s3_bucket"], "S3Key": key}
    with open(zip_path, "rb") as fh:
        return {"ZipFile": fh.read()}


def api_config(w):
    return dict(
        Role=w["role_arn"], Handler=w["handler"], Runtime=w["runtime"], MemorySize=w["memory_size"],
        Timeout=w["timeout"], Description=w["description"], Environment={"Variables": w["environment"]},
        VpcConfig={"SubnetIds": w["vpc_subnet_ids"], "SecurityGroupIds": w["vpc_security_group_ids"]},
        KMSKeyArn=w["kms_key_arn"], DeadLetterConfig={"TargetArn": w["dead_letter_arn"]},
    )


def wait(lam, name, kind):
    lam.get_waiter(kind).wait(FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})


def ensure_present(module, lam, s3, current, live, digest):
    """live: the configuration of the version the alias serves (read_served), or None."""
    p = module.params
    w = wanted_config(p)
    # INVOKED_TAG is written only once the one-time invocation succeeded: a run that failed there
    # invokes again on the next run, even though the code is already up.
    current_tags = {k: v for k, v in (current["tags"] if current else {}).items() if k != INVOKED_TAG}
    tags = tags_after(current_tags, dict(p["tags"] or {}, **{HASH_TAG: digest}), p["purge_tags"])
    code_changed = current is None or current["tags"].get(HASH_TAG) != digest or current["architecture"] != w["architecture"]
    config_changed = current is not None and any(current[k] != w[k] for k in w if k != "architecture")
    alias = alias_of(current, p["alias"], live) if live else None
    tags_changed = current is not None and current_tags != tags
    needs_invoke = p["invoke_payload"] is not None and (current or {"tags": {}})["tags"].get(INVOKED_TAG) != digest
    # After a rollback the alias serves an older bundle: a deploy moves it to this one again.
    # The alias serves this bundle with $LATEST's configuration (its own description aside): nothing
    # newer to move it to, no need to list the versions.
    forward = None
    serves_latest = live is not None and live.get("Description", "").startswith(f"bundle {digest}") and all(
        v == current[k] for k, v in config_view(live).items() if k not in ("description", "arn"))
    if alias is not None and not code_changed and not config_changed and not serves_latest:
        published = [v for v in versions(lam, p["name"]) if v.get("Description", "").startswith(f"bundle {digest}")]
        if published and published[-1]["Version"] != alias["FunctionVersion"]:
            forward = published[-1]["Version"]
    changed = code_changed or config_changed or alias is None or tags_changed or forward is not None or needs_invoke
    result = {"code_changed": code_changed, "published": False, "invoked": False}
    if not changed and live is not None:
        result["live"] = live_of(live)
    after = dict(w, bundle_sha256=digest, tags=tags)
    if not changed or module.check_mode:
        return changed, result, after, alias
    with tempfile.TemporaryDirectory() as tmp:
        code = None
        if code_changed:
            code = code_args(module, s3, p, digest, deterministic_zip(p["bundle_dir"], os.path.join(tmp, "bundle.zip")))
        if current is None:
            try:
                lam.create_function(aws_retry=True, FunctionName=p["name"], Code=code, Architectures=[w["architecture"]],
                                    PackageType="Zip", Tags=tags, Publish=False, **api_config(w))
            except is_boto3_error_code("ResourceConflictException"):
                pass  # a resent create whose first attempt went through (its answer lost): ours, as asked
            wait(lam, p["name"], "function_active_v2")
        else:
            if config_changed:
                lam.update_function_configuration(aws_retry=True, FunctionName=p["name"], **api_config(w))
                wait(lam, p["name"], "function_updated_v2")
            if code_changed:
                lam.update_function_code(aws_retry=True, FunctionName=p["name"], Architectures=[w["architecture"]], **code)
                wait(lam, p["name"], "function_updated_v2")
            if tags_changed:
                arn = current["arn"]
                gone = [k for k in current_tags if k not in tags]
                if gone:
                    lam.untag_resource(aws_retry=True, Resource=arn, TagKeys=gone)
                lam.tag_resource(aws_retry=True, Resource=arn, Tags=tags)
    if forward is not None:
        alias = lam.update_alias(aws_retry=True, FunctionName=p["name"], Name=p["alias"], FunctionVersion=forward)
    if code_changed or config_changed or alias is None:
        version = lam.publish_version(aws_retry=True, FunctionName=p["name"],
                                      Description=version_description(digest, w, p["build_id"]))["Version"]
        result["published"] = True
        if alias is None:
            alias = create_alias(lam, p["name"], p["alias"], version)
        else:
            alias = lam.update_alias(aws_retry=True, FunctionName=p["name"], Name=p["alias"], FunctionVersion=version)
    if needs_invoke:
        invoke_once(module, lam, alias, digest)
        result["invoked"] = True
    return changed, result, after, alias


def invoke_once(module, lam, alias, digest):
    """Send invoke_payload to the alias's version, then record on the function that this bundle was invoked."""
    p = module.params
    version = alias["FunctionVersion"]
    waiter = lam.get_waiter("function_active_v2")
    waiter.wait(FunctionName=p["name"], Qualifier=version, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    resp = lam.invoke(aws_retry=True, FunctionName=p["name"], Qualifier=version,
                      Payload=json.dumps(p["invoke_payload"]).encode())
    if resp.get("FunctionError"):
        module.fail_json(msg=f"{p['name']} version {version} failed on its one-time invocation: "
                             f"{resp['Payload'].read().decode(errors='replace')[:2000]}")
    lam.tag_resource(aws_retry=True, Resource=alias["AliasArn"].rsplit(":", 1)[0], Tags={INVOKED_TAG: digest})


def live_version(lam, name, alias):
    """The alias's version with its description and publication time, or None."""
    found = read_live(lam, name, alias)
    return live_of(found) if found else None


def do_rollback(module, lam, current):
    p = module.params
    alias = read_alias(lam, p["name"], p["alias"])
    if current is None or alias is None:
        module.fail_json(msg=f"{p['name']} has no alias {p['alias']!r} to roll back")
    all_versions = versions(lam, p["name"])
    live = next((v for v in all_versions if v["Version"] == alias["FunctionVersion"]), {})
    if p["rollback_build"] and not live.get("Description", "").endswith(f" build {p['rollback_build']}"):
        return alias, None
    older = [v for v in all_versions if int(v["Version"]) < int(alias["FunctionVersion"])]
    if not older and p["rollback_build"]:
        return alias, None  # new in that build: nothing older to serve
    if not older:
        module.fail_json(msg=f"{p['name']}: alias {p['alias']} is at version {alias['FunctionVersion']}, the oldest; nothing to roll back to")
    target = older[-1]
    if not module.check_mode:
        alias = lam.update_alias(aws_retry=True, FunctionName=p["name"], Name=p["alias"], FunctionVersion=target["Version"])
    else:
        alias = dict(alias, FunctionVersion=target["Version"])
    return alias, target


def delete_function(lam, name):
    """Delete; the reason it stays when it is a Lambda@Edge function CloudFront still replicates."""
    try:
        lam.delete_function(aws_retry=True, FunctionName=name)
    except botocore.exceptions.ClientError as e:
        # AWS refuses until CloudFront has removed the edge replicas, hours after the
        # distribution stopped using the function; a later run deletes it.
        if "replicated function" not in str(e):
            raise
        return ("Lambda@Edge replicas are removed by CloudFront hours after the distribution is "
                "deleted; AWS refuses to delete the function until then. Rerun the teardown later.")
    return ""


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            bundle_dir=dict(type="path"),
            bundle_hash=dict(type="str"),
            role_arn=dict(type="str"),
            handler=dict(type="str", default="index.handler"),
            runtime=dict(type="str", default="nodejs20.x"),
            architecture=dict(type="str", default="x86_64", choices=["x86_64", "arm64"]),
            memory_size=dict(type="int", default=1024),
            timeout=dict(type="int", default=10),
            environment=dict(type="dict", default={}),
            vpc_subnet_ids=dict(type="list", elements="str", default=[]),
            vpc_security_group_ids=dict(type="list", elements="str", default=[]),
            description=dict(type="str", default=""),
            kms_key_arn=dict(type="str", default="", no_log=False),
            dead_letter_arn=dict(type="str", default=""),
            s3_bucket=dict(type="str"),
            s3_prefix=dict(type="str", default="_lambda"),
            direct_upload_limit=dict(type="int", default=50000000),
            alias=dict(type="str", default="live"),
            build_id=dict(type="str", default=""),
            rollback_build=dict(type="str", default=""),
            invoke_payload=dict(type="dict"),
            rollback=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and not p["rollback"] and not (p["bundle_dir"] and p["role_arn"]):
        module.fail_json(msg="bundle_dir and role_arn are required with state=present")
    if p["bundle_dir"] and not os.path.isdir(p["bundle_dir"]):
        module.fail_json(msg=f"bundle_dir {p['bundle_dir']} is not a folder")
    lam = client(module, "lambda")
    s3 = client(module, "s3")
    result = {"code_changed": False, "published": False, "invoked": False}
    try:
        served = current = None
        if p["state"] == "present" and not p["rollback"]:
            digest = p["bundle_hash"] or content_hash(p["bundle_dir"])
            served = read_served(lam, p["name"], p["alias"])
            current = current_of(served, digest, wanted_config(p)) if served else None
        current = current or read_function(lam, p["name"])
        before = {k: v for k, v in (current or {}).items() if k != "arn"}
        if current:
            before["bundle_sha256"] = current["tags"].get(HASH_TAG)
        if p["state"] == "absent":
            kept = delete_function(lam, p["name"]) if current and not module.check_mode else ""
            if kept:
                result.update(changed=False, kept=kept, function={"arn": current["arn"], "name": p["name"]})
                after = before
            else:
                result.update(changed=current is not None, function={})
                after = {}
        elif p["rollback"]:
            was = read_alias(lam, p["name"], p["alias"]) if current else None
            alias, target = do_rollback(module, lam, current)
            target = target or {"Version": alias["FunctionVersion"], "Description": ""}
            result.update(changed=target["Version"] != was["FunctionVersion"],
                          function=dict(arn=current["arn"], version=target["Version"], name=p["name"],
                                        description=target.get("Description", ""), alias_arn=alias.get("AliasArn")))
            before, after = {"version": was["FunctionVersion"]}, {"version": target["Version"]}
        else:
            live = served[0] if served and current else None
            changed, result, after, alias = ensure_present(module, lam, s3, current, live, digest)
            fn = read_function(lam, p["name"]) if changed and not module.check_mode else current
            result.update(changed=changed, function=dict(
                arn=(fn or {}).get("arn", ""), bundle_sha256=after["bundle_sha256"],
                version=(alias or {}).get("FunctionVersion", ""), alias_arn=(alias or {}).get("AliasArn", ""),
                name=p["name"]))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, botocore.exceptions.WaiterError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage Lambda function {p['name']}")
    if p["state"] == "present" and result.get("function", {}).get("arn") and "live" not in result:
        try:
            result["live"] = live_version(lam, p["name"], p["alias"]) or {}
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Failed to read the {p['alias']} alias of {p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
