# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read an OpenNext v3 build (`.open-next/`) from its `open-next.output.json`.

Nothing here knows a function list in advance: the functions, their roles and the
CloudFront behaviors all come from the build's own description. Every refusal names the
file and the field that is wrong, and happens before anything in AWS changes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import zipfile

OUTPUT_JSON = "open-next.output.json"
# CloudFront's default quota of cache behaviors per distribution (the default one excluded).
MAX_BEHAVIORS = 25
IMAGES_PATTERN = "images/*"
IMAGES_ORIGIN = "images"
S3_ORIGIN = "s3"
# A fixed timestamp keeps zips byte-identical across machines and runs.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class OpenNextError(ValueError):
    """The build cannot be deployed; the message says what is wrong and where."""


def _rel_bundle(build_dir, bundle, where):
    """The bundle's folder. OpenNext writes `.open-next/<dir>` relative to the app root."""
    if not isinstance(bundle, str) or not bundle:
        raise OpenNextError(f"{where}: 'bundle' must be a non-empty path, got {bundle!r}")
    parts = bundle.replace("\\", "/").split("/")
    if parts[0] == ".open-next":
        parts = parts[1:]
    if any(p == ".." for p in parts):
        raise OpenNextError(f"{where}: bundle {bundle!r} leaves the build folder")
    path = os.path.join(build_dir, *[p for p in parts if p and p != "."])
    if not os.path.isdir(path):
        raise OpenNextError(f"{where}: bundle folder {bundle!r} does not exist in {build_dir}")
    return path


def _handler_file(path, handler, where):
    if not isinstance(handler, str) or "." not in handler:
        raise OpenNextError(f"{where}: 'handler' must look like 'index.handler', got {handler!r}")
    module = handler.rsplit(".", 1)[0]
    if not any(os.path.isfile(os.path.join(path, module + ext)) for ext in (".mjs", ".js", ".cjs")):
        raise OpenNextError(f"{where}: handler {handler!r} has no {module}.mjs/.js in {path}")


def safe_name(key):
    """A function-name fragment from an OpenNext origin key (Lambda allows [A-Za-z0-9-_])."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", key).strip("-").lower() or "fn"


def origin_function_name(key, prefix):
    """The function serving OpenNext origin `key`: the image optimizer, the server, or a split server."""
    if key == "imageOptimizer":
        return f"{prefix}-image-optimizer"
    return f"{prefix}-server" if key == "default" else f"{prefix}-server-{safe_name(key)}"


def files_under(path):
    """Relative POSIX paths of every file under path, sorted (symlinks to files included)."""
    out = []
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs.sort()
        for name in files:
            full = os.path.join(root, name)
            if os.path.isfile(full):
                out.append(os.path.relpath(full, path).replace(os.sep, "/"))
    return sorted(out)


def content_hash(path):
    """sha256 over every file's relative path, mode bit x and bytes: the bundle's identity."""
    digest = hashlib.sha256()
    for rel in files_under(path):
        full = os.path.join(path, rel)
        digest.update(rel.encode() + b"\0")
        digest.update(b"x" if os.access(full, os.X_OK) else b"-")
        with open(full, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def deterministic_zip(path, dest):
    """Zip path's files into dest with fixed timestamps and order; same bytes every time."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for rel in files_under(path):
            full = os.path.join(path, rel)
            info = zipfile.ZipInfo(rel, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(full, os.X_OK) else 0o644) << 16
            with open(full, "rb") as fh:
                zf.writestr(info, fh.read())
    return dest


def _load(build_dir):
    if not os.path.isdir(build_dir):
        raise OpenNextError(f"app_build_dir {build_dir!r} is not a folder; point it at an OpenNext v3 '.open-next' build")
    path = os.path.join(build_dir, OUTPUT_JSON)
    if not os.path.isfile(path):
        raise OpenNextError(f"{path} is missing: {build_dir} is not an OpenNext v3 build (run `npx @opennextjs/aws build`)")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OpenNextError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OpenNextError(f"{path}: expected a JSON object at the top level")
    for key, kind in (("origins", dict), ("behaviors", list)):
        if not isinstance(data.get(key), kind):
            raise OpenNextError(f"{path}: '{key}' must be a JSON {kind.__name__.replace('dict', 'object').replace('list', 'array')}")
    return path, data


