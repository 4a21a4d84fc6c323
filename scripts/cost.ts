/**
 * `make cost ENV=x`: the monthly cost of environment x, idle and per million sign-in/token
 * requests, from its synthesized stacks (<outdir>/stacks/x-…/cdk.tf.json) and the dated price
 * table in infra/cost/prices.ts. A readable table first, then one JSON line last.
 *
 *   npx tsx scripts/cost.ts --env dev [--outdir cdktf.out] [--no-free-tier]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { calculateCost, formatCostTable, type CostReport, type StackJson } from "../infra/cost/calculate.js";

/** Read environment `env`'s stacks from `outdir` and price them. */
export function costOfSynthesized(env: string, outdir: string, options: { freeTier?: boolean } = {}): CostReport {
  const root = join(outdir, "stacks");
  const names = existsSync(root) ? readdirSync(root).filter((n) => n.startsWith(`${env}-`) && existsSync(join(root, n, "cdk.tf.json"))).sort() : [];
  if (names.length === 0) throw new Error(`no synthesized stacks for ${env} under ${root}: synthesize first (make synth ENV=${env})`);
  const stacks = new Map<string, StackJson & { provider?: { aws?: Array<{ region?: string }> } }>(names.map((n) => [n, JSON.parse(readFileSync(join(root, n, "cdk.tf.json"), "utf8"))]));
  const regions = new Set([...stacks.values()].map((s) => s.provider?.aws?.[0]?.region));
  if (regions.size !== 1 || [...regions][0] === undefined) throw new Error(`${env}: expected one region across its stacks, found ${[...regions].join(", ")}`);
  return calculateCost(env, [...regions][0]!, stacks, options);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      env: { type: "string" },
      outdir: { type: "string", default: "cdktf.out" },
      "no-free-tier": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.env) {
    console.log(`usage: npx tsx scripts/cost.ts --env <name> [--outdir cdktf.out] [--no-free-tier]

Prices environment <name>'s synthesized stacks with infra/cost/prices.ts: monthly idle cost,
hosted zone, and the cost of a million sign-in/token requests, resource type by resource type.
--no-free-tier drops CloudWatch's per-account always-free allowances (in an AWS Organization they
are shared by every member account). The last line is the report as JSON.`);
    process.exit(values.help ? 0 : 2);
  }
  try {
    const report = costOfSynthesized(values.env, values.outdir, { freeTier: !values["no-free-tier"] });
    console.log(formatCostTable(report));
    console.log(JSON.stringify(report));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
