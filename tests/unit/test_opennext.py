"""OpenNext v3 build parsing: functions and behaviors from open-next.output.json variants."""
from __future__ import annotations

import importlib.util
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils import opennext
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import OpenNextError, parse_build

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_open_next", ROOT / "example-app" / "build-open-next.py")
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)


@pytest.fixture
def build(tmp_path):
    out = tmp_path / ".open-next"
    example.build(out, "b1")
    return out


def edit(build_dir: Path, change) -> None:
    path = build_dir / "open-next.output.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_example_build(build):
    b = parse_build(str(build), "stream-sales-dev")
    fns = b["functions"]
    assert set(fns) == {"default", "imageOptimizer", "revalidationFunction", "warmer", "initializationFunction"}
    assert fns["default"]["name"] == "stream-sales-dev-server" and fns["default"]["role"] == "server"
    assert fns["imageOptimizer"]["architecture"] == "arm64"
    assert fns["initializationFunction"]["role"] == "tag_cache_init"
    assert b["tag_cache_file"].endswith("dynamodb-cache.json")
    assert b["default_behavior"] == {"pattern": "*", "origin": "default"}
    # OpenNext's order, "*" lifted out as the default behavior, /images/* last.
    assert [x["pattern"] for x in b["behaviors"]] == [
        "_next/image*", "_next/data/*", "api/*", "BUILD_ID", "_next/*", "favicon.ico", "robots.txt", "images/*"]
    assert b["behaviors"][-1]["origin"] == "images"
    assert [c["prefix"] for c in b["s3"]["copy"]] == ["_assets", "_cache"]


def test_split_functions_and_streaming(build):
    split = build / "server-functions" / "api"
    shutil.copytree(build / "server-functions" / "default", split)

    def change(d):
        d["origins"]["api"] = dict(d["origins"]["default"], bundle=".open-next/server-functions/api", streaming=True)
        d["behaviors"].insert(2, {"pattern": "api/*", "origin": "api"})
    edit(build, change)
    b = parse_build(str(build), "p")
    assert b["functions"]["api"]["name"] == "p-server-api"
    assert b["functions"]["api"]["streaming"] is True and b["functions"]["default"]["streaming"] is False
    assert b["functions"]["api"]["role"] == "server"
    assert [x["origin"] for x in b["behaviors"][:3]] == ["imageOptimizer", "default", "api"]
    # Same bytes, same hash: identity is content, not location.
    assert b["functions"]["api"]["hash"] == b["functions"]["default"]["hash"]


def test_no_image_optimizer(build):
    shutil.rmtree(build / "image-optimization-function")

    def change(d):
        del d["origins"]["imageOptimizer"]
        d["behaviors"] = [x for x in d["behaviors"] if x["origin"] != "imageOptimizer"]
    edit(build, change)
    b = parse_build(str(build), "p")
    assert "imageOptimizer" not in b["functions"]
    assert all(x["origin"] != "imageOptimizer" for x in b["behaviors"])


def test_no_tag_cache(build):
    edit(build, lambda d: d["additionalProps"].pop("initializationFunction"))
    b = parse_build(str(build), "p")
    assert "initializationFunction" not in b["functions"] and b["tag_cache_file"] is None


def test_extra_public_files_keep_order(build):
    names = [f"file{i}.txt" for i in range(5)]
    for n in names:
        (build / "assets" / n).write_text(n)
    edit(build, lambda d: d["behaviors"].extend({"pattern": n, "origin": "s3"} for n in names))
    b = parse_build(str(build), "p")
    assert [x["pattern"] for x in b["behaviors"]][-6:] == names + ["images/*"]


def test_more_than_25_behaviors_refused(build):
    edit(build, lambda d: d["behaviors"].extend({"pattern": f"f{i}.txt", "origin": "s3"} for i in range(18)))
    with pytest.raises(OpenNextError, match=r"26 cache behaviors .*CloudFront allows 25"):
        parse_build(str(build), "p")


def test_exactly_25_accepted(build):
    edit(build, lambda d: d["behaviors"].extend({"pattern": f"f{i}.txt", "origin": "s3"} for i in range(17)))
    assert len(parse_build(str(build), "p")["behaviors"]) == 25


def test_missing_output_json(build):
    (build / "open-next.output.json").unlink()
    with pytest.raises(OpenNextError, match="open-next.output.json is missing"):
        parse_build(str(build), "p")


