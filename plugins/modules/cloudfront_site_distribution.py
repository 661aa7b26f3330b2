#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_site_distribution
short_description: A CloudFront distribution for a site, its invalidations, and its removal
version_added: 0.1.0
description:
  - Ensures the distribution whose comment is O(name), with S3 origins behind origin access controls,
    function-URL origins (optionally behind a Lambda origin access control), a default behavior and
    ordered cache behaviors with cache / origin-request policies and viewer-request functions,
    HTTPS redirect, HTTP/2 and HTTP/3, IPv6, compression, price class, aliases and certificate.
  - Creates one invalidation of O(invalidation_paths) when O(invalidation_reference) differs from the
    one recorded on the distribution (tag C(InvalidatedFor)), i.e. once per build or routing change.
    Never on creation, since a new distribution has nothing cached.
  - Does not wait for CloudFront's propagation unless O(wait).
  - O(state=absent) disables the distribution first, waits until CloudFront has deployed that, then
    deletes it, as CloudFront requires.
  - Why not M(community.aws.cloudfront_distribution) (community.aws 10.0.0, measured)? It runs without
    check mode (C(supports_check_mode=False)), so C(--check --diff) cannot show a distribution's changes;
    origin access controls are not among its options (S3 origins get an origin access identity or none);
    it merges with what exists unless every C(purge_*) is set. M(community.aws.cloudfront_invalidation)
    has no check mode either and invalidates on every run without a caller reference. Hence this module.
options:
  name:
    description: The distribution's identity, kept in its comment and caller reference.
    type: str
    required: true
  origins:
    description:
      - Each C({id, domain_name, origin_path, type, oac_id}); C(type) is C(s3) (S3OriginConfig) or C(custom)
        (HTTPS-only custom origin, e.g. a Lambda function URL).
    type: list
    elements: dict
    default: []
  default_behavior:
    description:
      - C({origin, cache_policy_id, origin_request_policy_id, function_arn, origin_request_lambda_arn, methods});
        C(methods) is C(all) or C(read).
      - C(function_arn) is a CloudFront Function run on viewer requests; C(origin_request_lambda_arn) a
        published Lambda@Edge version run on origin requests with the request body included.
    type: dict
  behaviors:
    description: Ordered cache behaviors, each like O(default_behavior) plus C(pattern).
    type: list
    elements: dict
    default: []
  price_class:
    description: Price class.
    type: str
    choices: [PriceClass_100, PriceClass_200, PriceClass_All]
    default: PriceClass_100
  aliases:
    description: Alternate domain names; need O(acm_certificate_arn).
    type: list
    elements: str
    default: []
  acm_certificate_arn:
    description: ACM certificate in us-east-1 for O(aliases).
    type: str
    default: ""
  minimum_protocol_version:
    description: Viewer TLS policy with a custom certificate (the default certificate always allows TLSv1).
    type: str
    default: TLSv1.2_2021
  enabled:
    description: Serve traffic.
    type: bool
    default: true
  invalidation_reference:
    description: Identity of what is being served (build and routing hash); a new value invalidates once.
    type: str
    default: ""
  invalidation_paths:
    description: Paths to invalidate.
    type: list
    elements: str
    default: ["/*"]
  wait:
    description: Wait until CloudFront reports the distribution Deployed.
    type: bool
    default: false
  state:
    description: Whether the distribution should exist.
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
- name: Site distribution
  stream_sales.platform.cloudfront_site_distribution:
    name: stream-sales-dev
    origins:
      - {id: s3, domain_name: site.s3.us-east-1.amazonaws.com, origin_path: /_assets, type: s3, oac_id: E123}
    default_behavior: {origin: s3, cache_policy_id: 658327ea-f89d-4fab-a63d-7e88639e58f6, methods: read}
    invalidation_reference: "{{ build_hash }}"
