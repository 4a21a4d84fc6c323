/**
 * `npm run bench:synth`: synthesize every environment in a fresh child process (what
 * `cdktf synth` pays, minus the CLI) and print one JSON line:
 * { "envs": n, "stacks": n, "wall_ms": n, "peak_rss_mb": n }.
 * wall_ms spans spawn to exit (TypeScript loading included); peak_rss_mb is the child's maxRSS.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface ChildReport {
  envs: number;
  stacks: number;
  maxRssKb: number;
}

const CHILD = "--child";

async function child(outdir: string): Promise<void> {
  const { loadEnvironments } = await import("../infra/environment.js");
  const { synthesize } = await import("../infra/synthesize.js");
  const envs = loadEnvironments(fileURLToPath(new URL("../environments", import.meta.url)), undefined);
  const stacks = synthesize(envs, { outdir });
  const report: ChildReport = { envs: envs.length, stacks: stacks.length, maxRssKb: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function parent(): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), "authplane-bench-synth-"));
  try {
    const started = performance.now();
    const output = await new Promise<string>((resolve, reject) => {
      const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), CHILD, outdir], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      proc.stdout.on("data", (chunk: Buffer) => (out += chunk));
      proc.on("error", reject);
      proc.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`synth child exited with ${code}`))));
    });
    const wallMs = Math.round(performance.now() - started);
    const report = JSON.parse(output.trim().split("\n").at(-1)!) as ChildReport;
    console.log(JSON.stringify({ envs: report.envs, stacks: report.stacks, wall_ms: wallMs, peak_rss_mb: Math.round(report.maxRssKb / 1024) }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD) await child(process.argv[3]!);
else await parent();
