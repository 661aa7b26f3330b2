"""Fix cloudfront.function_stages: CloudFront Functions with DEVELOPMENT and LIVE stages, UpdateFunction
and PublishFunction, as AWS keeps them (moto had one stage and neither operation)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

V1 = b"function handler(event) { return event.request; }"
V2 = b"function handler(event) { var r = event.request; r.headers['x-v'] = {value: '2'}; return r; }"
CONFIG = {"Comment": "test", "Runtime": "cloudfront-js-2.0"}


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cf(aws):
    return aws("cloudfront")


def stage_of(cf, name, stage):
    described = cf.describe_function(Name=name, Stage=stage)
    return described["FunctionSummary"], described["ETag"], cf.get_function(Name=name, Stage=stage)["FunctionCode"].read()


def test_update_and_publish_move_code_between_stages(cf):
    name = f"fn-{uuid.uuid4().hex[:8]}"
    created = cf.create_function(Name=name, FunctionConfig=CONFIG, FunctionCode=V1)
    assert created["FunctionSummary"]["FunctionMetadata"]["Stage"] == "DEVELOPMENT"
    assert created["FunctionSummary"]["Status"] == "UNPUBLISHED"
    with pytest.raises(ClientError) as unpublished:
        cf.describe_function(Name=name, Stage="LIVE")
    assert code(unpublished) == "NoSuchFunctionExists"
    assert name not in [f["Name"] for f in cf.list_functions(Stage="LIVE")["FunctionList"].get("Items", [])]

    with pytest.raises(ClientError) as stale:
        cf.publish_function(Name=name, IfMatch="E0STALE")
    assert code(stale) == "PreconditionFailed"
    published = cf.publish_function(Name=name, IfMatch=created["ETag"])["FunctionSummary"]
    assert published["FunctionMetadata"]["Stage"] == "LIVE" and published["Status"] == "UNASSOCIATED"
    live, live_etag, live_code = stage_of(cf, name, "LIVE")
    assert live_code == V1 and live["FunctionMetadata"]["Stage"] == "LIVE"
    assert name in [f["Name"] for f in cf.list_functions(Stage="LIVE")["FunctionList"]["Items"]]

    dev_etag = cf.describe_function(Name=name)["ETag"]  # DEVELOPMENT by default
    with pytest.raises(ClientError) as old:
        cf.update_function(Name=name, IfMatch="E0STALE", FunctionConfig=CONFIG, FunctionCode=V2)
    assert code(old) == "PreconditionFailed"
    updated = cf.update_function(Name=name, IfMatch=dev_etag, FunctionConfig=dict(CONFIG, Comment="v2"), FunctionCode=V2)
    assert updated["ETag"] != dev_etag and updated["FunctionSummary"]["Status"] == "UNPUBLISHED"
    dev, ignored, dev_code = stage_of(cf, name, "DEVELOPMENT")
    assert dev_code == V2 and dev["FunctionConfig"]["Comment"] == "v2"
    # LIVE keeps the published code and config until the next publish.
    live, again_etag, live_code = stage_of(cf, name, "LIVE")
    assert live_code == V1 and live["FunctionConfig"]["Comment"] == "test" and again_etag == live_etag

    cf.publish_function(Name=name, IfMatch=updated["ETag"])
    live, new_live_etag, live_code = stage_of(cf, name, "LIVE")
    assert live_code == V2 and live["FunctionConfig"]["Comment"] == "v2" and new_live_etag != live_etag

    with pytest.raises(ClientError) as no_etag:
        cf.delete_function(Name=name, IfMatch="E0STALE")
    assert code(no_etag) == "PreconditionFailed"
    cf.delete_function(Name=name, IfMatch=cf.describe_function(Name=name)["ETag"])
    with pytest.raises(ClientError) as gone:
        cf.describe_function(Name=name)
    assert code(gone) == "NoSuchFunctionExists"


def test_a_function_a_distribution_runs_is_deployed_and_stays(cf):
    name = f"fn-{uuid.uuid4().hex[:8]}"
    etag = cf.create_function(Name=name, FunctionConfig=CONFIG, FunctionCode=V1)["ETag"]
    arn = cf.publish_function(Name=name, IfMatch=etag)["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    behavior = {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                "FunctionAssociations": {"Quantity": 1, "Items": [{"FunctionARN": arn, "EventType": "viewer-request"}]}}
    config = {"CallerReference": name, "Comment": name, "Enabled": True, "DefaultCacheBehavior": behavior,
              "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                    "S3OriginConfig": {"OriginAccessIdentity": ""}}]}}
    dist = cf.create_distribution(DistributionConfig=config)
    assert cf.describe_function(Name=name, Stage="LIVE")["FunctionSummary"]["Status"] == "DEPLOYED"
    with pytest.raises(ClientError) as in_use:
        cf.delete_function(Name=name, IfMatch=cf.describe_function(Name=name)["ETag"])
    assert code(in_use) == "FunctionInUse"

    dist_id = dist["Distribution"]["Id"]
    behavior.pop("FunctionAssociations")
    disabled = cf.update_distribution(Id=dist_id, IfMatch=dist["ETag"], DistributionConfig=dict(config, Enabled=False))
    cf.delete_distribution(Id=dist_id, IfMatch=disabled["ETag"])
    cf.delete_function(Name=name, IfMatch=cf.describe_function(Name=name)["ETag"])