def test_missing_build_dir(tmp_path):
    with pytest.raises(OpenNextError, match="is not a folder"):
        parse_build(str(tmp_path / "nope"), "p")


def test_malformed_output_json(build):
    (build / "open-next.output.json").write_text("{not json")
    with pytest.raises(OpenNextError, match="is not valid JSON"):
        parse_build(str(build), "p")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("behaviors"), "'behaviors' must be a JSON array"),
    (lambda d: d["behaviors"].append({"pattern": "x", "origin": "nowhere"}), "origin 'nowhere' is not one of origins"),
    (lambda d: d.__setitem__("behaviors", [x for x in d["behaviors"] if x["pattern"] != "*"]), "no behavior with pattern '\\*'"),
    (lambda d: d["origins"]["default"].__setitem__("bundle", ".open-next/missing"), "origins.default: bundle folder"),
    (lambda d: d["origins"]["default"].__setitem__("type", "edge"), "edge functions are not supported"),
    (lambda d: d["origins"].pop("s3"), "no origin of type 's3'"),
])
def test_malformed_fields_named(build, change, message):
    edit(build, change)
    with pytest.raises(OpenNextError, match=message):
        parse_build(str(build), "p")


def test_image_optimizer_without_sharp_refused(build):
    shutil.rmtree(build / "image-optimization-function" / "node_modules")
    with pytest.raises(OpenNextError, match="origins.imageOptimizer: .* has no node_modules/sharp"):
        parse_build(str(build), "p")


def test_hash_and_zip_deterministic(build, tmp_path):
    bundle = build / "server-functions" / "default"
    h1 = opennext.content_hash(str(bundle))
    z1 = opennext.deterministic_zip(str(bundle), str(tmp_path / "a.zip"))
    z2 = opennext.deterministic_zip(str(bundle), str(tmp_path / "b.zip"))
    assert Path(z1).read_bytes() == Path(z2).read_bytes()
    assert zipfile.ZipFile(z1).namelist() == ["index.mjs", "package.json"]
    (bundle / "index.mjs").write_text((bundle / "index.mjs").read_text() + "\n// changed\n")
    assert opennext.content_hash(str(bundle)) != h1


def test_routing_hash_tracks_behaviors(build):
    before = parse_build(str(build), "p")["routing_hash"]
    edit(build, lambda d: d["behaviors"].insert(0, {"pattern": "new/*", "origin": "default"}))
    assert parse_build(str(build), "p")["routing_hash"] != before


CTX = {
    "region": "us-east-1", "account": "123456789012", "site_bucket": "site", "images_bucket": "images",
    "queue_arn": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "queue_url": "https://sqs/q.fifo",
    "table_name": "t", "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    "secret_arns": {"database": "arn:db", "jwt": "arn:jwt", "encryption": "arn:enc"},
    "database_secret_name": "stream-sales/dev/database/credentials", "lambda_arn_prefix": "arn:aws:lambda:us-east-1:123456789012:function:",
    "alias": "live", "warmer_concurrency": 2, "warm_targets": ["p-server", "p-server-api"],
    "vpc_subnet_ids": ["subnet-1", "subnet-2"], "vpc_security_group_ids": ["sg-1"],
    "enable_api_logging": False, "enable_query_logging": True,
}


def test_policies_name_only_what_each_function_uses(build):
    fns = parse_build(str(build), "p")["functions"]
    for fn in fns.values():
        doc = opennext.function_policy(fn, CTX)
        for st in doc["Statement"]:
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if "*" in resources:
                assert fn["role"] == "server" and set(st["Action"]) <= set(opennext.NO_RESOURCE_LEVEL_ACTIONS)
    server = opennext.function_policy(fns["default"], CTX)["Statement"]
    secrets = next(s for s in server if s["Sid"] == "AppSecrets")
    assert secrets["Resource"] == ["arn:db", "arn:enc", "arn:jwt"]
    eni = next(s for s in server if s["Sid"] == "CreateEniInOurSubnets")["Resource"]
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1" in eni
    image = opennext.function_policy(fns["imageOptimizer"], CTX)["Statement"]
    assert [s["Resource"] for s in image if s["Sid"] == "Assets"] == [["arn:aws:s3:::site/_assets/*"]]
    warmer = opennext.function_policy(fns["warmer"], CTX)["Statement"][-1]
    assert warmer["Resource"][0] == "arn:aws:lambda:us-east-1:123456789012:function:p-server"


