#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_cache_policy
short_description: A custom CloudFront cache policy, found by name
version_added: 0.1.0
description:
  - Ensures the cache policy O(name) with its TTLs, the headers in the cache key, all or no query strings,
    no cookies, gzip and brotli. Accounts may have 20 custom cache policies.
  - amazon.aws 10.1 and community.aws 10.0 have no module for cache policies (only
    M(community.aws.cloudfront_response_headers_policy) for another kind of policy); hence this one.
options:
  name:
    description: Name, unique in the account.
    type: str
    required: true
  comment:
    description: Comment.
    type: str
    default: ""
  min_ttl:
    description: Minimum TTL in seconds.
    type: int
    default: 0
  default_ttl:
    description: Default TTL in seconds.
    type: int
    default: 0
  max_ttl:
    description: Maximum TTL in seconds.
    type: int
    default: 31536000
  headers:
    description: Headers in the cache key.
    type: list
    elements: str
    default: []
  query_strings:
    description: Whether every query string is in the cache key.
    type: bool
    default: true
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
- name: OpenNext server cache policy
  stream_sales.platform.cloudfront_cache_policy:
    name: stream-sales-dev-server
    headers: [x-open-next-cache-key]
"""

RETURN = r"""
id:
  description: The cache policy's ID (empty when absent or not yet created in check mode).
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


def wanted_config(p):
    headers = sorted(p["headers"])
    return {
        "Name": p["name"],
        "Comment": p["comment"],
        "MinTTL": p["min_ttl"],
        "DefaultTTL": p["default_ttl"],
        "MaxTTL": p["max_ttl"],
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": ({"HeaderBehavior": "whitelist", "Headers": {"Quantity": len(headers), "Items": headers}}
                              if headers else {"HeaderBehavior": "none"}),
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "all" if p["query_strings"] else "none"},
        },
    }


def find(cf, name):
    marker = None
    while True:
        page = cf.list_cache_policies(aws_retry=True, Type="custom", **({"Marker": marker} if marker else {}))["CachePolicyList"]
        for item in page.get("Items") or []:
            if item["CachePolicy"]["CachePolicyConfig"]["Name"] == name:
                return item["CachePolicy"]
        marker = page.get("NextMarker")
        if not marker:
            return None


def normalized(config):
    """The config as CloudFront echoes it: compare header lists as sets."""
    out = dict(config)
    params = dict(out.get("ParametersInCacheKeyAndForwardedToOrigin", {}))
    hc = dict(params.get("HeadersConfig", {}))
    if "Headers" in hc:
        hc["Headers"] = {"Quantity": hc["Headers"].get("Quantity", 0), "Items": sorted(hc["Headers"].get("Items", []))}
        if not hc["Headers"]["Quantity"]:
            hc.pop("Headers")
    params["HeadersConfig"] = hc
    for key in ("CookiesConfig", "QueryStringsConfig"):
        params[key] = {k: v for k, v in params.get(key, {}).items() if k in ("CookieBehavior", "QueryStringBehavior")}
    out["ParametersInCacheKeyAndForwardedToOrigin"] = params
    out.setdefault("Comment", "")
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            comment=dict(type="str", default=""),
            min_ttl=dict(type="int", default=0),
            default_ttl=dict(type="int", default=0),
            max_ttl=dict(type="int", default=31536000),
            headers=dict(type="list", elements="str", default=[]),
            query_strings=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted = wanted_config(p)
    cf = client(module, "cloudfront")
    try:
        current = find(cf, p["name"])
        before = normalized(current["CachePolicyConfig"]) if current else {}
        if p["state"] == "absent":
            if current and not module.check_mode:
                write_current(lambda: cf.get_cache_policy(aws_retry=True, Id=current["Id"])["ETag"],
                              lambda etag: cf.delete_cache_policy(aws_retry=True, Id=current["Id"], IfMatch=etag))
            result, after = dict(changed=current is not None, id=""), {}
        else:
            after = normalized(wanted)
            changed = before != after
            policy_id = (current or {}).get("Id", "")
            if changed and not module.check_mode:
                if current is None:
                    created, found = create_or_find(
                        lambda: cf.create_cache_policy(aws_retry=True, CachePolicyConfig=wanted)["CachePolicy"],
                        "CachePolicyAlreadyExists", lambda: find(cf, p["name"]))
                    policy_id = created["Id"]
                    if found and normalized(created["CachePolicyConfig"]) != after:
                        current = created  # found with another config: updated below
                if current is not None:
                    write_current(lambda: cf.get_cache_policy(aws_retry=True, Id=policy_id)["ETag"],
                                  lambda etag: cf.update_cache_policy(aws_retry=True, Id=policy_id, IfMatch=etag,
                                                                      CachePolicyConfig=wanted))
            result = dict(changed=changed, id=policy_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage cache policy {p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
