/** Synthesize environments in-process (no CLI) and read back each stack's Terraform JSON. */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { Testing, TerraformStack } from "cdktf";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnvironments, type Environment } from "../../infra/environment.js";
import { synthesize } from "../../infra/synthesize.js";

/** A stack's cdk.tf.json, loosely typed: tests pick what they assert. */
export type TerraformJson = {
  terraform: { backend: Record<string, Record<string, unknown>> };
  provider: { aws: Array<Record<string, any>> };
  resource?: Record<string, Record<string, Record<string, any>>>;
  data?: Record<string, Record<string, Record<string, any>>>;
  output?: Record<string, { value: unknown }>;
};

export interface Synthesized {
  outdir: string;
  envs: Environment[];
  /** Stack name → its Terraform JSON. */
  stacks: Map<string, TerraformJson>;
  /** Stack name → the raw JSON text (for whole-text scans). */
  texts: Map<string, string>;
}

export function synthesizeAll(envs: Environment[] = loadEnvironments("environments", undefined)): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "authplane-synth-"));
  const names = synthesize(envs, { outdir });
  const texts = new Map(names.map((name) => [name, readFileSync(join(outdir, "stacks", name, "cdk.tf.json"), "utf8")]));
  const stacks = new Map([...texts].map(([name, text]) => [name, JSON.parse(text) as TerraformJson]));
  return { outdir, envs, stacks, texts };
}

/** Every resource of `type` in a stack (name → config). */
// `any[]`: tests index into what they just filtered; a missing element fails the assertion that reads it.
export function resources(stack: Pick<TerraformJson, "resource"> | undefined, type: string): any[] {
  return Object.values(stack?.resource?.[type] ?? {});
}

/** Fetch a stack or fail with the names that exist. */
export function stackOf(s: Synthesized, name: string): TerraformJson {
  const stack = s.stacks.get(name);
  if (!stack) throw new Error(`no stack ${name}; synthesized: ${[...s.stacks.keys()].join(", ")}`);
  return stack;
}

/** Constructs synthesized on their own: `build` fills a bare stack that has only an AWS provider. */
export function synthesizeConstruct(build: (stack: TerraformStack) => void): Record<string, any> {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

/** A directory LambdaBundle accepts: an `index.mjs` whose handler answers `result`. */
export function stubBundleDir(result: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "authplane-stub-bundle-"));
  writeFileSync(join(dir, "index.mjs"), `export const handler = async () => (${JSON.stringify(result)});\n`);
  return dir;
}
