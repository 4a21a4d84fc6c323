/**
 * Move users from a Cognito user pool into authplane (Better Auth's tables).
 *
 *   aws cognito-idp list-users --user-pool-id eu-west-1_XXXX > users.json     # or several pages
 *   npm run migrate:cognito -- --users users.json [more.json users.csv …] [--dry-run] [--verbose]
 *
 * Same rules as migrate:supabase: people by verified email, merged rows keep every way in,
 * safe to re-run. Cognito has no password hashes to export: say so, and people sign in with
 * Google or a passkey, or reset their password.
 */
import { existsSync } from "node:fs";
import { CliError, connectDatabase, isMain, parseCli, resolveDatabase, runCli, UsageError } from "./cli.js";
import { migrateCognito, type CognitoReport } from "./cognito/migrate.js";
import { runImport } from "./progress.js";

const USAGE = `usage: npm run migrate:cognito -- --users FILE [FILE…] [--database-url URL] [--dry-run] [--verbose]

  --users FILE…        pages of \`aws cognito-idp list-users\` (JSON) and/or Cognito CSV exports
                       (header row of attribute names: cognito:username, email, email_verified, identities, …)
  --database-url URL   target authplane database (default: DATABASE_URL, else .dev/database-url from make dev)
  --dry-run            read, match and count everything, write nothing
  --verbose            list the merged people (their emails) in the report

Cognito never exports password hashes: migrated people sign in with Google or a passkey, or reset their password.`;

export function summary(r: CognitoReport): string {
  const skipped = Object.entries(r.users_skipped)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why.replace(/_/g, " ")}`);
  return [
    `${r.dry_run ? "dry run, nothing written. " : ""}users: ${r.users_read} read, ${r.users_created} created, ${r.users_already_present} already present` +
      (skipped.length ? `, skipped: ${skipped.join(", ")}` : ""),
    r.merged_groups ? `merged: ${r.users_merged} row(s) into ${r.merged_groups} person(s) with several Cognito users (same email)` : "",
    `Google identities: ${r.identities_linked} linked, ${r.identities_already_linked} already linked` + (r.identities_unsupported ? `; ${r.identities_unsupported} other federated identit(ies) not linked` : ""),
    r.passwords,
  ]
    .filter(Boolean)
    .join("\n");
}

export async function main(argv = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<void> {
  const { values, positionals } = parseCli(
    argv,
    {
      users: { type: "string", multiple: true },
      "database-url": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    USAGE,
    true,
  );
  if (values.help) return void console.log(USAGE);
  // `--users a.json b.json` (the files after the flag) as well as `--users a --users b`.
  const files = [...(values.users ?? []), ...positionals];
  if (!values.users?.length) throw new UsageError(`--users is required\n\n${USAGE}`);
  for (const f of files) if (!existsSync(f)) throw new CliError(`--users ${f}: no such file`);
  await runImport(connectDatabase(resolveDatabase(values["database-url"], env)), (pool, onProgress) => migrateCognito({ files, pool, dryRun: values["dry-run"], verbose: values.verbose, onProgress }), summary);
}

if (isMain(import.meta)) runCli("migrate:cognito", () => main(), (err) => err.name === "CognitoInputError");
