#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: wafv2_web_acl_logged
short_description: An AWS WAF (v2) web ACL with its rules, metrics, tags and logging
version_added: 0.1.0
description:
  - Ensures the web ACL O(name) of O(scope) with O(rules) (in the WAFV2 API's shape), O(default_action),
    CloudWatch metrics and sampled requests on the ACL, tags, and its logging configuration
    (O(log_destination_arns)). C(CLOUDFRONT) web ACLs live in us-east-1 (set O(region)); a
    distribution takes the returned ARN as its C(WebACLId).
  - O(state=absent) deletes the logging configuration, then the web ACL (AWS refuses while a
    distribution still uses it).
  - A no-change run makes 4 reads (C(ListWebACLs), C(GetWebACL), C(ListTagsForResource),
    C(GetLoggingConfiguration)). A create whose answer was lost and was sent again
    (C(WAFDuplicateItemException)) goes on with the web ACL found.
  - Why not M(community.aws.wafv2_web_acl) (10.0, measured) - it does not compare the visibility
    configuration (metrics, sampling) nor rule actions beyond their priority, so a changed rule
    action can be missed; a resent create fails on the duplicate; it returns no diff; and it cannot
    manage the web ACL's logging (no module of amazon.aws or community.aws can).
options:
  name:
    description: Web ACL name (also its metric name).
    type: str
    required: true
  scope:
    description: C(CLOUDFRONT) (us-east-1) or C(REGIONAL).
    type: str
    choices: [CLOUDFRONT, REGIONAL]
    default: CLOUDFRONT
  description:
    description: Description.
    type: str
    default: ""
  default_action:
    description: What happens to a request no rule matched.
    type: str
    choices: [allow, block]
    default: allow
  rules:
    description: The rules, in the WAFV2 API's shape (C(Name), C(Priority), C(Statement), C(Action) or C(OverrideAction), C(VisibilityConfig)).
    type: list
    elements: dict
    default: []
  log_destination_arns:
    description:
      - Where WAF writes its logs (a log group named C(aws-waf-logs-*), without C(:*); a bucket or a
        Firehose stream of that name). Empty turns logging off.
    type: list
    elements: str
    default: []
  state:
    description: Whether the web ACL should exist.
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
- name: The distribution's web ACL, rate limited per IP, logged
  stream_sales.platform.wafv2_web_acl_logged:
    name: stream-sales-production
    region: us-east-1
    rules:
      - Name: rate-per-ip
        Priority: 0
        Statement: {RateBasedStatement: {Limit: 2000, AggregateKeyType: IP}}
        Action: {Block: {}}
        VisibilityConfig: {SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: rate-per-ip}
    log_destination_arns: ["arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-stream-sales-production"]
"""

RETURN = r"""
web_acl:
  description: The web ACL after the run (empty when absent).
  returned: always
  type: dict
  contains:
    arn:
      description: Its ARN (a distribution's C(WebACLId)).
      type: str
    id:
      description: Its ID.
      type: str
    rules:
      description: The rules.
      type: list
    log_destination_arns:
      description: Where it logs.
      type: list
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import converge
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state


def visibility(name):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def find(waf, p):
    marker = None
    while True:
        page = waf.list_web_acls(aws_retry=True, Scope=p["scope"], Limit=100, **({"NextMarker": marker} if marker else {}))
        for item in page.get("WebACLs") or []:
            if item["Name"] == p["name"]:
                return item
        marker = page.get("NextMarker")
        if not marker or not page.get("WebACLs"):
            return None


def read(waf, p, item):
    got = waf.get_web_acl(aws_retry=True, Name=p["name"], Scope=p["scope"], Id=item["Id"])
    acl = got["WebACL"]
    tags = waf.list_tags_for_resource(aws_retry=True, ResourceARN=acl["ARN"]).get("TagInfoForResource", {}).get("TagList", [])
    try:
        logging = waf.get_logging_configuration(aws_retry=True, ResourceArn=acl["ARN"])["LoggingConfiguration"]
    except is_boto3_error_code("WAFNonexistentItemException"):
        logging = {}
    return {
        "arn": acl["ARN"], "id": acl["Id"], "lock_token": got["LockToken"],
        "description": acl.get("Description", ""),
        "default_action": "block" if "Block" in (acl.get("DefaultAction") or {}) else "allow",
        "visibility": acl.get("VisibilityConfig"),
        "rules": sorted(acl.get("Rules") or [], key=lambda r: r["Priority"]),
        "tags": boto3_tag_list_to_ansible_dict(tags),
        "log_destination_arns": sorted(logging.get("LogDestinationConfigs") or []),
    }


def comparable(view):
    return {k: v for k, v in (view or {}).items() if k not in ("arn", "id", "lock_token")}


def contains(have, want):
    """Whether `have` holds everything of `want` (AWS echoes rules with defaults filled in)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(contains(h, w) for h, w in zip(have, want))
    return have == want


def acl_differs(have, want):
    """The web ACL itself (not its tags or logging) differs."""
    keys = ("description", "default_action", "visibility")
    return any((have or {}).get(k) != want.get(k) for k in keys) or not contains((have or {}).get("rules"), want["rules"])


def differs(have, want):
    return acl_differs(have, want) or have.get("tags") != want["tags"] \
        or have.get("log_destination_arns") != want["log_destination_arns"]


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            name=dict(type="str", required=True),
            scope=dict(type="str", default="CLOUDFRONT", choices=["CLOUDFRONT", "REGIONAL"]),
            description=dict(type="str", default=""),
            default_action=dict(type="str", default="allow", choices=["allow", "block"]),
            rules=dict(type="list", elements="dict", default=[]),
            log_destination_arns=dict(type="list", elements="str", default=[]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["scope"] == "CLOUDFRONT" and module.region != "us-east-1":
        module.fail_json(msg=f"A CLOUDFRONT web ACL lives in us-east-1; region is {module.region}.")
    waf = client(module, "wafv2")
    api_action = {"Block": {}} if p["default_action"] == "block" else {"Allow": {}}

    def wanted(current):
        return {
            "description": p["description"], "default_action": p["default_action"],
            "visibility": visibility(p["name"]),
            "rules": sorted(p["rules"], key=lambda r: r["Priority"]),
            "tags": tags_after((current or {}).get("tags"), p["tags"], p["purge_tags"]),
            "log_destination_arns": sorted(p["log_destination_arns"]),
        }

    def described():
        return {"Description": p["description"]} if p["description"] else {}  # AWS refuses an empty one

    def put_logging(arn, before):
        if p["log_destination_arns"]:
            waf.put_logging_configuration(aws_retry=True, LoggingConfiguration={
                "ResourceArn": arn, "LogDestinationConfigs": p["log_destination_arns"]})
        elif before:
            waf.delete_logging_configuration(aws_retry=True, ResourceArn=arn)

    def create():
        args = dict(Name=p["name"], Scope=p["scope"], DefaultAction=api_action, Rules=p["rules"],
                    VisibilityConfig=visibility(p["name"]), **described())
        if p["tags"]:
            args["Tags"] = ansible_dict_to_boto3_tag_list(p["tags"])
        try:
            waf.create_web_acl(aws_retry=True, **args)
        except is_boto3_error_code("WAFDuplicateItemException"):
            pass  # our own create, resent after its answer was lost: the web ACL is there
        current = read(waf, p, find(waf, p))
        return update(current)

    def update(current):
        want = wanted(current)
        if acl_differs(current, want):
            waf.update_web_acl(aws_retry=True, Name=p["name"], Scope=p["scope"], Id=current["id"],
                               LockToken=current["lock_token"], DefaultAction=api_action, Rules=p["rules"],
                               VisibilityConfig=visibility(p["name"]), **described())
        to_set, to_remove = tag_diff(current["tags"], p["tags"], p["purge_tags"])
        if to_remove:
            waf.untag_resource(aws_retry=True, ResourceARN=current["arn"], TagKeys=to_remove)
        if to_set:
            waf.tag_resource(aws_retry=True, ResourceARN=current["arn"], Tags=ansible_dict_to_boto3_tag_list(to_set))
        if current["log_destination_arns"] != want["log_destination_arns"]:
            put_logging(current["arn"], current["log_destination_arns"])
        return dict(want, arn=current["arn"], id=current["id"])

    def delete(current):
        if current["log_destination_arns"]:
            waf.delete_logging_configuration(aws_retry=True, ResourceArn=current["arn"])
        waf.delete_web_acl(aws_retry=True, Name=p["name"], Scope=p["scope"], Id=current["id"],
                           LockToken=current["lock_token"])

    with aws_errors(module, f"web ACL {p['name']}"):
        item = find(waf, p)
        current = read(waf, p, item) if item else None
        changed, after = converge(module, current, wanted(current) if p["state"] == "present" else None,
                                  create=create, update=update, delete=delete,
                                  differs=differs)
    if after is not None and current is not None and "arn" not in after:
        after = dict(after, arn=current["arn"], id=current["id"])
    exit_with(module, changed, comparable(current), comparable(after),
              web_acl={k: v for k, v in (after or {}).items() if k != "lock_token"})


if __name__ == "__main__":
    main()
