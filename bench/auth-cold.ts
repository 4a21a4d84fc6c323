/**
 * Cold start of the auth Lambda: our bundle (minified, split into lazy chunks, heavy
 * dependencies loaded on first use) against a naive single-file esbuild bundle of the same
 * entry, both built and measured in this run. Prints one JSON line.
 *
 *   npm run bench:auth-cold [-- --runs 9]
 *
 * import_ms: a fresh `node` process importing the bundle (median over runs).
 * init_ms:   import + building the Hono app from a config (no database or network touched),
 *            i.e. everything a cold start does before its first query.
 */
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { buildFunction, FUNCTIONS } from "../functions/build.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "9" } } });
const runs = Number(values.runs);
const out = join(process.cwd(), ".tmp", "bench", "auth-cold");

function sizes(dir: string): { raw: number; gzip: number; entry_raw: number } {
  let raw = 0;
  let gzip = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) continue;
    const data = readFileSync(p);
    raw += data.length;
    gzip += gzipSync(data).length;
  }
  return { raw, gzip, entry_raw: statSync(join(dir, "index.mjs")).size };
}

const PROBE = (url: string) => `
const t0 = performance.now();
const mod = await import(${JSON.stringify(url)});
const t1 = performance.now();
await mod.__benchInit?.();
const t2 = performance.now();
console.log(JSON.stringify({ import_ms: t1 - t0, init_ms: t2 - t0 }));
process.exit(0);`;

function measure(dir: string): { import_ms: number; init_ms: number } {
  const url = pathToFileURL(join(dir, "index.mjs")).href;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", PROBE(url)], {
    env: { ...process.env, AUTHPLANE_BENCH_INIT: "1" },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ours = await buildFunction("auth", join(out, "ours"));
const naiveDir = join(out, "naive");
await build({
  entryPoints: { index: FUNCTIONS.auth.entry },
  outdir: naiveDir,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  outExtension: { ".js": ".mjs" },
  external: ["@aws-sdk/*"],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: "error",
});

const samples = { ours: [] as { import_ms: number; init_ms: number }[], naive: [] as { import_ms: number; init_ms: number }[] };
measure(ours.outdir); // warm the OS page cache for both before timing
measure(naiveDir);
for (let i = 0; i < runs; i++) {
  // Alternate so drift on a shared machine hits both equally.
  samples.ours.push(measure(ours.outdir));
  samples.naive.push(measure(naiveDir));
}
const pick = (s: typeof samples.ours, k: "import_ms" | "init_ms") => Math.round(median(s.map((x) => x[k])) * 10) / 10;
const result = {
  runs,
  ours: { ...sizes(ours.outdir), import_ms: pick(samples.ours, "import_ms"), init_ms: pick(samples.ours, "init_ms") },
  naive: { ...sizes(naiveDir), import_ms: pick(samples.naive, "import_ms"), init_ms: pick(samples.naive, "init_ms") },
  ratio_import: 0,
  ratio_init: 0,
};
result.ratio_import = Math.round((result.ours.import_ms / result.naive.import_ms) * 100) / 100;
result.ratio_init = Math.round((result.ours.init_ms / result.naive.init_ms) * 100) / 100;
console.log(JSON.stringify(result));
