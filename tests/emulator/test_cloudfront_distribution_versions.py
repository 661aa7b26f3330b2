"""Fix cloudfront.distribution_versions: a distribution's ETag changes with each update, IfMatch is checked,
and only a disabled distribution can be deleted (moto kept one ETag for life and accepted any)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def config(ref, **changes):
    out = {"CallerReference": ref, "Comment": ref, "Enabled": True, "PriceClass": "PriceClass_100",
           "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
           "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                 "S3OriginConfig": {"OriginAccessIdentity": ""}}]}}
    out.update(changes)
    return out


def test_etag_follows_updates_and_guards_writes(aws):
    cf, ref = aws("cloudfront"), f"dist-{uuid.uuid4().hex[:8]}"
    created = cf.create_distribution(DistributionConfig=config(ref))
    dist_id, first = created["Distribution"]["Id"], created["ETag"]
    assert cf.get_distribution_config(Id=dist_id)["ETag"] == first == cf.get_distribution(Id=dist_id)["ETag"]

    second = cf.update_distribution(Id=dist_id, IfMatch=first, DistributionConfig=config(ref, PriceClass="PriceClass_All"))["ETag"]
    assert second != first
    assert cf.get_distribution_config(Id=dist_id)["ETag"] == second == cf.get_distribution(Id=dist_id)["ETag"]

    with pytest.raises(ClientError) as stale:
        cf.update_distribution(Id=dist_id, IfMatch=first, DistributionConfig=config(ref, PriceClass="PriceClass_200"))
    assert code(stale) == "PreconditionFailed" and stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["PriceClass"] == "PriceClass_All"

    with pytest.raises(ClientError) as enabled:
        cf.delete_distribution(Id=dist_id, IfMatch=second)
    assert code(enabled) == "DistributionNotDisabled"

    third = cf.update_distribution(Id=dist_id, IfMatch=second, DistributionConfig=config(ref, Enabled=False))["ETag"]
    with pytest.raises(ClientError) as old:
        cf.delete_distribution(Id=dist_id, IfMatch=second)
    assert code(old) == "PreconditionFailed"
    cf.delete_distribution(Id=dist_id, IfMatch=third)
    with pytest.raises(ClientError) as gone:
        cf.get_distribution(Id=dist_id)
    assert code(gone) == "NoSuchDistribution"
