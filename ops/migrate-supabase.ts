/**
 * Move users from a Supabase project into authplane (Better Auth's tables).
 *
 *   pg_dump --schema=auth --data-only "$SUPABASE_DB_URL" > supabase.sql
 *   npm run migrate:supabase -- --dump supabase.sql [--database-url URL] [--dry-run] [--verbose]
 *
 * People are matched by email; several rows of one person are merged and keep every way in.
 * Safe to re-run: what is already there is left alone. Prints progress on stderr (a terminal),
 * a summary on stderr and the JSON report last on stdout.
 */
import { existsSync } from "node:fs";
import { connectDatabase, CliError, isMain, parseCli, resolveDatabase, runCli, UsageError } from "./cli.js";
import { runImport } from "./progress.js";
import { migrateSupabase, type MigrationReport } from "./supabase/migrate.js";

const USAGE = `usage: npm run migrate:supabase -- --dump FILE [--database-url URL] [--dry-run] [--verbose]

  --dump FILE          plain-SQL pg_dump of the Supabase auth schema (COPY or INSERT form)
  --database-url URL   target authplane database (default: DATABASE_URL, else .dev/database-url from make dev);
                       run \`npm run migrate\` on it first
  --dry-run            read, match and count everything, write nothing
  --verbose            list the merged people (their emails) in the report`;

export function summary(r: MigrationReport): string {
  const skipped = Object.entries(r.users_skipped)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why.replace("_", " ")}`);
  return [
    `${r.dry_run ? "dry run, nothing written. " : ""}users: ${r.users_read} read, ${r.users_created} created, ${r.users_already_present} already present` +
      (skipped.length ? `, skipped: ${skipped.join(", ")}` : ""),
    r.merged_groups ? `merged: ${r.users_merged} row(s) into ${r.merged_groups} person(s) with several source rows (same email); each keeps every way in` : "",
    `identities: ${r.identities_read} read, ${r.identities_linked} linked, ${r.identities_already_linked} already linked, ${r.identities_without_user} without a migrated user`,
    `passwords kept (bcrypt, verified at sign-in): ${r.passwords_kept}` +
      (r.password_conflicts ? `; ${r.password_conflicts} person(s) had different hashes on different rows: the most recently signed-in row's was kept` : "") +
      (r.passwords_unconfirmed_dropped ? `; ${r.passwords_unconfirmed_dropped} unconfirmed row(s)' password not merged into a confirmed person` : ""),
    r.users_created === 0 && r.identities_linked === 0 && r.passwords_kept === 0 && !r.dry_run ? "nothing to do: everything in the dump is already migrated" : "",
  ]
    .filter(Boolean)
    .join("\n");
}

export async function main(argv = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<void> {
  const { values } = parseCli(
    argv,
    {
      dump: { type: "string" },
      "database-url": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    USAGE,
  );
  if (values.help) return void console.log(USAGE);
  const dump = values.dump;
  if (!dump) throw new UsageError(`--dump is required\n\n${USAGE}`);
  if (!existsSync(dump)) throw new CliError(`--dump ${values.dump}: no such file`);
  await runImport(connectDatabase(resolveDatabase(values["database-url"], env)), (pool, onProgress) => migrateSupabase({ dump, pool, dryRun: values["dry-run"], verbose: values.verbose, onProgress }), summary);
}

if (isMain(import.meta)) runCli("migrate:supabase", () => main());
