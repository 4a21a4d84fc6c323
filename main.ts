/**
 * The one infra entry point (cdktf.json "app"): every file in environments/ becomes its
 * `<env>-*` stacks. ENV=<name> (or ENVIRONMENT) synthesizes that environment only.
 *
 *   npx tsx main.ts             synthesize (what `cdktf synth` runs)
 *   npx tsx main.ts --check     only validate the environment files (make runs this first)
 *   npx tsx main.ts --outdir D  synthesize into D instead of cdktf's directory
 *
 * AUTHPLANE_ENVIRONMENTS points at another directory of environment files (tests).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadEnvironments, type Environment } from "./infra/environment.js";
import { synthesize } from "./infra/synthesize.js";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false }, outdir: { type: "string" } } });
const dir = process.env.AUTHPLANE_ENVIRONMENTS ? resolve(process.env.AUTHPLANE_ENVIRONMENTS) : fileURLToPath(new URL("./environments", import.meta.url));

let envs: Environment[];
try {
  envs = loadEnvironments(dir);
} catch (err) {
  // A bad environment file is the operator's to fix: one clear message, not a stack trace.
  console.error((err as Error).message);
  process.exit(1);
}
if (!values.check) synthesize(envs, { outdir: values.outdir });
