"""The scaled clock on CloudFront (clock.py: cloudfront_deploys_follow_the_clock).

A distribution is `InProgress` after each create and update, for CloudFront's typical
propagation time times the clock factor, then `Deployed`; it cannot be deleted meanwhile.
"""
from __future__ import annotations

import uuid

import time

import pytest
from botocore.exceptions import ClientError
from clockwork import watch

FACTOR = 0.01  # 3 s


def config(comment="clock"):
    return {
        "CallerReference": str(uuid.uuid4()), "Comment": comment, "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com",
                                              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                     "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    }


def test_in_progress_after_create_and_update_then_deployed(aws, set_clock):
    set_clock(FACTOR)
    cf = aws("cloudfront")
    since = time.monotonic()
    dist = cf.create_distribution(DistributionConfig=config())["Distribution"]
    assert dist["Status"] == "InProgress"

    def status():
        return cf.get_distribution(Id=dist["Id"])["Distribution"]["Status"]

    with pytest.raises(ClientError) as caught:
        cf.delete_distribution(Id=dist["Id"], IfMatch=cf.get_distribution(Id=dist["Id"])["ETag"])
    assert caught.value.response["Error"]["Code"] == "DistributionNotDisabled"
    created = watch(status, lambda s: s == "Deployed", limit=20, since=since)
    assert created[-1][0] >= 2.5
    summary = cf.list_distributions()["DistributionList"]["Items"]
    assert [d["Status"] for d in summary if d["Id"] == dist["Id"]] == ["Deployed"]

    current = cf.get_distribution_config(Id=dist["Id"])
    changed = dict(current["DistributionConfig"], Comment="updated")
    since = time.monotonic()
    answer = cf.update_distribution(Id=dist["Id"], IfMatch=current["ETag"], DistributionConfig=changed)
    assert answer["Distribution"]["Status"] == "InProgress"
    updated = watch(status, lambda s: s == "Deployed", limit=20, since=since)
    assert updated[-1][0] >= 2.5


def test_without_clock_deployed_at_once(aws, set_clock):
    set_clock(None)
    cf = aws("cloudfront")
    dist = cf.create_distribution(DistributionConfig=config())["Distribution"]
    assert cf.get_distribution(Id=dist["Id"])["Distribution"]["Status"] == "Deployed"
