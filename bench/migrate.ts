/**
 * Supabase migration at scale: a generated 100,000-user dump (COPY form, half the users with a
 * Google identity, a tenth with a bcrypt password), migrated twice into a fresh database on an
 * embedded PostgreSQL. Prints one JSON line.
 *
 *   npm run bench:migrate [-- --users 100000]
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { configFromEnv } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { migrateSupabase } from "../ops/supabase/migrate.js";
import { createDatabase, startPostgres } from "../test/support/postgres.js";

const { values } = parseArgs({ options: { users: { type: "string", default: "100000" } } });
const users = Number(values.users);
const HASH = "$2b$10$xF7HGKWioy4ySOVqDWFLn.lGKkYdR1W8y4WgAoBvAYiPOVqZUPmiS";

async function writeDump(file: string): Promise<void> {
  const out = createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  await write("COPY auth.identities (id, user_id, provider, provider_id, identity_data, created_at) FROM stdin;\n");
  for (let i = 0; i < users; i += 2) await write(`i-${i}\tu-${i}\tgoogle\t${1e12 + i}\t{"sub": "${1e12 + i}"}\t2024-01-01 00:00:00+00\n`);
  await write("\\.\n\nCOPY auth.users (id, email, encrypted_password, email_confirmed_at, raw_user_meta_data, created_at, updated_at, deleted_at) FROM stdin;\n");
  for (let i = 0; i < users; i++) {
    const pw = i % 10 === 0 ? HASH : "";
    await write(`u-${i}\tUser${i}@Example.org\t${pw}\t2024-01-01 00:00:00+00\t{"full_name": "User ${i}"}\t2024-01-01 00:00:00+00\t2024-01-01 00:00:00+00\t\\N\n`);
  }
  await write("\\.\n");
  await new Promise<void>((r) => out.end(r));
}

const dir = join(process.cwd(), ".tmp", "bench");
mkdirSync(dir, { recursive: true });
const dump = join(dir, `supabase-${users}.sql`);
await writeDump(dump);

const server = await startPostgres();
try {
  const url = await createDatabase(server.adminUrl, "bench_migrate");
  await migrate(configFromEnv({ DATABASE_URL: url, BETTER_AUTH_URL: "http://127.0.0.1:4000", BETTER_AUTH_SECRET: "bench-secret-0123456789abcdef0123456789", TRUSTED_ORIGINS: "https://app.example.org", ALLOWED_RP_IDS: "example.org", JWT_AUDIENCE: "bench" }));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const t0 = performance.now();
  const first = await migrateSupabase({ dump, pool });
  const t1 = performance.now();
  const second = await migrateSupabase({ dump, pool });
  const t2 = performance.now();
  await pool.end();
  if (first.users_created !== users || second.users_created !== 0) throw new Error(`unexpected counts: ${JSON.stringify({ first, second })}`);
  console.log(
    JSON.stringify({
      users,
      first_run_ms: Math.round(t1 - t0),
      second_run_ms: Math.round(t2 - t1),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      identities_linked: first.identities_linked,
    }),
  );
} finally {
  await server.stop();
}
