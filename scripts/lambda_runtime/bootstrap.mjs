// One invocation of a Lambda function, as the nodejs20.x runtime runs it:
//   node --import hooks.mjs bootstrap.mjs <result file> <request id> <timeout ms> <invoked ARN> [client context JSON]
// The event comes on stdin; the function's code is in $LAMBDA_TASK_ROOT, its handler in $_HANDLER.
// Logs go to stdout in the runtime's format; the outcome is written to <result file> as JSON:
// {"payload": "<JSON text>"}, {"raw": "<base64>"} (a streaming handler's bytes, as a buffered
// Invoke returns them) or {"error": {errorType, errorMessage, trace}}.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [resultFile, requestId, timeoutMs, invokedArn, clientContextJson] = process.argv.slice(2);
const taskRoot = process.env.LAMBDA_TASK_ROOT;
const handlerSpec = process.env._HANDLER ?? "";
let finished = false;

// console.* as the runtime writes it: one line per message (newlines become \r), tab-separated.
for (const [method, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"],
                               ["debug", "DEBUG"], ["trace", "TRACE"]]) {
  console[method] = (...args) => {
    process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args).replace(/\n/g, "\r")}\n`);
  };
}

// The runtime's global for response streaming (OpenNext's aws-lambda-streaming wrapper uses it).
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
globalThis.awslambda = {
  streamifyResponse: (handler) => Object.assign(handler, { [STREAMING]: "response" }),
  HttpResponseStream: {
    // An HTTP response over a stream: its metadata as JSON, then 8 null bytes, then the body.
    from: (stream, metadata) => {
      stream.write(JSON.stringify(metadata ?? {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

function errorPayload(err, type) {
  if (err instanceof Error) {
    return { errorType: type ?? err.name ?? "Error", errorMessage: err.message,
             trace: String(err.stack ?? "").split("\n") };
  }
  return { errorType: type ?? "Error", errorMessage: typeof err === "string" ? err : JSON.stringify(err) ?? String(err), trace: [] };
}

function finish(outcome) {
  if (finished) return;
  finished = true;
  if (outcome.error) {
    process.stdout.write(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(outcome.error)}\n`);
  }
  writeFileSync(resultFile, JSON.stringify({ ...outcome, maxRssKb: process.resourceUsage().maxRSS }));
  // Lambda freezes the environment once the handler is done; nothing after it runs.
  process.exit(0);
}

function succeed(result) {
  let payload;
  try {
    payload = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    return finish({ error: { errorType: "Runtime.ResponseSerializationError", errorMessage: String(err.message), trace: [] } });
  }
  finish({ payload });
}

process.on("unhandledRejection", (reason) => {
  const err = reason instanceof Error ? reason : new Error(String(reason));
  finish({ error: { errorType: "Runtime.UnhandledPromiseRejection", errorMessage: `${err.name}: ${err.message}`,
                    trace: String(err.stack ?? "").split("\n") } });
});
process.on("uncaughtException", (err) => finish({ error: errorPayload(err) }));

async function loadHandler() {
  // "dir/module.fn" or "module.nested.fn": the module is everything up to the first dot of the last path part.
  const slash = handlerSpec.lastIndexOf("/");
  const dir = slash >= 0 ? handlerSpec.slice(0, slash) : "";
  const rest = handlerSpec.slice(slash + 1);
  const dot = rest.indexOf(".");
  if (dot <= 0) {
    throw Object.assign(new Error(`Bad handler ${handlerSpec}`), { lambdaType: "Runtime.MalformedHandlerName" });
  }
  const moduleName = rest.slice(0, dot);
  const path = [".js", ".mjs", ".cjs"].map((ext) => join(taskRoot, dir, moduleName + ext)).find(existsSync);
  if (!path) {
    throw Object.assign(new Error(`Error: Cannot find module '${moduleName}'`), { lambdaType: "Runtime.ImportModuleError" });
  }
  let mod;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (err) {
    throw Object.assign(new Error(`${err.name}: ${err.message}`), { lambdaType: "Runtime.ImportModuleError", stack: err.stack });
  }
  let fn = mod;
  for (const part of rest.slice(dot + 1).split(".")) fn = fn?.[part] ?? (fn === mod ? mod.default?.[part] : undefined);
  if (typeof fn !== "function") {
    throw Object.assign(new Error(`${handlerSpec} is undefined or not exported`),
                        { lambdaType: "Runtime.HandlerNotFound" });
  }
  return fn;
}

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    return finish({ error: errorPayload(err, err.lambdaType) });
  }
  const event = JSON.parse(readFileSync(0, "utf8") || "null");
  const deadline = Date.now() + Number(timeoutMs);
  const [, , , , , , functionName, version] = invokedArn.split(":");
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? version ?? "$LATEST",
    invokedFunctionArn: invokedArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: clientContextJson ? JSON.parse(clientContextJson) : undefined,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (err, result) => (err ? finish({ error: errorPayload(err) }) : succeed(result)),
    succeed: (result) => succeed(result),
    fail: (err) => finish({ error: errorPayload(err) }),
  };
  // The timeout, as Lambda enforces it (the emulator also kills a process that never yields).
  setTimeout(() => finish({ error: { errorType: "Sandbox.Timedout",
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(Number(timeoutMs) / 1000).toFixed(2)} seconds` } }),
  Number(timeoutMs)).unref();
  if (handler[STREAMING]) {
    const chunks = [];
    const stream = new PassThrough();
    stream.setContentType = () => {};
    stream.on("data", (chunk) => chunks.push(Buffer.from(chunk)));
    stream.on("end", () => finish({ raw: Buffer.concat(chunks).toString("base64") }));
    try {
      await handler(event, stream, context);
    } catch (err) {
      finish({ error: errorPayload(err) });
    }
    return;
  }
  if (handler.length >= 3) {
    // Callback style: done when the callback is called (and, by default, the event loop is empty).
    let outcome = null;
    const callback = (err, result) => {
      outcome = err ? { error: errorPayload(err) } : { result };
      if (!context.callbackWaitsForEmptyEventLoop) deliver();
    };
    const deliver = () => (outcome.error ? finish(outcome) : succeed(outcome.result));
    process.on("beforeExit", () => { if (outcome) deliver(); });
    try {
      const maybe = handler(event, context, callback);
      if (maybe && typeof maybe.then === "function") maybe.then(succeed, (err) => finish({ error: errorPayload(err) }));
    } catch (err) {
      finish({ error: errorPayload(err) });
    }
    return;
  }
  try {
    succeed(await handler(event, context));
  } catch (err) {
    finish({ error: errorPayload(err) });
  }
}

main();
