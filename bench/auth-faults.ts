/**
 * `npm run bench:auth-faults`: the auth service under a bounded load of get-session and token
 * requests from real signed-in sessions while its PostgreSQL is shut down (fast, as
 * `pg_ctl restart -m fast`: clients get 57P01) and started again. Prints one JSON line last:
 *
 *   {"requests","rps","p99_ms","status":{"200":n,"503":n,…},"crashes","recovery_ms","sessions_lost",…}
 *
 * The service is functions/auth/server.ts (the node adapter) in a child process, so a crash is
 * seen (and counted, and the server started again so the run goes on); PostgreSQL is an
 * embedded server of its own (test/support/restartable-postgres.ts). recovery_ms: from the
 * moment PostgreSQL accepts connections again to the first success of a request started after
 * it. sessions_lost: sessions that no longer read as signed in after the run.
 *
 *   npm run bench:auth-faults [-- --duration 8 --concurrency 8 --restarts 1 --users 20]
 *
 * Loopback only, bounded in requests (--max-requests) and time; every child is ended at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { configFromEnv, type Env } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { createDatabase, freePort } from "../test/support/postgres.js";
import { startRestartablePostgres } from "../test/support/restartable-postgres.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    concurrency: { type: "string", default: "8" },
    restarts: { type: "string", default: "1" },
    "down-ms": { type: "string", default: "1500" },
    users: { type: "string", default: "20" },
    "max-requests": { type: "string", default: "200000" },
    paths: { type: "string", default: "get-session,token" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: npm run bench:auth-faults [-- --duration 8 --concurrency 8 --restarts 1 --down-ms 1500 --users 20 --max-requests 200000]\n" +
      "Loads get-session and token on the node server while PostgreSQL restarts; prints one JSON line.",
  );
  process.exit(0);
}
const DURATION_MS = Number(values.duration) * 1000;
const CONCURRENCY = Number(values.concurrency);
const RESTARTS = Number(values.restarts);
const DOWN_MS = Number(values["down-ms"]);
const USERS = Number(values.users);
const MAX_REQUESTS = Number(values["max-requests"]);
const PATHS = values.paths.split(",");

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pg = await startRestartablePostgres();
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const env: Env = {
  DATABASE_URL: await createDatabase(pg.adminUrl, "faults"),
  BETTER_AUTH_URL: url,
  BETTER_AUTH_SECRET: "bench-faults-secret-0123456789abcdef0123456789",
  TRUSTED_ORIGINS: "https://app.authplane.test",
  PASSKEY_RP_ID: "authplane.test",
  ALLOWED_RP_IDS: "authplane.test",
  JWT_AUDIENCE: "bench",
  EMAIL_PASSWORD_ENABLED: "true",
  // One loopback client signs up every user; the limits are not what is measured here.
  RATE_LIMIT_ENABLED: "false",
};
await migrate(configFromEnv(env));

let crashes = 0;
let stopping = false;
let server: ChildProcess | undefined;
let lastStderr = "";
/** The service's own log lines for 5xx other than 503: each one is a bug to look at. */
const unexpected: string[] = [];

async function startServer(): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", here("../functions/auth/server.ts")], {
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  server = child;
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.includes('"server_error"') && !line.includes('"status":503')) unexpected.push(line);
      lastStderr = (lastStderr + chunk.toString()).slice(-4000);
      if (lastStderr.includes("listening on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`auth server exited before listening (code ${code}): ${lastStderr}`)));
  });
  child.once("exit", (code, signal) => {
    if (stopping) return;
    crashes++;
    process.stderr.write(`auth server crashed (code ${code}, signal ${signal}); last output:\n${lastStderr}\n`);
    void startServer().catch((err: Error) => process.stderr.write(`${err.message}\n`));
  });
  await ready;
  lastStderr = "";
}
await startServer();

// Real sessions: bearer tokens from native sign-ups (the bearer plugin reads them like cookies).
const tokens: string[] = [];
for (let i = 0; i < USERS; i++) {
  const res = await fetch(`${url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-authplane-client": "native", origin: url },
    body: JSON.stringify({ email: `fault${i}@example.org`, name: `fault${i}`, password: "correct horse battery staple" }),
  });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  tokens.push(((await res.json()) as { token: string }).token);
}

const status: Record<string, number> = {};
const latencies: number[] = [];
const successesAfter: number[] = [];
let requests = 0;
let running = true;

async function one(i: number): Promise<void> {
  const path = PATHS[i % PATHS.length]!;
  const startedAt = performance.now();
  let code: string;
  try {
    const res = await fetch(`${url}/api/auth/${path}`, { headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } });
    const body = await res.text();
    code = String(res.status);
    // A 200 must be a real answer; `null` for a valid session is "signed out", i.e. lost.
    if (res.status === 200 && (body === "null" || body === "")) code = "200_signed_out";
    if (res.status === 200) successesAfter.push(startedAt);
  } catch {
    code = "connection_error";
  }
  latencies.push(performance.now() - startedAt);
  status[code] = (status[code] ?? 0) + 1;
}

const began = performance.now();
const load = Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (running && requests < MAX_REQUESTS && performance.now() - began < DURATION_MS) await one(requests++);
  }),
);

// Restarts spread over the middle of the run; recovery measured from "accepting connections".
const recoveries: number[] = [];
for (let r = 0; r < RESTARTS; r++) {
  await sleep(Math.max(0, ((r + 1) * DURATION_MS) / (RESTARTS + 1) - DOWN_MS / 2 - (performance.now() - began)));
  await pg.stop();
  await sleep(DOWN_MS);
  await pg.start();
  const upAt = performance.now();
  while (running && performance.now() - began < DURATION_MS + 10_000) {
    const first = successesAfter.find((t) => t >= upAt);
    if (first !== undefined) {
      recoveries.push(first - upAt);
      break;
    }
    await sleep(5);
  }
}
await load;
running = false;
const elapsed = (performance.now() - began) / 1000;

let sessionsLost = 0;
for (const token of tokens) {
  const res = await fetch(`${url}/api/auth/get-session`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
  const body = res?.status === 200 ? ((await res.json()) as { user?: unknown } | null) : null;
  if (!body?.user) sessionsLost++;
}

stopping = true;
if (server && server.exitCode === null) {
  const exited = once(server, "exit");
  server.kill("SIGTERM");
  await exited;
}
await pg.close();

if (unexpected.length) process.stderr.write(`unexpected 5xx logged by the service:\n${[...new Set(unexpected)].slice(0, 10).join("\n")}\n`);
latencies.sort((a, b) => a - b);
const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
console.log(
  JSON.stringify({
    requests,
    rps: Math.round(requests / elapsed),
    p99_ms: Math.round(p99 * 10) / 10,
    status,
    crashes,
    recovery_ms: recoveries.length === RESTARTS ? Math.round(Math.max(...recoveries)) : null,
    sessions_lost: sessionsLost,
    restarts: RESTARTS,
    down_ms: DOWN_MS,
    concurrency: CONCURRENCY,
  }),
);
process.exit(0);