"""

RETURN = r"""
distribution:
  description: The distribution (empty when absent).
  returned: always
  type: dict
  contains:
    id:
      description: Distribution ID.
      type: str
    arn:
      description: Distribution ARN.
      type: str
    domain_name:
      description: The C(*.cloudfront.net) name.
      type: str
    status:
      description: C(InProgress) or C(Deployed).
      type: str
invalidated:
  description: Whether an invalidation was created (or would be, in check mode).
  returned: always
  type: bool
"""

import hashlib
import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import retrying
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import write_current

ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
READ_METHODS = ["GET", "HEAD"]
INVALIDATED_TAG = "InvalidatedFor"


def _items(items):
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def api_origin(o):
    out = {"Id": o["id"], "DomainName": o["domain_name"], "OriginPath": o.get("origin_path") or "",
           "CustomHeaders": {"Quantity": 0}, "ConnectionAttempts": 3, "ConnectionTimeout": 10,
           "OriginShield": {"Enabled": False}, "OriginAccessControlId": o.get("oac_id") or ""}
    if o.get("type", "s3") == "s3":
        out["S3OriginConfig"] = {"OriginAccessIdentity": ""}
    else:
        out["CustomOriginConfig"] = {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                     "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                     "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}
    return out


def api_behavior(b):
    methods = ALL_METHODS if b.get("methods", "read") == "all" else READ_METHODS
    out = {
        "TargetOriginId": b["origin"],
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {"Quantity": len(methods), "Items": methods,
                           "CachedMethods": {"Quantity": 2, "Items": READ_METHODS}},
        "Compress": True,
        "SmoothStreaming": False,
        "FieldLevelEncryptionId": "",
        "CachePolicyId": b["cache_policy_id"],
        "LambdaFunctionAssociations": _items(
            [{"LambdaFunctionARN": b["origin_request_lambda_arn"], "EventType": "origin-request", "IncludeBody": True}]
            if b.get("origin_request_lambda_arn") else []),
        "FunctionAssociations": _items([{"FunctionARN": b["function_arn"], "EventType": "viewer-request"}]
                                       if b.get("function_arn") else []),
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
    }
    if b.get("origin_request_policy_id"):
        out["OriginRequestPolicyId"] = b["origin_request_policy_id"]
    if b.get("pattern"):
        out["PathPattern"] = b["pattern"]
    return out


def api_config(p, caller_reference):
    cert = ({"ACMCertificateArn": p["acm_certificate_arn"], "SSLSupportMethod": "sni-only",
             "MinimumProtocolVersion": p["minimum_protocol_version"]}
            if p["acm_certificate_arn"] else
            # CloudFront's own certificate accepts only TLSv1 as its minimum.
            {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1"})
    return {
        "CallerReference": caller_reference,
        "Aliases": _items(sorted(p["aliases"])),
        "DefaultRootObject": "",
        "Origins": {"Quantity": len(p["origins"]), "Items": [api_origin(o) for o in p["origins"]]},
        "OriginGroups": {"Quantity": 0},
        "DefaultCacheBehavior": api_behavior(p["default_behavior"]),
        "CacheBehaviors": _items([api_behavior(b) for b in p["behaviors"]]),
        "CustomErrorResponses": {"Quantity": 0},
        "Comment": p["name"],
        "PriceClass": p["price_class"],
        "Enabled": p["enabled"],
        "ViewerCertificate": cert,
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "",
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
    }


def summary(config):
    """What we manage, in a shape both the desired and the stored config reduce to."""
    def behavior(b):
        fa = (b.get("FunctionAssociations") or {}).get("Items") or []
        la = (b.get("LambdaFunctionAssociations") or {}).get("Items") or []
        return {"pattern": b.get("PathPattern", "*"), "origin": b.get("TargetOriginId"),
                "viewer_protocol": b.get("ViewerProtocolPolicy"), "compress": b.get("Compress"),
                "methods": sorted((b.get("AllowedMethods") or {}).get("Items") or []),
                "cache_policy": b.get("CachePolicyId") or "", "origin_request_policy": b.get("OriginRequestPolicyId") or "",
                "functions": sorted([f"{f['EventType']}={f['FunctionARN']}" for f in fa]
                                    + [f"{f['EventType']}={f['LambdaFunctionARN']}"
                                       + (" (body)" if f.get("IncludeBody") else "") for f in la])}

    def origin(o):
        return {"id": o["Id"], "domain": o["DomainName"], "path": o.get("OriginPath") or "",
                "type": "custom" if o.get("CustomOriginConfig") else "s3",
                "oac": o.get("OriginAccessControlId") or ""}

    cert = config.get("ViewerCertificate") or {}
    return {
        "comment": config.get("Comment"),
        "enabled": config.get("Enabled"),
        "price_class": config.get("PriceClass"),
        "http_version": config.get("HttpVersion"),
        "ipv6": config.get("IsIPV6Enabled"),
        "aliases": sorted((config.get("Aliases") or {}).get("Items") or []),
        "certificate": cert.get("ACMCertificateArn") or "",
        "tls": cert.get("MinimumProtocolVersion"),
        "origins": sorted((origin(o) for o in (config.get("Origins") or {}).get("Items") or []), key=lambda o: o["id"]),
        "default_behavior": behavior(config.get("DefaultCacheBehavior") or {}),
        "behaviors": [behavior(b) for b in (config.get("CacheBehaviors") or {}).get("Items") or []],
    }


def find(cf, name):
    marker = None
    while True:
        page = cf.list_distributions(aws_retry=True, **({"Marker": marker} if marker else {}))["DistributionList"]
        for item in page.get("Items") or []:
            if item.get("Comment") == name:
                return item
        marker = page.get("NextMarker")
        if not marker:
            return None


def read(cf, name):
    item = find(cf, name)
    if item is None:
        return None
    resp = cf.get_distribution_config(aws_retry=True, Id=item["Id"])
    tags = cf.list_tags_for_resource(aws_retry=True, Resource=item["ARN"]).get("Tags", {}).get("Items", [])
    return {"id": item["Id"], "arn": item["ARN"], "domain_name": item["DomainName"], "status": item.get("Status"),
            "config": resp["DistributionConfig"], "etag": resp["ETag"], "tags": boto3_tag_list_to_ansible_dict(tags)}


def wait_deployed(cf, dist_id):
    cf.get_waiter("distribution_deployed").wait(Id=dist_id, WaiterConfig={"Delay": 30, "MaxAttempts": 60})


def absent(module, cf, current):
    if current is None:
        return False
    if module.check_mode:
        return True

    def read_etag():
        return cf.get_distribution_config(aws_retry=True, Id=current["id"])["ETag"]

    if current["config"].get("Enabled"):
        config = dict(current["config"], Enabled=False)
        write_current(read_etag, lambda etag: cf.update_distribution(aws_retry=True, Id=current["id"], IfMatch=etag,
                                                                     DistributionConfig=config), etag=current["etag"])
    wait_deployed(cf, current["id"])
    # Deployed can be reported a moment before CloudFront allows the deletion: that answer is retried.
    deleting = client(module, "cloudfront", retry=retrying("DistributionNotDisabled"))
    try:
        write_current(read_etag, lambda etag: deleting.delete_distribution(aws_retry=True, Id=current["id"], IfMatch=etag))
    except is_boto3_error_code("NoSuchDistribution"):
        pass  # our own delete, resent after its answer was lost
    return True


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            origins=dict(type="list", elements="dict", default=[]),
            default_behavior=dict(type="dict"),
            behaviors=dict(type="list", elements="dict", default=[]),
            price_class=dict(type="str", default="PriceClass_100", choices=["PriceClass_100", "PriceClass_200", "PriceClass_All"]),
            aliases=dict(type="list", elements="str", default=[]),
            acm_certificate_arn=dict(type="str", default=""),
            minimum_protocol_version=dict(type="str", default="TLSv1.2_2021"),
            enabled=dict(type="bool", default=True),
            invalidation_reference=dict(type="str", default=""),
            invalidation_paths=dict(type="list", elements="str", default=["/*"]),
            wait=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ("origins", "default_behavior"))],
        supports_check_mode=True,
    )
    p = module.params
    cf = client(module, "cloudfront")
    invalidated = False
    try:
        current = read(cf, p["name"])
        before = summary(current["config"]) if current else {}
        if p["state"] == "absent":
            changed = absent(module, cf, current)
            module.exit_json(changed=changed, distribution={}, invalidated=False,
                             **({"diff": dict(before=before, after={})} if module._diff else {}))
        caller_reference = current["config"]["CallerReference"] if current else p["name"]
        wanted = api_config(p, caller_reference)
        after = summary(wanted)
        config_changed = current is None or before != after
        recorded = (current or {}).get("tags", {}).get(INVALIDATED_TAG)
        reference = hashlib.sha256(p["invalidation_reference"].encode()).hexdigest()[:32] if p["invalidation_reference"] else ""
        want_tags = dict(p["tags"] or {})
        if reference:
            want_tags[INVALIDATED_TAG] = reference
        elif recorded:
            want_tags[INVALIDATED_TAG] = recorded
        tags = tags_after((current or {}).get("tags"), want_tags, p["purge_tags"])
        invalidated = current is not None and bool(reference) and recorded != reference
        tags_changed = current is not None and current["tags"] != tags
        changed = config_changed or invalidated or tags_changed
        dist = current or {}
        if changed and not module.check_mode:
            if current is None:
                try:
                    resp = cf.create_distribution_with_tags(aws_retry=True, DistributionConfigWithTags={
                        "DistributionConfig": wanted, "Tags": {"Items": ansible_dict_to_boto3_tag_list(tags)}})["Distribution"]
                    dist = {"id": resp["Id"], "arn": resp["ARN"], "domain_name": resp["DomainName"], "status": resp["Status"]}
                except is_boto3_error_code("DistributionAlreadyExists"):
                    # Our own create, resent after its answer was lost (the caller reference is the name):
                    # go on with it as found. New, it has nothing cached to invalidate.
                    current = dist = read(cf, p["name"])
                    if current is None:
                        raise
                    config_changed, tags_changed = summary(current["config"]) != after, current["tags"] != tags
            if current is not None:
                if config_changed:
                    resp = write_current(
                        lambda: cf.get_distribution_config(aws_retry=True, Id=current["id"])["ETag"],
                        lambda etag: cf.update_distribution(aws_retry=True, Id=current["id"], IfMatch=etag,
                                                            DistributionConfig=wanted),
                        etag=current["etag"])["Distribution"]
                    dist = dict(dist, status=resp["Status"])
                if invalidated:
                    cf.create_invalidation(aws_retry=True, DistributionId=current["id"], InvalidationBatch={
                        "Paths": {"Quantity": len(p["invalidation_paths"]), "Items": p["invalidation_paths"]},
                        "CallerReference": f"{reference}-{int(time.time())}"})
                if tags_changed:
                    gone = [k for k in current["tags"] if k not in tags]
                    if gone:
                        cf.untag_resource(aws_retry=True, Resource=current["arn"], TagKeys={"Items": gone})
                    cf.tag_resource(aws_retry=True, Resource=current["arn"], Tags={"Items": ansible_dict_to_boto3_tag_list(tags)})
            if p["wait"]:
                wait_deployed(cf, dist["id"])
        result = dict(changed=changed, invalidated=invalidated,
                      distribution={k: dist.get(k, "") for k in ("id", "arn", "domain_name", "status")})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, botocore.exceptions.WaiterError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage CloudFront distribution {p['name']}")
    if module._diff:
        shown_after = dict(after)
        if invalidated:
            shown_after["invalidation"] = p["invalidation_paths"]
        result["diff"] = dict(before=before, after=shown_after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
