/**
 * What `validate-stacks.ts` and `test-stacks.ts` share: the offline Terraform environment (one
 * plugin cache, the project's CLI config), running a command chain in a stack directory as a
 * pass/fail result, a worker pool whose first job runs alone, and the scripts' CLI basics.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface TerraformOptions {
  /** Stacks at once. @default the number of CPUs */
  concurrency?: number;
  /** Shared provider plugin cache. @default "<repo>/.tmp/plugin-cache" */
  pluginCacheDir?: string;
  /** Terraform CLI config (provider mirror). @default TF_CLI_CONFIG_FILE when that file exists, else "<repo>/.tmp/terraformrc" */
  cliConfigFile?: string;
  /** Terraform binary. @default "terraform" */
  terraform?: string;
}

export interface StackResult {
  stack: string;
  ok: boolean;
  /** Terraform's own output: diagnostics when it failed. */
  output: string;
}

/** The stack directories cdktf synthesized under `outdir`. */
export function stackDirs(outdir: string): string[] {
  const stacks = join(outdir, "stacks");
  if (!existsSync(stacks)) return [];
  return readdirSync(stacks).sort().map((name) => join(stacks, name)).filter((dir) => existsSync(join(dir, "cdk.tf.json")));
}

export const stackName = (dir: string): string => dir.split("/").at(-1)!;

export interface Terraform {
  /** Run each `terraform` argument list in `cwd` in turn; ok when all succeed and `passed` (if given) matches the last output. */
  chain(stack: string, cwd: string, commands: readonly string[][], passed?: RegExp): Promise<StackResult>;
}

/** The environment of an offline Terraform run: the plugin cache (created) and the project's CLI config (plugin mirror). */
export function terraformEnv(options: Pick<TerraformOptions, "pluginCacheDir" | "cliConfigFile"> = {}): NodeJS.ProcessEnv {
  const cache = options.pluginCacheDir ?? join(root, ".tmp", "plugin-cache");
  mkdirSync(cache, { recursive: true });
  const fromEnv = process.env.TF_CLI_CONFIG_FILE;
  return {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_PLUGIN_CACHE_DIR: cache,
    // Without it, every `init` in a directory with no lock file (every freshly synthesized stack)
    // installs the provider again and replaces the cache entry, remove then create, and a
    // concurrent init that reads the entry in between fails with "provider binary not found".
    // These runs only validate and test; no lock file they write is committed or deployed.
    TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: "true",
    TF_CLI_CONFIG_FILE: options.cliConfigFile ?? (fromEnv && existsSync(fromEnv) ? fromEnv : join(root, ".tmp", "terraformrc")),
  };
}

/** Terraform offline: one plugin cache for every stack, the project's CLI config (plugin mirror). */
export function terraform(options: TerraformOptions = {}): Terraform {
  const env = terraformEnv(options);
  const binary = options.terraform ?? "terraform";
  return {
    async chain(stack, cwd, commands, passed) {
      const opts = { cwd, env, maxBuffer: 64 * 1024 * 1024 };
      try {
        let stdout = "";
        for (const args of commands) ({ stdout } = await run(binary, args, opts));
        return { stack, ok: passed ? passed.test(stdout) : true, output: stdout.trim() };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        return { stack, ok: false, output: `${e.stderr ?? ""}${e.stdout ?? ""}`.trim() || e.message };
      }
    },
  };
}

/** The first error diagnostic of a failed run, for a test failure that fits in one line. */
export function firstError(output: string): string {
  const line = output.split("\n").find((l) => /Error:/.test(l));
  return (line ?? output.split("\n")[0] ?? "").replace(/^[\s│╷╵]+/, "").slice(0, 300);
}

export const INIT = ["init", "-backend=false", "-input=false", "-no-color"];
export const VALIDATE = ["validate", "-no-color"];

/**
 * `job` for every item, `concurrency` at a time, except that the first runs alone: it fills the
 * plugin cache, and Terraform's cache is not safe for concurrent writers (the others only read
 * it, see terraformEnv).
 */
export async function firstAloneThenPool<T, R>(items: readonly T[], concurrency: number | undefined, job: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 0) return [];
  const results: R[] = new Array(items.length);
  results[0] = await job(items[0]!);
  let next = 1;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency ?? availableParallelism()) }, worker));
  return results;
}

/** The scripts' common CLI checks: synthesized stacks exist, `--concurrency` is a positive integer. */
export function stacksAndConcurrency(values: { outdir: string; concurrency?: string }): { dirs: string[]; concurrency: number | undefined } {
  const dirs = stackDirs(values.outdir);
  if (dirs.length === 0) {
    console.error(`no synthesized stacks under ${values.outdir}/stacks: run make synth first`);
    process.exit(1);
  }
  const concurrency = values.concurrency ? Number(values.concurrency) : undefined;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    console.error(`--concurrency: expected a positive whole number, got ${JSON.stringify(values.concurrency)}`);
    process.exit(2);
  }
  return { dirs, concurrency };
}

export function printResults(results: readonly StackResult[]): number {
  for (const r of results) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.stack}${r.ok ? "" : `\n${r.output}`}`);
  return results.filter((r) => !r.ok).length;
}
