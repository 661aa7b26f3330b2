"""Fix cloudfront.origin_access_controls_as_aws: unique names, ETags and IfMatch, and no deleting a control
an origin uses (moto accepted duplicates, ignored IfMatch and deleted controls in use)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def oac(name, description=""):
    return {"Name": name, "Description": description, "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"}


def test_names_unique_and_writes_guarded(aws):
    cf, name = aws("cloudfront"), f"oac-{uuid.uuid4().hex[:8]}"
    created = cf.create_origin_access_control(OriginAccessControlConfig=oac(name))
    oac_id, etag = created["OriginAccessControl"]["Id"], created["ETag"]
    with pytest.raises(ClientError) as taken:
        cf.create_origin_access_control(OriginAccessControlConfig=oac(name))
    assert code(taken) == "OriginAccessControlAlreadyExists"
    assert [c["Name"] for c in cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]].count(name) == 1

    with pytest.raises(ClientError) as missing:
        cf.update_origin_access_control(Id=oac_id, IfMatch="", OriginAccessControlConfig=oac(name, "x"))
    assert code(missing) == "InvalidIfMatchVersion"
    with pytest.raises(ClientError) as stale:
        cf.update_origin_access_control(Id=oac_id, IfMatch="E0STALE", OriginAccessControlConfig=oac(name, "x"))
    assert code(stale) == "PreconditionFailed"
    updated = cf.update_origin_access_control(Id=oac_id, IfMatch=etag, OriginAccessControlConfig=oac(name, "new"))
    assert updated["ETag"] != etag
    got = cf.get_origin_access_control(Id=oac_id)
    assert got["ETag"] == updated["ETag"] and got["OriginAccessControl"]["OriginAccessControlConfig"]["Description"] == "new"

    with pytest.raises(ClientError) as old:
        cf.delete_origin_access_control(Id=oac_id, IfMatch=etag)
    assert code(old) == "PreconditionFailed"
    cf.delete_origin_access_control(Id=oac_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as gone:
        cf.delete_origin_access_control(Id=oac_id, IfMatch=updated["ETag"])
    assert code(gone) == "NoSuchOriginAccessControl"


def test_a_control_in_use_stays(aws):
    cf, name = aws("cloudfront"), f"oac-{uuid.uuid4().hex[:8]}"
    created = cf.create_origin_access_control(OriginAccessControlConfig=oac(name))
    oac_id = created["OriginAccessControl"]["Id"]
    origin = {"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com", "OriginAccessControlId": oac_id,
              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    config = {"CallerReference": name, "Comment": name, "Enabled": False, "Origins": {"Quantity": 1, "Items": [origin]},
              "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    dist = cf.create_distribution(DistributionConfig=config)
    with pytest.raises(ClientError) as in_use:
        cf.delete_origin_access_control(Id=oac_id, IfMatch=created["ETag"])
    assert code(in_use) == "OriginAccessControlInUse"
    cf.delete_distribution(Id=dist["Distribution"]["Id"], IfMatch=dist["ETag"])
    cf.delete_origin_access_control(Id=oac_id, IfMatch=created["ETag"])
