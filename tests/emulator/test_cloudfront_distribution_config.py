"""Fix cloudfront.distribution_config_kept: GetDistributionConfig reports what CreateDistribution and
UpdateDistribution were sent (moto dropped origin access controls, function associations, Lambda@Edge
associations and S3OriginConfig, and added legacy cache settings AWS omits beside a cache policy)."""
from __future__ import annotations

import copy
import uuid

import pytest

ACCOUNT = "123456789012"
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0a1b2c3d-1111-2222-3333-444455556666"
ALL = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
READ = ["GET", "HEAD"]


def diff(sent, got, path=""):
    """Every difference between what was sent and what came back: (kind, path)."""
    out = []
    if isinstance(sent, dict) and isinstance(got, dict):
        for key in sorted(set(sent) | set(got)):
            if key not in got:
                out.append(("dropped", f"{path}/{key}"))
            elif key not in sent:
                out.append(("added", f"{path}/{key}"))
            else:
                out += diff(sent[key], got[key], f"{path}/{key}")
    elif isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        for i, (a, b) in enumerate(zip(sent, got)):
            out += diff(a, b, f"{path}[{i}]")
    elif sent != got:
        out.append(("changed", path))
    return out


def behavior(origin, policy, methods, functions=(), edge=None, pattern=None, origin_request_policy=None):
    out = {
        "TargetOriginId": origin, "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {"Quantity": len(methods), "Items": methods,
                           "CachedMethods": {"Quantity": 2, "Items": READ}},
        "Compress": True, "SmoothStreaming": False, "FieldLevelEncryptionId": "", "CachePolicyId": policy,
        "LambdaFunctionAssociations": ({"Quantity": 1, "Items": [{"LambdaFunctionARN": edge, "EventType": "origin-request",
                                                                  "IncludeBody": True}]} if edge else {"Quantity": 0}),
        "FunctionAssociations": ({"Quantity": len(functions), "Items": [{"FunctionARN": f, "EventType": "viewer-request"}
                                                                        for f in functions]} if functions else {"Quantity": 0}),
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
    }
    if pattern:
        out["PathPattern"] = pattern
    if origin_request_policy:
        out["OriginRequestPolicyId"] = origin_request_policy
    return out


