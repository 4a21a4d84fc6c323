/**
 * Move users from a Supabase project into authplane (Better Auth's tables).
 *
 *   pg_dump --schema=auth --data-only "$SUPABASE_DB_URL" > supabase.sql
 *   npm run migrate:supabase -- --dump supabase.sql [--database-url URL] [--dry-run]
 *
 * People are matched by email. Safe to re-run: what is already there is left alone. Prints a
 * JSON report on stdout and progress on stderr.
 */
import pg from "pg";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { migrateSupabase, type MigrationReport } from "./supabase/migrate.js";

const USAGE = `usage: npm run migrate:supabase -- --dump FILE [--database-url URL] [--dry-run] [--batch-size N]

  --dump FILE          plain-SQL pg_dump of the Supabase auth schema (COPY or INSERT form)
  --database-url URL   target authplane database (default: DATABASE_URL); run \`npm run migrate\` on it first
  --dry-run            read, match and count everything, write nothing
  --batch-size N       users per transaction (default 1000)`;

export function summary(r: MigrationReport): string {
  const skipped = Object.entries(r.users_skipped).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why.replace("_", " ")}`);
  return [
    `${r.dry_run ? "dry run, nothing written. " : ""}users: ${r.users_read} read, ${r.users_created} created, ${r.users_already_present} already present` +
      (skipped.length ? `, skipped: ${skipped.join(", ")}` : ""),
    `identities: ${r.identities_read} read, ${r.identities_linked} linked, ${r.identities_already_linked} already linked, ${r.identities_without_user} without a migrated user`,
    `passwords kept (bcrypt, verified at sign-in): ${r.passwords_kept}`,
    r.users_created === 0 && r.identities_linked === 0 && !r.dry_run ? "nothing to do: everything in the dump is already migrated" : "",
  ]
    .filter(Boolean)
    .join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dump: { type: "string" },
      "database-url": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "batch-size": { type: "string", default: "1000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.dump) throw new Error(`--dump is required\n\n${USAGE}`);
  if (!existsSync(values.dump)) throw new Error(`--dump ${values.dump}: no such file`);
  const databaseUrl = values["database-url"] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("no target database: set DATABASE_URL or pass --database-url");
  const batchSize = Number(values["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be a positive integer, got ${values["batch-size"]}`);

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    const report = await migrateSupabase({
      dump: values.dump,
      pool,
      batchSize,
      dryRun: values["dry-run"],
      onProgress: (done, total) => process.stderr.write(`\rusers ${done}/${total}`),
    });
    process.stderr.write("\n");
    console.error(summary(report));
    console.log(JSON.stringify(report));
  } finally {
    await pool.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`migrate:supabase: ${err.message}`);
    process.exit(1);
  });
}
