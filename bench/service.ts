/**
 * `npm run bench:service`: the auth service's hot read paths against a floor built in the same
 * run. Prints one JSON line last:
 *
 *   {"results":[{"endpoint":"token","c":8,"rps":n,"floor_rps":n,"real_over_floor":n,"p50_ms":n,
 *                "p99_ms":n,"floor_p99_ms":n,"queries":n,"cpu_ms":n,"floor_cpu_ms":n,"errors":n}, …], "token_mint_cpu_ms":n, …}
 *
 * real:  functions/auth/server.ts (the node adapter) on an embedded PostgreSQL with a migrated
 *        schema, a signed-in user with an active app (organization + role + membership).
 * floor: bench/service-target.ts's bare Hono app running the fixed query set the endpoints sent
 *        before issue 12 (FLOOR_SQL), plus one node:crypto RS256 sign for /token.
 * Both run in their own child process; rounds interleave real and floor per cell, and each
 * cell's figure is the median over rounds. `queries` is the real service's per request;
 * `cpu_ms` / `floor_cpu_ms` each target process's CPU (all threads) per request, which a shared
 * machine's load disturbs far less than rps.
 * token_mint_cpu_ms: process CPU (all threads) per /token signature on the service's signing
 * path (key held in memory), beside `seed_mint_cpu_ms`: the path it replaced (fetch-free
 * decrypt + import + WebCrypto sign, as Better Auth's jwt plugin does per token) and
 * `raw_sign_cpu_ms`, a bare async RSA-2048 crypto.sign (the floor of any RS256 signer). Each
 * has a `*_main_thread_cpu_ms` twin: the event loop's share alone (the async sign's OpenSSL work
 * runs on libuv's pool, so process CPU counts it but the loop does not wait for it).
 *
 *   npm run bench:service [-- --rounds 3 --duration 2.5]
 *
 * Loopback only; every child is ended when the run ends. A benchmark, not a test.
 */
