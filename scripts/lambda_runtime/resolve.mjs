// Module resolution as in Lambda's Node.js runtime: a package the function's own bundle lacks is
// looked up among the runtime's packages (the AWS SDK for JavaScript v3), for ES modules too.
// CommonJS gets the same through NODE_PATH, which the emulator sets.
const RUNTIME_PARENT = new URL("./bootstrap.mjs", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !bare) throw err;
    return nextResolve(specifier, { ...context, parentURL: RUNTIME_PARENT });
  }
}
