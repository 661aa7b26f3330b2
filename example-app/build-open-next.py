"""Write a small OpenNext v3 build of the example app into example-app/.open-next/.

The demo deploys this build; a real `npx @opennextjs/aws build` output has the same
shape (see ../../shared facts, opennext-v3.md) and deploys unchanged. Deterministic:
the same source gives the same bytes, so a second deploy uploads nothing.

    build-open-next.py [OUT_DIR] [--build-id ID]

Stand-in, documented: the image optimizer's node_modules/sharp is a placeholder
package.json, not the native arm64 library a real build carries. The roles only check
that sharp is present; a real build brings the real one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent

SERVER = r"""// Example app server function (OpenNext's aws-lambda wrapper, aws-apigw-v2 converter shape).
const BUILD_ID = "__BUILD_ID__";

const json = (statusCode, body) => ({
  statusCode,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify(body),
  isBase64Encoded: false,
});

export const handler = async (event) => {
  const path = event?.rawPath ?? event?.requestContext?.http?.path ?? "/";
  const method = event?.requestContext?.http?.method ?? "GET";
  if (path === "/api/health") {
    if (method !== "GET" && method !== "HEAD") return json(405, { error: "method not allowed" });
    return json(200, {
      status: "ok",
      buildId: BUILD_ID,
      env: process.env.NODE_ENV ?? "unknown",
      database: process.env.DATABASE_SECRET_ARN ? "configured" : "missing",
    });
  }
  if (path === "/") {
    return {
      statusCode: 200,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "s-maxage=31536000, stale-while-revalidate" },
      body: `<!doctype html><html><head><title>Stream Sales</title><link rel="stylesheet" href="/_next/static/css/__CSS__"></head>` +
            `<body><h1>Stream Sales</h1><p>build ${BUILD_ID}</p></body></html>`,
      isBase64Encoded: false,
    };
  }
  return json(404, { error: "not found", path });
};
"""

SIMPLE = r"""// Example app __WHAT__ (stands in for OpenNext's own bundle of the same name).
export const handler = async (event) => {
  __BODY__
};
"""

BODIES = {
    "image optimizer": 'return { statusCode: 200, headers: { "content-type": "image/webp" }, body: "", isBase64Encoded: true };',
    "revalidation function": "// SQS FIFO batch: report no failures so every record is deleted.\n  return { batchItemFailures: [] };",
    "warmer function": 'const params = JSON.parse(process.env.WARM_PARAMS ?? "[]");\n  return { warmed: params };',
}

# OpenNext's dynamodb provider: on {"RequestType": "Create"} (or "Update") it writes the build's
# dynamodb-cache.json into CACHE_DYNAMO_TABLE in batches of 25, with the AWS SDK the Lambda
# runtime ships.
TAG_CACHE_INIT = r"""// Example app tag cache initialiser (OpenNext's dynamodb-provider).
import { readFileSync } from "node:fs";
import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});