def parse_build(build_dir, prefix="app"):
    """The deployable description of a build: functions, s3 copies, behaviors.

    Raises OpenNextError with a message naming what is wrong.
    """
    build_dir = os.path.abspath(build_dir)
    path, data = _load(build_dir)
    origins = data["origins"]
    props = data.get("additionalProps") or {}
    if not isinstance(props, dict):
        raise OpenNextError(f"{path}: 'additionalProps' must be an object")

    functions = {}
    s3 = None
    for key, origin in origins.items():
        where = f"{path}: origins.{key}"
        if not isinstance(origin, dict):
            raise OpenNextError(f"{where} must be an object")
        kind = origin.get("type")
        if kind == "s3":
            copies = origin.get("copy")
            if not isinstance(copies, list) or not copies:
                raise OpenNextError(f"{where}.copy must list the folders to upload")
            s3 = {"key": key, "origin_path": origin.get("originPath", "_assets"), "copy": []}
            for i, c in enumerate(copies):
                if not isinstance(c, dict) or not c.get("from") or not c.get("to"):
                    raise OpenNextError(f"{where}.copy[{i}] needs 'from' and 'to'")
                src = _rel_bundle(build_dir, c["from"], f"{where}.copy[{i}]")
                s3["copy"].append({
                    "src": src, "prefix": c["to"].strip("/"), "cached": bool(c.get("cached")),
                    "versioned_subdir": c.get("versionedSubDir"),
                })
        elif kind == "function":
            bundle = _rel_bundle(build_dir, origin.get("bundle"), where)
            handler = origin.get("handler", "index.handler")
            _handler_file(bundle, handler, where)
            role = "image" if key == "imageOptimizer" else "server"
            functions[key] = {
                "key": key, "role": role, "origin": key, "bundle": bundle, "handler": handler,
                "streaming": bool(origin.get("streaming")),
                "architecture": "arm64" if role == "image" else "x86_64",
                "name": origin_function_name(key, prefix),
            }
            if role == "image" and not os.path.isdir(os.path.join(bundle, "node_modules", "sharp")):
                raise OpenNextError(
                    f"{where}: the image optimizer bundle {bundle} has no node_modules/sharp. OpenNext exits 0 "
                    "when its arm64 sharp download fails; rebuild with network access (or set "
                    "imageOptimization.install in open-next.config.ts)")
        elif kind in ("edge", "lambda@edge"):
            raise OpenNextError(f"{where}: edge functions are not supported; build with a regional (aws-lambda) wrapper")
        else:
            raise OpenNextError(f"{where}.type is {kind!r}; expected 's3' or 'function'")
    if s3 is None:
        raise OpenNextError(f"{path}: no origin of type 's3' (the static assets)")
    if "default" not in functions:
        raise OpenNextError(f"{path}: no 'default' function origin (the server)")

    for prop, role, suffix in (("revalidationFunction", "revalidation", "revalidation"),
                               ("warmer", "warmer", "warmer"),
                               ("initializationFunction", "tag_cache_init", "tag-cache-init")):
        spec = props.get(prop)
        if spec is None:
            continue
        where = f"{path}: additionalProps.{prop}"
        if not isinstance(spec, dict):
            raise OpenNextError(f"{where} must be an object")
        bundle = _rel_bundle(build_dir, spec.get("bundle"), where)
        handler = spec.get("handler", "index.handler")
        _handler_file(bundle, handler, where)
        functions[prop] = {
            "key": prop, "role": role, "origin": None, "bundle": bundle, "handler": handler,
            "streaming": False, "architecture": "x86_64", "name": f"{prefix}-{suffix}",
        }
    cache_file = None
    if "initializationFunction" in functions:
        candidate = os.path.join(functions["initializationFunction"]["bundle"], "dynamodb-cache.json")
        cache_file = candidate if os.path.isfile(candidate) else None

    behaviors = []
    for i, b in enumerate(data["behaviors"]):
        where = f"{path}: behaviors[{i}]"
        if not isinstance(b, dict) or not isinstance(b.get("pattern"), str) or not b.get("pattern"):
            raise OpenNextError(f"{where} needs a 'pattern' string and an 'origin'")
        origin = b.get("origin")
        if origin not in origins:
            raise OpenNextError(f"{where}: origin {origin!r} is not one of origins ({', '.join(origins)})")
        behaviors.append({"pattern": b["pattern"].lstrip("/"), "origin": origin})
    defaults = [b for b in behaviors if b["pattern"] == "*"]
    if not defaults:
        raise OpenNextError(f"{path}: no behavior with pattern '*' (CloudFront's default behavior)")
    # Keep OpenNext's order: the function behaviors must win over the s3 "_next/*".
    ordered = [b for b in behaviors if b["pattern"] != "*"]
    ordered.append({"pattern": IMAGES_PATTERN, "origin": IMAGES_ORIGIN})
    if len(ordered) > MAX_BEHAVIORS:
        raise OpenNextError(
            f"{path}: {len(ordered)} cache behaviors ({len(ordered) - 1} from the build plus /{IMAGES_PATTERN}); "
            f"CloudFront allows {MAX_BEHAVIORS}. Move public/ files into a folder so one pattern covers them")

    for fn in functions.values():
        fn["hash"] = content_hash(fn["bundle"])
    return {
        "build_dir": build_dir,
        "output_json": path,
        "functions": functions,
        "s3": s3,
        "default_behavior": defaults[0],
        "behaviors": ordered,
        "tag_cache_file": cache_file,
        "disable_incremental_cache": bool(props.get("disableIncrementalCache")),
        "disable_tag_cache": bool(props.get("disableTagCache")),
        "routing_hash": hashlib.sha256(json.dumps(
            [defaults[0]] + ordered, sort_keys=True).encode()).hexdigest(),
    }


