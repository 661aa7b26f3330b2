"""Fix cloudfront.cache_policies: CloudFront cache policies as AWS keeps them (moto has none)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def config(name, headers=(), ttl=(0, 0, 31536000)):
    headers = list(headers)
    return {
        "Name": name, "Comment": "test", "MinTTL": ttl[0], "DefaultTTL": ttl[1], "MaxTTL": ttl[2],
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": ({"HeaderBehavior": "whitelist", "Headers": {"Quantity": len(headers), "Items": headers}}
                              if headers else {"HeaderBehavior": "none"}),
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "all"},
        },
    }


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cf(aws):
    return aws("cloudfront")


def test_create_get_update_delete_with_etags(cf):
    name = f"policy-{uuid.uuid4().hex[:8]}"
    created = cf.create_cache_policy(CachePolicyConfig=config(name, ["x-open-next-cache-key"]))
    policy_id, etag = created["CachePolicy"]["Id"], created["ETag"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["CachePolicy"]["CachePolicyConfig"] == config(name, ["x-open-next-cache-key"])

    got = cf.get_cache_policy(Id=policy_id)
    assert got["ETag"] == etag and got["CachePolicy"]["CachePolicyConfig"]["Name"] == name
    got_config = cf.get_cache_policy_config(Id=policy_id)
    assert got_config["ETag"] == etag and got_config["CachePolicyConfig"] == config(name, ["x-open-next-cache-key"])

    with pytest.raises(ClientError) as missing:
        cf.update_cache_policy(Id=policy_id, IfMatch="", CachePolicyConfig=config(name))
    assert code(missing) == "InvalidIfMatchVersion"
    with pytest.raises(ClientError) as stale:
        cf.update_cache_policy(Id=policy_id, IfMatch="E0STALE", CachePolicyConfig=config(name))
    assert code(stale) == "PreconditionFailed" and stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412

    updated = cf.update_cache_policy(Id=policy_id, IfMatch=etag, CachePolicyConfig=config(name, ttl=(0, 60, 3600)))
    assert updated["ETag"] != etag
    assert cf.get_cache_policy_config(Id=policy_id)["CachePolicyConfig"]["DefaultTTL"] == 60
    with pytest.raises(ClientError) as old:
        cf.delete_cache_policy(Id=policy_id, IfMatch=etag)
    assert code(old) == "PreconditionFailed"

    cf.delete_cache_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as gone:
        cf.get_cache_policy(Id=policy_id)
    assert code(gone) == "NoSuchCachePolicy"


def test_names_are_unique_and_ttls_ordered(cf):
    name = f"policy-{uuid.uuid4().hex[:8]}"
    first = cf.create_cache_policy(CachePolicyConfig=config(name))["CachePolicy"]["Id"]
    with pytest.raises(ClientError) as taken:
        cf.create_cache_policy(CachePolicyConfig=config(name))
    assert code(taken) == "CachePolicyAlreadyExists"
    with pytest.raises(ClientError) as managed_name:
        cf.create_cache_policy(CachePolicyConfig=config("Managed-CachingOptimized"))
    assert code(managed_name) == "CachePolicyAlreadyExists"
    with pytest.raises(ClientError) as order:
        cf.create_cache_policy(CachePolicyConfig=config(name + "-b", ttl=(10, 5, 100)))
    assert code(order) == "InvalidArgument"
    bad = config(name + "-c", ["a", "b"])
    bad["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]["Quantity"] = 1
    with pytest.raises(ClientError) as counts:
        cf.create_cache_policy(CachePolicyConfig=bad)
    assert code(counts) == "InconsistentQuantities"
    cf.delete_cache_policy(Id=first, IfMatch=cf.get_cache_policy(Id=first)["ETag"])


def test_managed_policies_listed_and_read_only(cf):
    managed = cf.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]
    by_name = {i["CachePolicy"]["CachePolicyConfig"]["Name"]: i for i in managed}
    assert {"Managed-CachingOptimized", "Managed-CachingDisabled", "Managed-Amplify",
            "Managed-CachingOptimizedForUncompressedObjects", "Managed-Elemental-MediaPackage",
            "Managed-UseOriginCacheControlHeaders", "Managed-UseOriginCacheControlHeaders-QueryStrings"} == set(by_name)
    optimized = by_name["Managed-CachingOptimized"]
    assert optimized["Type"] == "managed" and optimized["CachePolicy"]["Id"] == CACHING_OPTIMIZED
    assert (optimized["CachePolicy"]["CachePolicyConfig"]["MinTTL"],
            optimized["CachePolicy"]["CachePolicyConfig"]["DefaultTTL"]) == (1, 86400)

    name = f"policy-{uuid.uuid4().hex[:8]}"
    custom_id = cf.create_cache_policy(CachePolicyConfig=config(name))["CachePolicy"]["Id"]
    custom = cf.list_cache_policies(Type="custom")["CachePolicyList"]["Items"]
    assert custom_id in [i["CachePolicy"]["Id"] for i in custom] and {i["Type"] for i in custom} == {"custom"}
    both = [i["CachePolicy"]["Id"] for i in cf.list_cache_policies()["CachePolicyList"]["Items"]]
    assert CACHING_OPTIMIZED in both and custom_id in both

    etag = cf.get_cache_policy(Id=CACHING_OPTIMIZED)["ETag"]
    with pytest.raises(ClientError) as update:
        cf.update_cache_policy(Id=CACHING_OPTIMIZED, IfMatch=etag, CachePolicyConfig=config("Managed-CachingOptimized"))
    assert code(update) == "IllegalUpdate"
    with pytest.raises(ClientError) as delete:
        cf.delete_cache_policy(Id=CACHING_OPTIMIZED, IfMatch=etag)
    assert code(delete) == "IllegalDelete"
    cf.delete_cache_policy(Id=custom_id, IfMatch=cf.get_cache_policy(Id=custom_id)["ETag"])


def test_list_pages(cf):
    pages, marker = [], None
    while True:
        page = cf.list_cache_policies(Type="managed", MaxItems="3", **({"Marker": marker} if marker else {}))["CachePolicyList"]
        pages.append([i["CachePolicy"]["Id"] for i in page.get("Items", [])])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [len(p) for p in pages] == [3, 3, 1] and len({i for p in pages for i in p}) == 7


def distribution(policy_id, ref):
    behavior = {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": policy_id}
    return {"CallerReference": ref, "Comment": ref, "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": behavior}


def test_distributions_name_existing_policies_which_stay_while_used(cf):
    ref = f"dist-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as unknown:
        cf.create_distribution(DistributionConfig=distribution("00000000-0000-0000-0000-000000000000", ref))
    assert code(unknown) == "NoSuchCachePolicy"

    policy_id = cf.create_cache_policy(CachePolicyConfig=config(ref))["CachePolicy"]["Id"]
    dist = cf.create_distribution(DistributionConfig=distribution(policy_id, ref))
    with pytest.raises(ClientError) as in_use:
        cf.delete_cache_policy(Id=policy_id, IfMatch=cf.get_cache_policy(Id=policy_id)["ETag"])
    assert code(in_use) == "CachePolicyInUse"

    dist_id = dist["Distribution"]["Id"]
    cf.update_distribution(Id=dist_id, IfMatch=dist["ETag"],
                           DistributionConfig=dict(distribution(CACHING_OPTIMIZED, ref), Enabled=False))
    cf.delete_distribution(Id=dist_id, IfMatch=cf.get_distribution_config(Id=dist_id)["ETag"])
    cf.delete_cache_policy(Id=policy_id, IfMatch=cf.get_cache_policy(Id=policy_id)["ETag"])