import autocannon from "autocannon";
import { fork, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { configFromEnv, type Env } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { createDatabase, freePort, startPostgresChild } from "../test/support/postgres.js";
import { measureMintCpu } from "./mint-cpu.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "2.5" },
    profile: { type: "string" },
    endpoints: { type: "string", default: "get-session,token,jwks" },
    concurrency: { type: "string", default: "1,8,32" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run bench:service [-- --rounds 3 --duration 2.5]\nLoad-tests get-session, token and jwks at c=1,8,32 against a fixed floor; prints one JSON line.\n--profile DIR writes a V8 CPU profile of the real service to DIR.\n--endpoints token --concurrency 8 limits the run to those cells (profiling one path).");
  process.exit(0);
}
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const ALL_ENDPOINTS = ["get-session", "token", "jwks"] as const;
// Subsets are for profiling one path (--profile); the reported run is every endpoint at 1, 8, 32.
const ENDPOINTS = values.endpoints.split(",").map((e) => {
  if (!(ALL_ENDPOINTS as readonly string[]).includes(e)) throw new Error(`--endpoints: unknown endpoint ${e} (${ALL_ENDPOINTS.join(", ")})`);
  return e as (typeof ALL_ENDPOINTS)[number];
});
const CONCURRENCY = values.concurrency.split(",").map(Number);

const children: ChildProcess[] = [];
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

function firstJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${what} exited early (code ${code})`);
  });
  const line = once(createInterface({ input: child.stdout! }), "line").then(([l]) => JSON.parse(l as string) as T);
  exited.catch(() => {});
  return Promise.race([line, exited]);
}

interface Target {
  url: string;
  child: ChildProcess;
  queries(): Promise<{ queries: number; captured: string[]; cpuMs: number }>;
}

async function startTarget(target: "real" | "floor", env: Env): Promise<Target> {
  const child = fork(here("./service-target.ts"), [], {
    execArgv: ["--import", "tsx", ...(target === "real" && values.profile ? ["--cpu-prof", "--cpu-prof-dir", values.profile] : [])],
    env: { ...process.env, ...env, BENCH_TARGET: target },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  children.push(child);
  const { url } = await firstJsonLine<{ url: string }>(child, `${target} target`);
  return {
    url,
    child,
    queries: () =>
      new Promise((resolve) => {
        child.once("message", (m) => resolve(m as { queries: number; captured: string[]; cpuMs: number }));
        child.send({ type: "count" });
      }),
  };
}

function stopAll(): void {
  for (const c of children) {
    if (c.exitCode !== null) continue;
    if (c.connected) c.disconnect();
    c.stdin?.end(); // the PostgreSQL child stops its server when stdin closes
    c.kill("SIGTERM");
  }
}
process.on("exit", stopAll);

interface Cell {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

async function load(url: string, cookie: string, connections: number, duration: number): Promise<Cell> {
  const result = await autocannon({ url, connections, duration, headers: { cookie }, pipelining: 1 });
  const errors = result.errors + result.timeouts + result.non2xx;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors, requests: result.requests.total };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (n: number) => Math.round(n * 100) / 100;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

async function main(): Promise<void> {
  const postgres = await startPostgresChild();
  if (postgres.child) children.push(postgres.child);
  const databaseUrl = await createDatabase(postgres.adminUrl, "bench_service");
  const port = await freePort();
  const self = `http://127.0.0.1:${port}`;
  // Production-shaped: the service's own host plus an app's (the proxy pattern), so the base
  // URL is the dynamic one a multi-app deployment runs with.
  const env: Env = {
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_URL: self,
    BETTER_AUTH_SECRET: "bench-secret-0123456789abcdef0123456789abcdef",
    TRUSTED_ORIGINS: `${self},http://app.localhost:${port}`,
    PASSKEY_RP_ID: "localhost",
    ALLOWED_RP_IDS: "localhost,127.0.0.1",
    JWT_AUDIENCE: "bench",
    EMAIL_PASSWORD_ENABLED: "true",
    // The limiter runs as in production; the ceiling is only raised so it never answers 429.
    RATE_LIMIT_MAX: "1000000000",
    BENCH_PORT: String(port),
  };
  await migrate(configFromEnv(env));

  const real = await startTarget("real", env);
  // Sign a user in, put them in an app with a role, make it their active app.
  const signUp = await fetch(`${real.url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: self },
    body: JSON.stringify({ email: "bench@example.org", name: "Bench", password: "correct horse battery staple" }),
  });
  if (!signUp.ok) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
  const cookie = signUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const { user } = (await signUp.json()) as { user: { id: string } };
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  await db.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ('org_bench', 'Hiring', 'hiring', now())`);
  await db.query(
    `INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt", "updatedAt") VALUES ('role_bench', 'org_bench', 'recruiter', $1, now(), now())`,
    [JSON.stringify({ candidate: ["read", "update"], job: ["read"] })],
  );
  await db.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('member_bench', 'org_bench', $1, 'recruiter', now())`, [user.id]);
  await db.end();
  const active = await fetch(`${real.url}/api/auth/organization/set-active`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: self, cookie },
    body: JSON.stringify({ organizationId: "org_bench" }),
  });
  if (!active.ok) throw new Error(`set-active failed: ${active.status} ${await active.text()}`);
  const token = await fetch(`${real.url}/api/auth/token`, { headers: { cookie } });
  const claims = JSON.parse(Buffer.from(((await token.json()) as { token: string }).token.split(".")[1]!, "base64url").toString());
  if (claims.org_slug !== "hiring") throw new Error(`token carries no active app: ${JSON.stringify(claims)}`);

  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const floor = await startTarget("floor", { DATABASE_URL: databaseUrl, BENCH_FLOOR_JWK: JSON.stringify(privateKey.export({ format: "jwk" })) });

  if (process.env.BENCH_CAPTURE === "1") {
    // One request per endpoint with the SQL each sends: how FLOOR_SQL was taken from the seed.
    for (const endpoint of ENDPOINTS) {
      await real.queries();
      await fetch(`${real.url}/api/auth/${endpoint}`, { headers: { cookie } });
      console.error(JSON.stringify({ endpoint, sql: (await real.queries()).captured }, null, 1));
    }
  }

  // Warm both (JIT, pools, key caches) before anything is recorded.
  for (const endpoint of ENDPOINTS) {
    await load(`${real.url}/api/auth/${endpoint}`, cookie, 8, 1);
    await load(`${floor.url}/api/auth/${endpoint}`, cookie, 8, 1);
  }

  const cells = new Map<string, { real: Cell[]; floor: Cell[]; queries: number[]; cpu: number[]; floorCpu: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const endpoint of ENDPOINTS) {
      for (const c of CONCURRENCY) {
        const key = `${endpoint}@${c}`;
        const cell = cells.get(key) ?? { real: [], floor: [], queries: [], cpu: [], floorCpu: [] };
        cells.set(key, cell);
        // Alternate which goes first so drift on a shared machine hits both alike.
        const order = round % 2 === 0 ? (["real", "floor"] as const) : (["floor", "real"] as const);
        for (const side of order) {
          const target = side === "real" ? real : floor;
          const before = await target.queries();
          const r = await load(`${target.url}/api/auth/${endpoint}`, cookie, c, DURATION);
          const after = await target.queries();
          // CPU per request of the target process alone: steadier than rps on a shared machine.
          const cpu = r.requests ? (after.cpuMs - before.cpuMs) / r.requests : 0;
          if (side === "real") {
            cell.real.push(r);
            cell.queries.push(r.requests ? (after.queries - before.queries) / r.requests : 0);
            cell.cpu.push(cpu);
          } else {
            cell.floor.push(r);
            cell.floorCpu.push(cpu);
          }
        }
      }
    }
  }

  const results = [...cells].map(([key, cell]) => {
    const [endpoint, c] = key.split("@");
    const rps = median(cell.real.map((r) => r.rps));
    const floorRps = median(cell.floor.map((r) => r.rps));
    return {
      endpoint,
      c: Number(c),
      rps: Math.round(rps),
      floor_rps: Math.round(floorRps),
      real_over_floor: round2(rps / floorRps),
      p50_ms: median(cell.real.map((r) => r.p50)),
      p99_ms: median(cell.real.map((r) => r.p99)),
      floor_p99_ms: median(cell.floor.map((r) => r.p99)),
      queries: round2(median(cell.queries)),
      cpu_ms: round3(median(cell.cpu)),
      floor_cpu_ms: round3(median(cell.floorCpu)),
      errors: cell.real.reduce((n, r) => n + r.errors, 0),
    };
  });
  const mint = await measureMintCpu();
  stopAll();
  console.log(JSON.stringify({ rounds: ROUNDS, duration_s: DURATION, results, token_mint_cpu_ms: mint.ours.all, token_mint_main_thread_cpu_ms: mint.ours.main, seed_mint_cpu_ms: mint.seed.all, seed_mint_main_thread_cpu_ms: mint.seed.main, raw_sign_cpu_ms: mint.raw.all, raw_sign_main_thread_cpu_ms: mint.raw.main }));
}

main()
  .catch((err: Error) => {
    console.error(`bench:service failed: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    stopAll();
    // autocannon and pg leave handles behind; the line is printed, end here.
    setTimeout(() => process.exit(), 500).unref();
  });