# --- What each function needs on AWS (facts/opennext-v3.md), from a context of names and ARNs.

def _log_statement(ctx, name):
    return {
        "Sid": "OwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"arn:aws:logs:{ctx['region']}:{ctx['account']}:log-group:/aws/lambda/{name}:*"],
    }


# EC2 actions that have no resource-level permissions: '*' is the only Resource AWS accepts.
NO_RESOURCE_LEVEL_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                             "ec2:DescribeVpcs")


def vpc_statements(ctx):
    """What Lambda needs to place a function's ENIs in our subnets, scoped where EC2 allows."""
    ec2 = f"arn:aws:ec2:{ctx['region']}:{ctx['account']}"
    subnets = [f"{ec2}:subnet/{s}" for s in ctx.get("vpc_subnet_ids") or [] if s]
    groups = [f"{ec2}:security-group/{g}" for g in ctx.get("vpc_security_group_ids") or [] if g]
    if not subnets:
        return []
    return [
        {"Sid": "DescribeNetwork", "Effect": "Allow", "Action": list(NO_RESOURCE_LEVEL_ACTIONS), "Resource": "*"},
        {"Sid": "CreateEniInOurSubnets", "Effect": "Allow", "Action": ["ec2:CreateNetworkInterface"],
         "Resource": sorted(subnets) + sorted(groups) + [f"{ec2}:network-interface/*"]},
        {"Sid": "ManageOwnEnis", "Effect": "Allow",
         "Action": ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
         "Resource": [f"{ec2}:network-interface/*"]},
    ]


