/** Synthesize environments in-process (no CLI) and read back each stack's Terraform JSON. */
import { mkdtempSync, readFileSync } from "node:fs";
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
export function resources(stack: TerraformJson | undefined, type: string): any[] {
  return Object.values(stack?.resource?.[type] ?? {});
}

/** Fetch a stack or fail with the names that exist. */
export function stackOf(s: Synthesized, name: string): TerraformJson {
  const stack = s.stacks.get(name);
  if (!stack) throw new Error(`no stack ${name}; synthesized: ${[...s.stacks.keys()].join(", ")}`);
  return stack;
}
