// Run a Lambda handler from an unpacked bundle on one event; print the result as JSON.
//   node invoke.mjs <bundle dir> <handler e.g. index.handler> <event JSON>
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, handler, eventJson] = process.argv.slice(2);
const [file, name] = [handler.slice(0, handler.lastIndexOf(".")), handler.slice(handler.lastIndexOf(".") + 1)];
const path = [".mjs", ".js", ".cjs"].map((ext) => join(dir, file + ext)).find(existsSync);
if (!path) throw new Error(`no ${file}.mjs/.js in ${dir}`);
const mod = await import(pathToFileURL(path).href);
const fn = mod[name] ?? mod.default?.[name];
if (typeof fn !== "function") throw new Error(`${path} exports no function ${name}`);
const context = { functionName: "verify", awsRequestId: "verify", getRemainingTimeInMillis: () => 10000 };
const result = await fn(JSON.parse(eventJson), context);
process.stdout.write(JSON.stringify(result ?? null));
