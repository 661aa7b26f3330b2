// Loaded with `node --import`: registers the runtime's module resolution (resolve.mjs).
import { register } from "node:module";

register("./resolve.mjs", import.meta.url);
