/**
 * The one infra entry point (cdktf.json "app"): every file in environments/ becomes its
 * `<env>-*` stacks. ENV=<name> (or ENVIRONMENT) synthesizes that environment only.
 */
import { fileURLToPath } from "node:url";
import { loadEnvironments, type Environment } from "./infra/environment.js";
import { synthesize } from "./infra/synthesize.js";

let envs: Environment[];
try {
  envs = loadEnvironments(fileURLToPath(new URL("./environments", import.meta.url)));
} catch (err) {
  // A bad environment file is the operator's to fix: one clear message, not a stack trace.
  console.error((err as Error).message);
  process.exit(1);
}
synthesize(envs);
