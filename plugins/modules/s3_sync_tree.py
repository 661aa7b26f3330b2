#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_sync_tree
short_description: Upload a folder under a key prefix, only what changed, with per-pattern Cache-Control
version_added: 0.1.0
description:
  - Uploads every file of O(src) to O(bucket) under O(prefix) whose MD5 differs from the
    object's ETag (or whose Cache-Control or Content-Type differs). Unchanged files are not sent.
  - Content-Type comes from the file name; Cache-Control from the first O(cache_control) rule
    whose glob matches the file's relative path, else O(default_cache_control).
  - Objects under the prefix that the folder no longer has are kept (pages already in
    browsers still ask for the previous build's hashed files), unless O(delete=true); with
    O(prune=true) only the objects of the build before this one are kept (and a rollback to it
    finds its files).
  - A manifest at C(_manifests/<prefix>.json) in the bucket records each uploaded key's ETag,
    Cache-Control and Content-Type, and the keys of the previous build, so that a rerun needs
    one listing and one read instead of a HEAD request per file.
  - M(community.aws.s3_sync) sets one Cache-Control for a whole run and has no diff; hence this module.
options:
  bucket:
    description: Bucket name.
    type: str
    required: true
  prefix:
    description: Key prefix, without leading or trailing slash.
    type: str
    required: true
  src:
    description: Local folder. Required with O(state=present).
    type: path
  cache_control:
    description: Ordered rules, each C({pattern, value}); C(pattern) is an fnmatch glob on the relative path.
    type: list
    elements: dict
    default: []
  default_cache_control:
    description: Cache-Control of files no rule matches.
    type: str
    default: "public,max-age=0,s-maxage=31536000,must-revalidate"
  delete:
    description: Delete objects under O(prefix) that O(src) does not have.
    type: bool
    default: false
  prune:
    description: Delete objects under O(prefix) that neither O(src) nor the previous build (per the manifest) has.
    type: bool
    default: false
  state:
    description: C(absent) deletes every object under O(prefix).
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
- name: OpenNext assets, hashed files immutable
  stream_sales.platform.s3_sync_tree:
    bucket: stream-sales-dev-site-123456789012
    prefix: _assets
    src: example-app/.open-next/assets
    cache_control:
      - pattern: "_next/static/*"
        value: public,max-age=31536000,immutable
"""

RETURN = r"""
uploaded:
  description: Keys uploaded (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
deleted:
  description: Keys deleted.
  returned: always
  type: list
  elements: str
unchanged:
  description: Number of files already up to date.
  returned: always
  type: int
"""

import fnmatch
import hashlib
import json
import mimetypes
import os

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import files_under

# Types Python's table lacks or gets wrong for web assets.
EXTRA_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json",
    ".map": "application/json", ".txt": "text/plain", ".html": "text/html", ".svg": "image/svg+xml",
    ".ico": "image/x-icon", ".webp": "image/webp", ".avif": "image/avif", ".woff": "font/woff",
    ".woff2": "font/woff2", ".webmanifest": "application/manifest+json", ".cache": "application/json",
    ".rsc": "text/x-component", ".xml": "application/xml", ".wasm": "application/wasm",
}


def content_type(rel):
    ext = os.path.splitext(rel)[1].lower()
    if ext in EXTRA_TYPES:
        return EXTRA_TYPES[ext]
    guessed = mimetypes.guess_type(rel)[0]
    if guessed:
        return guessed
    # Extension-less files (BUILD_ID) are text.
    return "text/plain" if not ext else "application/octet-stream"


def cache_control(rel, rules, default):
    for rule in rules:
        if fnmatch.fnmatch(rel, rule["pattern"]):
            return rule["value"]
    return default


def md5(path):
    digest = hashlib.md5()  # nosec - S3's ETag of a single-part upload, not security
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_key(prefix):
    # Outside the prefix: CloudFront serves the prefix, the manifest is bookkeeping.
    return f"_manifests/{prefix.replace('/', '_')}.json"


def read_manifest(s3, bucket, prefix):
    try:
        body = s3.get_object(aws_retry=True, Bucket=bucket, Key=manifest_key(prefix))["Body"].read()
        data = json.loads(body)
    except is_boto3_error_code(["NoSuchKey", "NoSuchBucket", "404"]):
        return {"objects": {}, "previous": []}
    except ValueError:
        return {"objects": {}, "previous": []}  # unreadable: fall back to HEAD requests
    return {"objects": data.get("objects") or {}, "previous": data.get("previous") or []}


def sync(module, s3, prefix):
    """(uploaded, deleted, unchanged count, whether the prefix held objects); writes nothing in check mode."""
    p = module.params
    uploaded, deleted, unchanged = [], [], 0
    try:
        listed = paginate(s3, "list_objects_v2", "Contents", Bucket=p["bucket"], Prefix=prefix + "/")
    except is_boto3_error_code("NoSuchBucket"):
        if not module.check_mode and p["state"] == "present":
            raise
        listed = []  # check mode before the bucket exists; or nothing left to delete
    existing = {o["Key"]: o["ETag"].strip('"') for o in listed}
    manifest = read_manifest(s3, p["bucket"], prefix)
    recorded = manifest["objects"]
    wanted = {}
    for rel in files_under(p["src"]) if p["state"] == "present" else []:
        key = f"{prefix}/{rel}"
        full = os.path.join(p["src"], rel)
        meta = {"CacheControl": cache_control(rel, p["cache_control"], p["default_cache_control"]),
                "ContentType": content_type(rel)}
        digest = md5(full)
        wanted[key] = [digest, meta["CacheControl"], meta["ContentType"]]
        same = existing.get(key) == digest
        if same and recorded.get(key) != wanted[key]:
            # Not (or differently) in the manifest: ask S3 for the object's headers.
            head = s3.head_object(aws_retry=True, Bucket=p["bucket"], Key=key)
            same = head.get("CacheControl") == meta["CacheControl"] and head.get("ContentType") == meta["ContentType"]
        if same:
            unchanged += 1
            continue
        uploaded.append(key)
        if not module.check_mode:
            with open(full, "rb") as fh:
                s3.put_object(aws_retry=True, Bucket=p["bucket"], Key=key, Body=fh, **meta)
    # The previous build is the one the manifest recorded, unless that is this one (a rerun).
    previous = manifest["previous"] if set(recorded) == set(wanted) else sorted(recorded)
    if p["delete"] or p["prune"] or p["state"] == "absent":
        keep = set(wanted) | (set(previous) if p["prune"] else set())
        deleted = sorted(k for k in existing if k not in keep)
        if deleted and not module.check_mode:
            for i in range(0, len(deleted), 1000):
                s3.delete_objects(aws_retry=True, Bucket=p["bucket"],
                                  Delete={"Objects": [{"Key": k} for k in deleted[i:i + 1000]], "Quiet": True})
    if not module.check_mode:
        write_manifest(s3, p["bucket"], prefix, manifest, wanted, previous, p["state"])
    return uploaded, deleted, unchanged, bool(existing)


def write_manifest(s3, bucket, prefix, manifest, wanted, previous, state):
    """Record what is uploaded now; bookkeeping only, never reported as a change."""
    if state == "absent":
        if manifest["objects"] or manifest["previous"]:
            s3.delete_object(aws_retry=True, Bucket=bucket, Key=manifest_key(prefix))
    elif manifest["objects"] != wanted or manifest["previous"] != previous:
        s3.put_object(aws_retry=True, Bucket=bucket, Key=manifest_key(prefix), ContentType="application/json",
                      Body=json.dumps({"objects": wanted, "previous": previous}, sort_keys=True).encode())


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            prefix=dict(type="str", required=True),
            src=dict(type="path"),
            cache_control=dict(type="list", elements="dict", default=[]),
            default_cache_control=dict(type="str", default="public,max-age=0,s-maxage=31536000,must-revalidate"),
            delete=dict(type="bool", default=False),
            prune=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ("src",))],
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and not os.path.isdir(p["src"]):
        module.fail_json(msg=f"src {p['src']} is not a folder")
    prefix = p["prefix"].strip("/")
    s3 = client(module, "s3")
    uploaded, deleted, unchanged, held = [], [], 0, False
    try:
        uploaded, deleted, unchanged, held = sync(module, s3, prefix)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to sync {p['src'] or '(nothing)'} to s3://{p['bucket']}/{prefix}/")
    result = dict(changed=bool(uploaded or deleted), uploaded=uploaded, deleted=deleted, unchanged=unchanged)
    if module._diff:
        # An empty prefix gets its objects created (a plan counts the upload as creates).
        result["diff"] = dict(before={"upload": [], "delete": []} if held else {}, after={"upload": uploaded, "delete": deleted})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