@pytest.fixture
def site(aws):
    """A cache policy, two origin access controls and a published CloudFront Function, as the cdn role has."""
    cf, run = aws("cloudfront"), uuid.uuid4().hex[:8]
    policy = cf.create_cache_policy(CachePolicyConfig={
        "Name": f"server-{run}", "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["x-open-next-cache-key"]}},
            "CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "all"}}})
    oacs = {kind: cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": f"{kind}-{run}", "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": kind})["OriginAccessControl"]["Id"] for kind in ("s3", "lambda")}
    fn = cf.create_function(Name=f"viewer-{run}", FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"},
                            FunctionCode=b"function handler(e) { return e.request; }")
    arn = cf.publish_function(Name=f"viewer-{run}", IfMatch=fn["ETag"])["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    return {"cf": cf, "run": run, "policy": policy["CachePolicy"]["Id"], "oacs": oacs, "function": arn}


def site_config(site, **changes):
    s3 = {"Id": "s3", "DomainName": f"site-{site['run']}.s3.us-east-1.amazonaws.com", "OriginPath": "/_assets",
          "CustomHeaders": {"Quantity": 0}, "ConnectionAttempts": 3, "ConnectionTimeout": 10,
          "OriginShield": {"Enabled": False}, "OriginAccessControlId": site["oacs"]["s3"],
          "S3OriginConfig": {"OriginAccessIdentity": ""}}
    server = {"Id": "server", "DomainName": "abcdefghij.lambda-url.us-east-1.on.aws", "OriginPath": "",
              "CustomHeaders": {"Quantity": 0}, "ConnectionAttempts": 3, "ConnectionTimeout": 10,
              "OriginShield": {"Enabled": False}, "OriginAccessControlId": site["oacs"]["lambda"],
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                     "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                     "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}}
    edge = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sign-body-{site['run']}:3"
    config = {
        "CallerReference": f"site-{site['run']}", "Comment": f"site-{site['run']}",
        "Aliases": {"Quantity": 1, "Items": [f"shop-{site['run']}.example.com"]},
        "DefaultRootObject": "",
        "Origins": {"Quantity": 2, "Items": [s3, server]},
        "OriginGroups": {"Quantity": 0},
        "DefaultCacheBehavior": behavior("server", site["policy"], ALL, [site["function"]], edge,
                                         origin_request_policy="b689b0a8-53d0-40ab-baf2-68738e2966ac"),
        "CacheBehaviors": {"Quantity": 1, "Items": [
            behavior("s3", "658327ea-f89d-4fab-a63d-7e88639e58f6", READ, [site["function"]], pattern="_next/static/*")]},
        "CustomErrorResponses": {"Quantity": 0},
        "Logging": {"Enabled": True, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com", "Prefix": "cdn/"},
        "PriceClass": "PriceClass_100", "Enabled": True,
        "ViewerCertificate": {"ACMCertificateArn": CERT, "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": "TLSv1.2_2021"},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/site/0a1b2c3d",
        "HttpVersion": "http2and3", "IsIPV6Enabled": True,
    }
    config.update(changes)
    return config


# What CloudFront adds to a viewer certificate from ACM (its deprecated mirror fields).
CERTIFICATE_ADDED = {("added", "/ViewerCertificate/Certificate"), ("added", "/ViewerCertificate/CertificateSource"),
                     ("added", "/ViewerCertificate/CloudFrontDefaultCertificate")}


def test_config_is_reported_as_sent(site):
    cf, sent = site["cf"], site_config(site)
    created = cf.create_distribution(DistributionConfig=copy.deepcopy(sent))["Distribution"]
    got = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    assert set(diff(sent, got)) == CERTIFICATE_ADDED
    assert got["ViewerCertificate"]["CloudFrontDefaultCertificate"] is False
    assert got["ViewerCertificate"]["CertificateSource"] == "acm" and got["ViewerCertificate"]["Certificate"] == CERT
    # The same from GetDistribution and the listing.
    assert set(diff(sent, cf.get_distribution(Id=created["Id"])["Distribution"]["DistributionConfig"])) == CERTIFICATE_ADDED
    [listed] = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Id"] == created["Id"]]
    assert listed["Origins"] == got["Origins"] and listed["DefaultCacheBehavior"] == got["DefaultCacheBehavior"]


def test_update_is_reported_as_sent(site):
    cf = site["cf"]
    created = cf.create_distribution(DistributionConfig=site_config(site))
    sent = site_config(site, PriceClass="PriceClass_All",
                       ViewerCertificate={"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1"},
                       Aliases={"Quantity": 0})
    sent["DefaultCacheBehavior"]["LambdaFunctionAssociations"] = {"Quantity": 0}
    sent["Origins"]["Items"][1]["OriginAccessControlId"] = ""
    cf.update_distribution(Id=created["Distribution"]["Id"], IfMatch=created["ETag"], DistributionConfig=copy.deepcopy(sent))
    got = cf.get_distribution_config(Id=created["Distribution"]["Id"])["DistributionConfig"]
    assert [d for d in diff(sent, got) if d != ("added", "/ViewerCertificate/CertificateSource")
            and d[1] != "/ViewerCertificate/SSLSupportMethod"] == []
    assert "ACMCertificateArn" not in got["ViewerCertificate"]


def test_legacy_cache_settings_kept_without_a_policy(aws):
    cf, run = aws("cloudfront"), uuid.uuid4().hex[:8]
    legacy = {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all", "MinTTL": 5, "DefaultTTL": 60, "MaxTTL": 600,
              "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}}}
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": run, "Comment": run, "Enabled": True, "DefaultCacheBehavior": legacy,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]}})["Distribution"]
    got = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["DefaultCacheBehavior"]
    assert (got["MinTTL"], got["DefaultTTL"], got["MaxTTL"]) == (5, 60, 600)
    assert got["ForwardedValues"]["QueryString"] is True
    assert got["FunctionAssociations"] == {"Quantity": 0} and got["LambdaFunctionAssociations"] == {"Quantity": 0}