export const handler = async (event) => {
  if (event?.RequestType === "Delete") return { PhysicalResourceId: "dynamodb-cache", Data: {} };
  const table = process.env.CACHE_DYNAMO_TABLE;
  const items = JSON.parse(readFileSync(new URL("./dynamodb-cache.json", import.meta.url), "utf8"));
  for (let i = 0; i < items.length; i += 25) {
    let batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (batch.length) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
      batch = out.UnprocessedItems?.[table] ?? [];
    }
  }
  console.log(`wrote ${items.length} tag cache entries into ${table}`);
  return { PhysicalResourceId: "dynamodb-cache", Data: { written: items.length } };
};
"""


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def build(out: Path, build_id: str) -> None:
    if out.exists():
        shutil.rmtree(out)
    css = "body{font-family:system-ui;margin:2rem}\n"
    css_name = hashlib.sha256(css.encode()).hexdigest()[:16] + ".css"
    js = f'console.log("stream sales {build_id}");\n'
    js_name = "main-" + hashlib.sha256(js.encode()).hexdigest()[:16] + ".js"
    assets = out / "assets"
    write(assets / "BUILD_ID", build_id)
    write(assets / "_next" / "static" / "css" / css_name, css)
    write(assets / "_next" / "static" / "chunks" / js_name, js)
    write(assets / "_next" / "static" / build_id / "_buildManifest.js", "self.__BUILD_MANIFEST={};\n")
    write(assets / "favicon.ico", bytes(range(64)))
    write(assets / "robots.txt", "User-agent: *\nAllow: /\n")
    write(out / "cache" / build_id / "index.cache", json.dumps({"type": "page", "html": "<h1>Stream Sales</h1>"}))
    write(out / "cache" / "__fetch" / build_id / ".keep", "")

    server = out / "server-functions" / "default"
    write(server / "index.mjs", SERVER.replace("__BUILD_ID__", build_id).replace("__CSS__", css_name))
    write(server / "package.json", '{"type":"module"}\n')
    for folder, what in (("image-optimization-function", "image optimizer"),
                         ("revalidation-function", "revalidation function"),
                         ("warmer-function", "warmer function")):
        write(out / folder / "index.mjs", SIMPLE.replace("__WHAT__", what).replace("__BODY__", BODIES[what]))
        write(out / folder / "package.json", '{"type":"module"}\n')
    write(out / "dynamodb-provider" / "index.mjs", TAG_CACHE_INIT)
    write(out / "dynamodb-provider" / "package.json", '{"type":"module"}\n')
    write(out / "image-optimization-function" / "node_modules" / "sharp" / "package.json",
          '{"name":"sharp","version":"0.0.0-placeholder","description":"Example stand-in: a real OpenNext build ships sharp for linux-arm64 here"}\n')
    write(out / "dynamodb-provider" / "dynamodb-cache.json", json.dumps([
        {"tag": {"S": "_N_T_/layout"}, "path": {"S": "/index"}, "revalidatedAt": {"N": "1"}},
        {"tag": {"S": "_N_T_/index"}, "path": {"S": "/index"}, "revalidatedAt": {"N": "1"}},
    ], indent=1))

    fn = {"type": "function", "handler": "index.handler", "wrapper": "aws-lambda", "converter": "aws-apigw-v2"}
    output = {
        "edgeFunctions": {},
        "origins": {
            "s3": {"type": "s3", "originPath": "_assets", "copy": [
                {"from": ".open-next/assets", "to": "_assets", "cached": True, "versionedSubDir": "_next"},
                {"from": ".open-next/cache", "to": "_cache", "cached": False}]},
            "imageOptimizer": dict(fn, bundle=".open-next/image-optimization-function", streaming=False, imageLoader="s3"),
            "default": dict(fn, bundle=".open-next/server-functions/default", streaming=False,
                            queue="sqs", incrementalCache="s3", tagCache="dynamodb"),
        },
        "behaviors": [
            {"pattern": "_next/image*", "origin": "imageOptimizer"},
            {"pattern": "_next/data/*", "origin": "default"},
            {"pattern": "api/*", "origin": "default"},
            {"pattern": "*", "origin": "default"},
            {"pattern": "BUILD_ID", "origin": "s3"},
            {"pattern": "_next/*", "origin": "s3"},
            {"pattern": "favicon.ico", "origin": "s3"},
            {"pattern": "robots.txt", "origin": "s3"},
        ],
        "additionalProps": {
            "disableIncrementalCache": False,
            "disableTagCache": False,
            "initializationFunction": {"handler": "index.handler", "bundle": ".open-next/dynamodb-provider"},
            "warmer": {"handler": "index.handler", "bundle": ".open-next/warmer-function"},
            "revalidationFunction": {"handler": "index.handler", "bundle": ".open-next/revalidation-function"},
        },
    }
    write(out / "open-next.output.json", json.dumps(output, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(HERE / ".open-next"))
    ap.add_argument("--build-id", default="example-build-1")
    args = ap.parse_args()
    build(Path(args.out), args.build_id)
    print(args.out)


if __name__ == "__main__":
    main()