def test_environment_names_and_arns_only(build):
    fns = parse_build(str(build), "p")["functions"]
    env = opennext.function_environment(fns["default"], CTX)
    assert env["DATABASE_SECRET_ARN"] == "arn:db" and env["JWT_SECRET_ARN"] == "arn:jwt" and env["ENCRYPTION_SECRET_ARN"] == "arn:enc"
    assert env["ENABLE_API_LOGGING"] == "false" and env["ENABLE_QUERY_LOGGING"] == "true"
    assert "AWS_REGION" not in env and "OPEN_NEXT_BUILD_ID" not in env
    assert opennext.function_environment(fns["imageOptimizer"], CTX) == {"BUCKET_NAME": "site", "BUCKET_KEY_PREFIX": "_assets"}
    warm = json.loads(opennext.function_environment(fns["warmer"], CTX)["WARM_PARAMS"])
    assert warm == [{"function": "p-server:live", "concurrency": 2}, {"function": "p-server-api:live", "concurrency": 2}]
    assert opennext.function_environment(fns["revalidationFunction"], CTX) == {}


def test_cdn_routes_and_origins(build):
    b = parse_build(str(build), "p")
    ctx = dict(CTX, server_cache_policy_id="pol", function_arn="arn:fn", s3_oac_id="oac-s3", lambda_oac_id="oac-l",
               function_domains={"default": "d.lambda-url.us-east-1.on.aws", "imageOptimizer": "i.lambda-url.us-east-1.on.aws"})
    routes = opennext.cdn_behaviors(b, ctx)
    assert routes["default"] == {"origin": "default", "cache_policy_id": "pol", "methods": "all", "function_arn": "arn:fn",
                                 "origin_request_policy_id": opennext.MANAGED_ALL_VIEWER_EXCEPT_HOST}
    s3 = next(r for r in routes["behaviors"] if r["pattern"] == "_next/*")
    assert s3 == {"origin": "s3", "cache_policy_id": opennext.MANAGED_CACHING_OPTIMIZED, "methods": "read", "pattern": "_next/*"}
    assert routes["behaviors"][-1]["origin"] == "images"
    origins = {o["id"]: o for o in opennext.cdn_origins(b, ctx)}
    assert origins["s3"]["origin_path"] == "/_assets" and origins["s3"]["oac_id"] == "oac-s3"
    assert origins["default"]["type"] == "custom" and origins["default"]["oac_id"] == "oac-l"
    with pytest.raises(OpenNextError, match="no function URL"):
        opennext.cdn_origins(b, dict(ctx, function_domains={}))


def test_body_signer_on_function_behaviors_only(build):
    from ansible_collections.stream_sales.platform.plugins.modules import cloudfront_site_distribution as dist
    b = parse_build(str(build), "p")
    signer = "arn:aws:lambda:us-east-1:123456789012:function:p-sign-body:3"
    routes = opennext.cdn_behaviors(b, dict(CTX, server_cache_policy_id="pol", body_signer_arn=signer))
    for route in [routes["default"]] + routes["behaviors"]:
        assert route.get("origin_request_lambda_arn") == (None if route["origin"] in ("s3", "images") else signer), route
    api = dist.api_behavior(routes["default"])
    assert api["LambdaFunctionAssociations"] == {
        "Quantity": 1, "Items": [{"LambdaFunctionARN": signer, "EventType": "origin-request", "IncludeBody": True}]}
    assert dist.summary({"DefaultCacheBehavior": api})["default_behavior"]["functions"] == [f"origin-request={signer} (body)"]
    s3 = dist.api_behavior(next(r for r in routes["behaviors"] if r["origin"] == "s3"))
    assert s3["LambdaFunctionAssociations"] == {"Quantity": 0}
    # Without a signer (public function URLs) nothing is associated.
    plain = opennext.cdn_behaviors(b, dict(CTX, server_cache_policy_id="pol"))["default"]
    assert "origin_request_lambda_arn" not in plain


