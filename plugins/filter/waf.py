# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the cdn role: AWS managed rule groups as WAFV2 web ACL rules."""

from __future__ import annotations


def waf_managed_rules(groups, acl_name, override):
    """One rule per AWS managed rule group, in order (priorities 0, 1, ...), each with its metrics.

    `groups`: [{name, group, counted}] - `counted` names rules of the group that only count.
    `override`: the rule's OverrideAction - {"None": {}} keeps the group's own actions (block),
    {"Count": {}} counts every match.
    """
    rules = []
    for priority, g in enumerate(groups):
        statement = {"VendorName": "AWS", "Name": g["group"]}
        if g.get("counted"):
            statement["RuleActionOverrides"] = [{"Name": r, "ActionToUse": {"Count": {}}} for r in g["counted"]]
        rules.append({
            "Name": g["name"],
            "Priority": priority,
            "Statement": {"ManagedRuleGroupStatement": statement},
            "OverrideAction": dict(override),
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                 "MetricName": f"{acl_name}-{g['name']}"},
        })
    return rules


class FilterModule:
    def filters(self):
        return {"waf_managed_rules": waf_managed_rules}
