/**
 * Supabase migration at scale: generated dumps of 100,000 and 1,000,000 users (COPY form, half
 * with a Google identity, a tenth with a bcrypt password), each migrated twice into a fresh
 * database on an embedded PostgreSQL. Every run is its own process (bench/migrate-child.ts), so
 * peak_rss_mb is the migration's own. Prints one JSON line last.
 *
 *   npm run bench:migrate [-- --users 100000,1000000]
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { configFromEnv } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { createDatabase, startPostgres } from "../test/support/postgres.js";
import { writeSupabaseDump } from "./supabase-dump.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { users: { type: "string", default: "100000,1000000" } }, strict: true });
const sizes = values.users.split(",").map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`--users: comma-separated user counts, got ${values.users}`);

const dir = join(process.cwd(), ".tmp", "bench");
mkdirSync(dir, { recursive: true });

interface ChildResult {
  ms: number;
  pg_cpu_ms: number | null;
  phases_ms: Record<string, number>;
  cpu_ms: number;
  peak_rss_mb: number;
  report: { users_created: number; identities_linked: number };
}

async function migrateInChild(dump: string, url: string): Promise<ChildResult> {
  // The V8 flag the migrate:* npm scripts run with: a 2 MB young generation promotes less
  // short-lived row garbage, so the old generation (and RSS) stays small at a million rows.
  const { stdout } = await run(process.execPath, ["--max-semi-space-size=2", "--import", "tsx", "bench/migrate-child.ts", "--dump", dump, "--database-url", url], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ChildResult;
}

const server = await startPostgres();
const runs: { users: number; first_run_ms: number; second_run_ms: number; peak_rss_mb: number }[] = [];
try {
  for (const users of sizes) {
    const dump = join(dir, `supabase-${users}.sql`);
    if (!existsSync(dump)) await writeSupabaseDump(dump, users);
    const url = await createDatabase(server.adminUrl, "bench_migrate");
    await migrate(configFromEnv({ DATABASE_URL: url, BETTER_AUTH_URL: "http://127.0.0.1:4000", BETTER_AUTH_SECRET: "bench-secret-0123456789abcdef0123456789", TRUSTED_ORIGINS: "https://app.example.org", ALLOWED_RP_IDS: "example.org", JWT_AUDIENCE: "bench" }));
    const first = await migrateInChild(dump, url);
    const second = await migrateInChild(dump, url);
    if (first.report.users_created !== users || second.report.users_created !== 0) throw new Error(`unexpected counts: ${JSON.stringify({ first, second })}`);
    const r = { users, first_run_ms: first.ms, second_run_ms: second.ms, peak_rss_mb: Math.max(first.peak_rss_mb, second.peak_rss_mb) };
    // The machine's load next to each run: wall times on a shared 2-core box mean little without it.
    console.error(JSON.stringify({ ...r, first_run_cpu_ms: first.cpu_ms, second_run_cpu_ms: second.cpu_ms, first_run_pg_cpu_ms: first.pg_cpu_ms, second_run_pg_cpu_ms: second.pg_cpu_ms, first_run_phases_ms: first.phases_ms, second_run_phases_ms: second.phases_ms, identities_linked: first.report.identities_linked, load_avg_1m: loadavg()[0]!.toFixed(1) }));
    runs.push(r);
    rmSync(dump, { force: true });
  }
} finally {
  await server.stop();
}
console.log(JSON.stringify({ runs }));
