/**
 * `make validate`: `terraform init -backend=false && terraform validate` in every synthesized
 * stack directory, offline (TF_CLI_CONFIG_FILE points at the plugin mirror, see
 * scripts/terraformrc.sh), sharing one plugin cache and running a few stacks at a time.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

const run = promisify(execFile);

export interface ValidateOptions {
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
  /** Terraform's own diagnostics when it failed. */
  output: string;
}

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** The stack directories cdktf synthesized under `outdir`. */
export function stackDirs(outdir: string): string[] {
  const stacks = join(outdir, "stacks");
  if (!existsSync(stacks)) return [];
  return readdirSync(stacks).sort().map((name) => join(stacks, name)).filter((dir) => existsSync(join(dir, "cdk.tf.json")));
}

function defaultCliConfig(): string {
  const fromEnv = process.env.TF_CLI_CONFIG_FILE;
  return fromEnv && existsSync(fromEnv) ? fromEnv : join(root, ".tmp", "terraformrc");
}

async function validateOne(dir: string, env: NodeJS.ProcessEnv, terraform: string): Promise<StackResult> {
  const stack = dir.split("/").at(-1)!;
  const opts = { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 };
  try {
    await run(terraform, ["init", "-backend=false", "-input=false", "-no-color"], opts);
    const { stdout } = await run(terraform, ["validate", "-no-color"], opts);
    return { stack, ok: true, output: stdout.trim() };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { stack, ok: false, output: `${e.stderr ?? ""}${e.stdout ?? ""}`.trim() || e.message };
  }
}

/**
 * Validate every stack in `dirs`. The first init fills the plugin cache alone (Terraform's cache
 * is not safe for concurrent writers); the rest then run `concurrency` at a time.
 */
export async function validateStacks(dirs: readonly string[], options: ValidateOptions = {}): Promise<StackResult[]> {
  const cache = options.pluginCacheDir ?? join(root, ".tmp", "plugin-cache");
  mkdirSync(cache, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_PLUGIN_CACHE_DIR: cache,
    TF_CLI_CONFIG_FILE: options.cliConfigFile ?? defaultCliConfig(),
  };
  const terraform = options.terraform ?? "terraform";
  const results: StackResult[] = new Array(dirs.length);
  if (dirs.length === 0) return [];
  results[0] = await validateOne(dirs[0]!, env, terraform);
  let next = 1;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      results[i] = await validateOne(dirs[i]!, env, terraform);
    }
  };
  const width = Math.max(1, options.concurrency ?? availableParallelism());
  await Promise.all(Array.from({ length: width }, worker));
  return results;
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
  const results = await validateStacks(dirs, { concurrency });
  for (const r of results) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.stack}${r.ok ? "" : `\n${r.output}`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed}/${results.length} stacks valid`);
  if (failed > 0) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
