/**
 * Build and synthesize the stacks of the given environments into `outdir` (cdktf's layout:
 * <outdir>/stacks/<stack>/cdk.tf.json). main.ts, the tests, the benchmark and `make validate`
 * all go through here, so what they check is what `cdktf synth` writes.
 */
import { App } from "cdktf";
import { environmentStacks } from "../stacks/index.js";
import type { Environment } from "./environment.js";

export interface SynthOptions {
  /** Output directory. @default cdktf's (CDKTF_OUTDIR from the CLI, else "cdktf.out") */
  outdir?: string;
}

/** Synthesizes every stack of `envs`; returns the stack names in creation order. */
export function synthesize(envs: readonly Environment[], options: SynthOptions = {}): string[] {
  const app = new App({ outdir: options.outdir });
  const stacks = envs.flatMap((env) => Object.values(environmentStacks(app, env)).map((s) => s.stack.node.id));
  app.synth();
  return stacks;
}
