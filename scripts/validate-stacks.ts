/**
 * `make validate`: `terraform init -backend=false && terraform validate` in every synthesized
 * stack directory, offline (TF_CLI_CONFIG_FILE points at the plugin mirror, see
 * scripts/terraformrc.sh), sharing one plugin cache and running a few stacks at a time.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  firstAloneThenPool,
  INIT,
  printResults,
  stackName,
  stacksAndConcurrency,
  terraform,
  VALIDATE,
  type StackResult,
  type TerraformOptions,
} from "./terraform-runner.js";

export { stackDirs, type StackResult } from "./terraform-runner.js";
export type ValidateOptions = TerraformOptions;

/** Validate every stack in `dirs`, `concurrency` at a time once the first has filled the plugin cache. */
export async function validateStacks(dirs: readonly string[], options: ValidateOptions = {}): Promise<StackResult[]> {
  const tf = terraform(options);
  return firstAloneThenPool(dirs, options.concurrency, (dir) => tf.chain(stackName(dir), dir, [INIT, VALIDATE]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      outdir: { type: "string", default: "cdktf.out" },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: npx tsx scripts/validate-stacks.ts [--outdir cdktf.out] [--concurrency N]

Runs terraform init -backend=false && terraform validate in every stack under <outdir>/stacks
(synthesize first: make synth). Offline when TF_CLI_CONFIG_FILE points at a plugin mirror
(make .tmp/terraformrc). Exits 1 if any stack fails.`);
    return;
  }
  const { dirs, concurrency } = stacksAndConcurrency(values);
  const results = await validateStacks(dirs, { concurrency });
  const failed = printResults(results);
  console.log(`${results.length - failed}/${results.length} stacks valid`);
  if (failed > 0) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
