"""Fix wafv2.duplicate_item_named_as_aws_does: a duplicate web ACL answers WAFDuplicateItemException."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def test_duplicate_web_acl(aws):
    waf, name = aws("wafv2"), f"emu-dup-{uuid.uuid4().hex[:8]}"
    args = dict(Name=name, Scope="CLOUDFRONT", DefaultAction={"Allow": {}}, Rules=[],
                VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name})
    waf.create_web_acl(**args)
    with pytest.raises(waf.exceptions.WAFDuplicateItemException):
        waf.create_web_acl(**args)
    with pytest.raises(ClientError) as err:
        waf.create_web_acl(**args)
    assert err.value.response["Error"]["Code"] == "WAFDuplicateItemException"
    assert [a["Name"] for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]].count(name) == 1