def function_policy(fn, ctx):
    """Least-privilege inline policy: only the ARNs this function uses; never '*'."""
    site, images = ctx["site_bucket"], ctx["images_bucket"]
    statements = [_log_statement(ctx, fn["name"])]
    role = fn["role"]
    if role == "server":
        statements += [
            {"Sid": "IncrementalCache", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": [f"arn:aws:s3:::{site}/_cache/*"]},
            {"Sid": "ListIncrementalCache", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{site}"], "Condition": {"StringLike": {"s3:prefix": ["_cache/*"]}}},
            {"Sid": "Images", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": [f"arn:aws:s3:::{images}/*"]},
            {"Sid": "RevalidationQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [ctx["queue_arn"]]},
            {"Sid": "TagCache", "Effect": "Allow",
             "Action": ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem",
                        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                        "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
             "Resource": [ctx["table_arn"], ctx["table_arn"] + "/index/*"]},
            {"Sid": "AppSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
             "Resource": sorted(a for a in ctx["secret_arns"].values() if a)},
        ]
        statements += vpc_statements(ctx)
    elif role == "image":
        statements.append({"Sid": "Assets", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": [f"arn:aws:s3:::{site}/_assets/*"]})
    elif role == "revalidation":
        statements.append({"Sid": "RevalidationQueue", "Effect": "Allow",
                           "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                      "sqs:GetQueueAttributes"],
                           "Resource": [ctx["queue_arn"]]})
    elif role == "warmer":
        targets = ctx["warm_targets"]
        statements.append({"Sid": "WarmServers", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                           "Resource": sorted(ctx["lambda_arn_prefix"] + t for t in targets)
                           + sorted(ctx["lambda_arn_prefix"] + t + ":*" for t in targets)})
    elif role == "tag_cache_init":
        statements.append({"Sid": "SeedTagCache", "Effect": "Allow",
                           "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DescribeTable"],
                           "Resource": [ctx["table_arn"]]})
    if role in ASYNCHRONOUS_ROLES and ctx.get("dead_letter_arn"):
        # Lambda sends what an asynchronous invocation could not process there, as the function.
        statements.append({"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": [ctx["dead_letter_arn"]]})
    return {"Version": "2012-10-17", "Statement": statements}


# Functions invoked asynchronously (EventBridge's schedule, SQS's batches retried by Lambda): they
# get a dead-letter queue. The others answer their caller (function URLs, the deploy) directly.
ASYNCHRONOUS_ROLES = ("revalidation", "warmer")


def execution_roles(functions, ctx, trust_policy):
    """The execution role of every function (as the iam_roles module takes them): its trust policy and
    its least-privilege inline policy, named after the function."""
    return [{"name": fn["name"], "trust_policy": trust_policy, "description": "OpenNext %s function %s" % (fn["role"], fn["name"]),
             "inline_policies": {fn["name"]: function_policy(fn, ctx)}} for fn in functions]


def function_environment(fn, ctx):
    """Environment variables: names and ARNs only. Never a secret's value, never AWS_REGION."""
    role = fn["role"]
    if role == "server":
        secrets = ctx["secret_arns"]
        env = {
            "NODE_ENV": "production",
            "DATABASE_SECRET_ARN": secrets.get("database", ""),
            "AWS_SECRET_NAME": ctx["database_secret_name"],
            "DATABASE_HOST": ctx.get("database_host", ""),
            "DATABASE_PORT": str(ctx.get("database_port", "5432")),
            "DATABASE_NAME": ctx.get("database_name", "streams"),
            "JWT_SECRET_ARN": secrets.get("jwt", ""),
            "JWT_EXPIRES_IN": ctx.get("jwt_expires_in", "7d"),
            "ENCRYPTION_SECRET_ARN": secrets.get("encryption", ""),
            "IMAGES_BUCKET_NAME": ctx["images_bucket"],
            "IMAGES_BUCKET_REGION": ctx["region"],
            "ENABLE_API_LOGGING": str(bool(ctx.get("enable_api_logging"))).lower(),
            "ENABLE_QUERY_LOGGING": str(bool(ctx.get("enable_query_logging"))).lower(),
            "CACHE_BUCKET_NAME": ctx["site_bucket"],
            "CACHE_BUCKET_KEY_PREFIX": "_cache",
            "CACHE_BUCKET_REGION": ctx["region"],
            "REVALIDATION_QUEUE_URL": ctx["queue_url"],
            "REVALIDATION_QUEUE_REGION": ctx["region"],
            "CACHE_DYNAMO_TABLE": ctx["table_name"],
        }
    elif role == "image":
        env = {"BUCKET_NAME": ctx["site_bucket"], "BUCKET_KEY_PREFIX": "_assets"}
    elif role == "warmer":
        env = {"WARM_PARAMS": json.dumps([{"function": f"{t}:{ctx['alias']}", "concurrency": int(ctx["warmer_concurrency"])}
                                          for t in sorted(ctx["warm_targets"])], separators=(",", ":"))}
    elif role == "tag_cache_init":
        env = {"CACHE_DYNAMO_TABLE": ctx["table_name"]}
    else:
        env = {}
    if "AWS_REGION" in env:  # pragma: no cover - reserved by Lambda
        raise OpenNextError("AWS_REGION is reserved by Lambda")
    return env


# --- CloudFront (facts/opennext-v3.md): AWS managed policies where a custom one is not needed.
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
MANAGED_ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def cdn_behaviors(build, ctx):
    """(default_behavior, behaviors) for cloudfront_site_distribution, in OpenNext's order.

    ctx: server_cache_policy_id, function_arn (viewer-request), body_signer_arn (Lambda@Edge
    origin request on the function origins, for the Lambda origin access control).
    """
    def one(b):
        if b["origin"] in (S3_ORIGIN, IMAGES_ORIGIN) or b["origin"] == build["s3"]["key"]:
            out = {"origin": IMAGES_ORIGIN if b["origin"] == IMAGES_ORIGIN else S3_ORIGIN,
                   "cache_policy_id": MANAGED_CACHING_OPTIMIZED, "methods": "read"}
        else:
            out = {"origin": b["origin"], "cache_policy_id": ctx["server_cache_policy_id"],
                   "origin_request_policy_id": MANAGED_ALL_VIEWER_EXCEPT_HOST,
                   "function_arn": ctx.get("function_arn") or "", "methods": "all"}
            if ctx.get("body_signer_arn"):
                out["origin_request_lambda_arn"] = ctx["body_signer_arn"]
        if b["pattern"] != "*":
            out["pattern"] = b["pattern"]
        return out
    return {"default": one(build["default_behavior"]), "behaviors": [one(b) for b in build["behaviors"]]}


def cdn_origins(build, ctx):
    """Origins: the site bucket's _assets, the images bucket, and each function URL used by a behavior."""
    region = ctx["region"]
    used = {b["origin"] for b in [build["default_behavior"]] + build["behaviors"]}
    origins = [
        {"id": S3_ORIGIN, "domain_name": f"{ctx['site_bucket']}.s3.{region}.amazonaws.com",
         "origin_path": "/" + build["s3"]["origin_path"].strip("/"), "type": "s3", "oac_id": ctx["s3_oac_id"]},
        {"id": IMAGES_ORIGIN, "domain_name": f"{ctx['images_bucket']}.s3.{region}.amazonaws.com",
         "origin_path": "", "type": "s3", "oac_id": ctx["s3_oac_id"]},
    ]
    for key, fn in sorted(build["functions"].items()):
        if fn.get("origin") and key in used:
            domain = ctx["function_domains"].get(key)
            if not domain:
                raise OpenNextError(f"function origin {key!r} has no function URL yet")
            origins.append({"id": key, "domain_name": domain, "origin_path": "", "type": "custom",
                            "oac_id": ctx.get("lambda_oac_id") or ""})
    return origins


def _pattern_matches(pattern, path):
    """CloudFront path patterns: case-sensitive, * and ? wildcards, leading slash optional."""
    return re.match(fnmatch.translate(pattern.lstrip("/")), path.lstrip("/")) is not None


def route(distribution, path, prefix):
    """How CloudFront serves `path` through a distribution (a ListDistributions summary or a
    DistributionConfig): the first cache behavior whose pattern matches, else the default one,
    its origin, the origin's domain and, for an OpenNext function origin, the function's name."""
    behaviors = (distribution.get("CacheBehaviors") or {}).get("Items") or []
    behavior = next((b for b in behaviors if _pattern_matches(b["PathPattern"], path)), None)
    origin_id = (behavior or distribution["DefaultCacheBehavior"])["TargetOriginId"]
    origin = next((o for o in distribution["Origins"]["Items"] if o["Id"] == origin_id), None)
    if origin is None:
        raise OpenNextError(f"{path}: the behavior's origin {origin_id!r} is not among the distribution's origins")
    domain = origin["DomainName"]
    is_function = ".lambda-url." in domain
    return {
        "behavior": behavior["PathPattern"] if behavior else "*",
        "origin": origin_id,
        "domain": domain,
        "function": origin_function_name(origin_id, prefix) if is_function else "",
        "host": ((distribution.get("Aliases") or {}).get("Items") or [distribution.get("DomainName", "")])[0],
    }
