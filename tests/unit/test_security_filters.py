"""Filters of the kms and cdn roles: key ARNs found per region, the kept entry of a key, WAF rules."""
from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.filter.kms import kms_found_arns, kms_kept_entry
from ansible_collections.stream_sales.platform.plugins.filter.waf import waf_managed_rules

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_found_arns_in_region_order_with_the_alias_for_a_missing_key():
    found = [{"kms_keys": [{"key_arn": KEY}]}, {"kms_keys": []}]
    assert kms_found_arns(found, ["us-east-1", "eu-west-1"], "123456789012", "alias/stream-sales-dev") == [
        KEY, "arn:aws:kms:eu-west-1:123456789012:alias/stream-sales-dev"]


def test_kept_entry_says_when_a_scheduled_key_goes_and_why_a_kept_one_stays():
    scheduled = kms_kept_entry({"arn": KEY, "deletion_date": "2026-12-11T10:00:00+00:00"}, "alias/stream-sales-dev", "dev", False)
    assert scheduled == {"resource": "KMS key alias/stream-sales-dev (us-east-1)", "arn": KEY,
                         "why": "deletion scheduled (2026-12-11); a deploy before then cancels it"}
    kept = kms_kept_entry({"key_arn": KEY}, "alias/stream-sales-production", "production", True)
    assert kept["arn"] == KEY and kept["why"].startswith("production keeps the data it encrypts")


def test_managed_rule_groups_block_or_count_and_each_has_metrics():
    groups = [{"name": "ip-reputation", "group": "AWSManagedRulesAmazonIpReputationList", "counted": []},
              {"name": "common", "group": "AWSManagedRulesCommonRuleSet", "counted": ["SizeRestrictions_BODY"]}]
    blocking = waf_managed_rules(groups, "stream-sales-production", {"None": {}})
    assert [(r["Name"], r["Priority"], r["OverrideAction"]) for r in blocking] == [
        ("ip-reputation", 0, {"None": {}}), ("common", 1, {"None": {}})]
    assert blocking[1]["Statement"]["ManagedRuleGroupStatement"] == {
        "VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet",
        "RuleActionOverrides": [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]}
    assert "RuleActionOverrides" not in blocking[0]["Statement"]["ManagedRuleGroupStatement"]
    assert all(r["VisibilityConfig"] == {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                         "MetricName": f"stream-sales-production-{r['Name']}"} for r in blocking)
    counting = waf_managed_rules(groups, "stream-sales-dev", {"Count": {}})
    assert all(r["OverrideAction"] == {"Count": {}} for r in counting)
