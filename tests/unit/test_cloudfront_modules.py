"""The CloudFront modules run for real against the emulator (cache policy, function, origin access control),
and the shared IfMatch / resend helpers of module_utils/cloudfront.py."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import create_or_find
from ansible_collections.stream_sales.platform.plugins.module_utils.cloudfront import write_current

from modules_helper import calls_of, faults, run_module

RUN = uuid.uuid4().hex[:8]
V1 = "function handler(event) { return event.request; }"
V2 = "function handler(event) { var r = event.request; r.headers['x-v'] = {value: '2'}; return r; }"


def test_cache_policy_lifecycle(endpoint, aws):
    cf, name = aws("cloudfront"), f"unit-policy-{RUN}"
    args = {"name": name, "headers": ["x-open-next-cache-key"], "max_ttl": 3600}
    planned = run_module(endpoint, "cloudfront_cache_policy", args, check=True)
    assert planned["changed"] and planned["id"] == ""
    created = run_module(endpoint, "cloudfront_cache_policy", args)
    config = cf.get_cache_policy_config(Id=created["id"])["CachePolicyConfig"]
    assert created["changed"] and config["Name"] == name and config["MaxTTL"] == 3600
    assert config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]["Items"] == ["x-open-next-cache-key"]
    again = run_module(endpoint, "cloudfront_cache_policy", args)
    assert not again["changed"] and again["id"] == created["id"]
    changed = run_module(endpoint, "cloudfront_cache_policy", dict(args, max_ttl=7200), diff=True)
    assert changed["changed"] and changed["diff"]["before"]["MaxTTL"] == 3600 and changed["diff"]["after"]["MaxTTL"] == 7200
    assert cf.get_cache_policy_config(Id=created["id"])["CachePolicyConfig"]["MaxTTL"] == 7200
    assert run_module(endpoint, "cloudfront_cache_policy", {"name": name, "state": "absent"})["changed"]
    with pytest.raises(ClientError):
        cf.get_cache_policy(Id=created["id"])


def test_function_is_published_and_republished(endpoint, aws):
    cf, name = aws("cloudfront"), f"unit-fn-{RUN}"
    created = run_module(endpoint, "cloudfront_function", {"name": name, "code": V1})
    assert created["changed"] and created["arn"].endswith(f":function/{name}")
    assert cf.get_function(Name=name, Stage="LIVE")["FunctionCode"].read() == V1.encode()
    assert not run_module(endpoint, "cloudfront_function", {"name": name, "code": V1})["changed"]
    updated = run_module(endpoint, "cloudfront_function", {"name": name, "code": V2, "comment": "v2"})
    assert updated["changed"] and updated["arn"] == created["arn"]
    live = cf.describe_function(Name=name, Stage="LIVE")["FunctionSummary"]
    assert cf.get_function(Name=name, Stage="LIVE")["FunctionCode"].read() == V2.encode()
    assert live["FunctionConfig"]["Comment"] == "v2"
    # An update left unpublished (DEVELOPMENT ahead of LIVE) is published by the next run.
    etag = cf.describe_function(Name=name)["ETag"]
    cf.update_function(Name=name, IfMatch=etag, FunctionConfig={"Comment": "v2", "Runtime": "cloudfront-js-2.0"},
                       FunctionCode=V1.encode())
    assert not run_module(endpoint, "cloudfront_function", {"name": name, "code": V2, "comment": "v2"})["changed"]
    assert run_module(endpoint, "cloudfront_function", {"name": name, "code": V1, "comment": "v2"})["changed"]
    assert cf.get_function(Name=name, Stage="LIVE")["FunctionCode"].read() == V1.encode()
    assert run_module(endpoint, "cloudfront_function", {"name": name, "state": "absent"})["changed"]
    assert name not in [f["Name"] for f in cf.list_functions()["FunctionList"].get("Items", [])]


def test_origin_access_controls_found_in_one_list(endpoint, aws):
    cf, name = aws("cloudfront"), f"unit-oac-{RUN}"
    controls = [{"name": f"{name}-s3", "origin_type": "s3"}, {"name": f"{name}-lambda", "origin_type": "lambda"}]

    def call(specs, **kw):
        return run_module(endpoint, "cloudfront_origin_access_controls", {"controls": specs}, diff=True, **kw)

    assert call(controls, check=True)["changed"]
    created = call(controls)
    assert created["changed"] and set(created["ids"]) == {f"{name}-s3", f"{name}-lambda"}
    faults(endpoint)
    again = call(controls)
    assert not again["changed"] and again["ids"] == created["ids"]
    assert calls_of(endpoint, "cloudfront") == {"cloudfront.ListOriginAccessControls": 1}
    changed = call([controls[0], dict(controls[1], description="x")])
    assert changed["changed"] and changed["ids"] == created["ids"]
    got = cf.get_origin_access_control(Id=created["ids"][f"{name}-lambda"])["OriginAccessControl"]["OriginAccessControlConfig"]
    assert got["Description"] == "x" and got["OriginAccessControlOriginType"] == "lambda"
    gone = call([controls[0], dict(controls[1], state="absent")])
    assert gone["changed"] and list(gone["ids"]) == [f"{name}-s3"]
    assert f"{name}-lambda" not in [c["Name"] for c in cf.list_origin_access_controls()["OriginAccessControlList"].get("Items") or []]
    assert call([dict(c, state="absent") for c in controls])["changed"]
    assert not call([dict(c, state="absent") for c in controls])["changed"]


def error(code):
    return ClientError({"Error": {"Code": code, "Message": code}}, "Op")


def test_write_with_a_moved_etag_reads_it_again_once():
    etags, writes = iter(["E2"]), []

    def write(etag):
        writes.append(etag)
        if etag == "E1":
            raise error("PreconditionFailed")
        return etag

    assert write_current(lambda: next(etags), write, etag="E1") == "E2" and writes == ["E1", "E2"]
    with pytest.raises(ClientError):
        write_current(lambda: "E1", write)  # still stale after the second read: the error stands


def test_create_answered_already_exists_goes_on_with_the_found_one():
    def create():
        raise error("FunctionAlreadyExists")

    assert create_or_find(create, "FunctionAlreadyExists", lambda: {"arn": "a"}) == ({"arn": "a"}, True)
    assert create_or_find(lambda: {"arn": "b"}, "FunctionAlreadyExists", lambda: None) == ({"arn": "b"}, False)
    with pytest.raises(ClientError):
        create_or_find(create, "FunctionAlreadyExists", lambda: None)
    with pytest.raises(ClientError):
        create_or_find(lambda: (ignored for ignored in ()).throw(error("Other")), "FunctionAlreadyExists", lambda: {"arn": "a"})


def test_distribution_absent_disables_then_deletes(endpoint, aws):
    cf, name = aws("cloudfront"), f"unit-dist-{RUN}"
    origins = [{"id": "s3", "domain_name": "b.s3.us-east-1.amazonaws.com", "type": "s3"}]
    behavior = {"origin": "s3", "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6", "methods": "read"}
    args = {"name": name, "origins": origins, "default_behavior": behavior, "invalidation_reference": "build-1"}
    created = run_module(endpoint, "cloudfront_site_distribution", args)
    dist_id = created["distribution"]["id"]
    assert created["changed"] and not created["invalidated"]
    assert not run_module(endpoint, "cloudfront_site_distribution", args)["changed"]
    moved = run_module(endpoint, "cloudfront_site_distribution", dict(args, price_class="PriceClass_All",
                                                                      invalidation_reference="build-2"))
    assert moved["changed"] and moved["invalidated"]
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["PriceClass"] == "PriceClass_All"
    assert cf.list_invalidations(DistributionId=dist_id)["InvalidationList"]["Quantity"] == 1
    gone = run_module(endpoint, "cloudfront_site_distribution", {"name": name, "state": "absent"})
    assert gone["changed"] and name not in [d["Comment"] for d in cf.list_distributions()["DistributionList"].get("Items") or []]
    assert not run_module(endpoint, "cloudfront_site_distribution", {"name": name, "state": "absent"})["changed"]
