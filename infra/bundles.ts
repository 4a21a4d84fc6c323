/**
 * Where a Lambda's code comes from at synth time. Infra points at function code only by path:
 * `make build` (functions/build.ts) writes dist/functions/<name>/index.mjs; until then a committed
 * placeholder stands in, so `make synth` and the tests never need a build.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The Lambda functions authplane deploys. */
export type FunctionName = "auth" | "authorizer";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Absolute directory holding `index.mjs` for `name`: the esbuild output when present, else the
 * placeholder (which answers 503 / denies every request).
 * @param distDir where functions/build.ts writes bundles. @default "<repo>/dist/functions"
 */
export function bundleDir(name: FunctionName, distDir: string = join(root, "dist", "functions")): string {
  const built = join(distDir, name);
  return existsSync(join(built, "index.mjs")) ? built : join(root, "infra", "placeholder", name);
}