# open-next.output.json exactly as @opennextjs/aws 3.10.4 wrote it for a Next.js 15.5 app
# (app router, /api/health route, public/robots.txt), with its folders recreated empty.
REAL_3_10 = (
    '{"edgeFunctions":{},"origins":{"s3":{"type":"s3","originPath":"_assets","copy":[{"from":".open-next/assets",'
    '"to":"_assets","cached":true,"versionedSubDir":"_next"},{"from":".open-next/cache","to":"_cache","cached":false}]},'
    '"imageOptimizer":{"type":"function","handler":"index.handler","bundle":".open-next/image-optimization-function",'
    '"streaming":false,"imageLoader":"s3","wrapper":"aws-lambda","converter":"aws-apigw-v2"},"default":{"type":"function",'
    '"handler":"index.handler","bundle":".open-next/server-functions/default","streaming":false,"wrapper":"aws-lambda",'
    '"converter":"aws-apigw-v2","queue":"sqs","incrementalCache":"s3","tagCache":"dynamodb"}},"behaviors":[{"pattern":'
    '"_next/image*","origin":"imageOptimizer"},{"pattern":"_next/data/*","origin":"default"},{"pattern":"*","origin":'
    '"default"},{"pattern":"BUILD_ID","origin":"s3"},{"pattern":"_next/*","origin":"s3"},{"pattern":"robots.txt","origin":'
    '"s3"}],"additionalProps":{"warmer":{"handler":"index.handler","bundle":".open-next/warmer-function"},'
    '"initializationFunction":{"handler":"index.handler","bundle":".open-next/dynamodb-provider"},"revalidationFunction":'
    '{"handler":"index.handler","bundle":".open-next/revalidation-function"}}}'
)


def test_real_opennext_3_10_output(tmp_path):
    out = tmp_path / ".open-next"
    for folder in ("assets", "cache", "server-functions/default", "image-optimization-function/node_modules/sharp",
                   "revalidation-function", "warmer-function", "dynamodb-provider"):
        (out / folder).mkdir(parents=True)
    for folder in ("server-functions/default", "image-optimization-function", "revalidation-function", "warmer-function",
                   "dynamodb-provider"):
        (out / folder / "index.mjs").write_text("export const handler = async () => ({});\n")
    (out / "open-next.output.json").write_text(REAL_3_10)
    b = parse_build(str(out), "p")
    assert sorted(f["role"] for f in b["functions"].values()) == ["image", "revalidation", "server", "tag_cache_init", "warmer"]
    assert [x["pattern"] for x in b["behaviors"]] == ["_next/image*", "_next/data/*", "BUILD_ID", "_next/*", "robots.txt", "images/*"]
    assert b["tag_cache_file"] is None  # no tags used: no dynamodb-cache.json


def test_route_follows_cloudfronts_first_matching_behavior():
    dist = {
        "DomainName": "d111.cloudfront.net", "Aliases": {"Quantity": 0},
        "DefaultCacheBehavior": {"TargetOriginId": "default"},
        "CacheBehaviors": {"Items": [{"PathPattern": "_next/image*", "TargetOriginId": "imageOptimizer"},
                                     {"PathPattern": "api/*", "TargetOriginId": "api"},
                                     {"PathPattern": "_next/*", "TargetOriginId": "s3"}]},
        "Origins": {"Items": [{"Id": "default", "DomainName": "abc.lambda-url.us-east-1.on.aws"},
                              {"Id": "api", "DomainName": "def.lambda-url.us-east-1.on.aws"},
                              {"Id": "imageOptimizer", "DomainName": "ghi.lambda-url.us-east-1.on.aws"},
                              {"Id": "s3", "DomainName": "site.s3.us-east-1.amazonaws.com"}]},
    }
    api = opennext.route(dist, "/api/health", "p")
    assert api == {"behavior": "api/*", "origin": "api", "domain": "def.lambda-url.us-east-1.on.aws",
                   "function": "p-server-api", "host": "d111.cloudfront.net"}
    assert opennext.route(dist, "/_next/image?url=x", "p")["function"] == "p-image-optimizer"
    assert opennext.route(dist, "/about", "p")["function"] == "p-server"
    assert opennext.route(dist, "/_next/static/a.css", "p")["function"] == ""
    dist["Aliases"] = {"Quantity": 1, "Items": ["shop.example.com"]}
    assert opennext.route(dist, "/", "p")["host"] == "shop.example.com"
