/**
 * Creates and updates Better Auth's tables (core + every plugin we enable) with Better Auth's
 * own programmatic migrator. Run it at deploy time, before traffic reaches a new version
 * (`make migrate` locally, the `migrate` Lambda event in AWS); the Lambda itself never checks
 * or changes the schema on a cold start.
 *
 *   npm run migrate                      # uses DATABASE_URL / DB_* (+ *_SECRET_ARN) like the service
 *   npm run migrate -- --dry-run         # prints the SQL it would run
 */
import { getMigrations } from "better-auth/db/migration";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { authOptions, createPool } from "./auth.js";
import { loadConfig, type AuthConfig } from "./config.js";
import { OWN_TABLES } from "./own-tables.js";
import { grantServiceRole, serviceRoleStatements } from "./service-role.js";

export interface MigrationResult {
  created: string[];
  altered: string[];
  sql: string;
}

/** Bring the database up to the schema this build expects; a second run changes nothing. */
export async function migrate(config: AuthConfig, { dryRun = false } = {}): Promise<MigrationResult> {
  const pool = createPool(config);
  try {
    // No Redis client for a schema change: the tables are the same either way.
    const { toBeCreated, toBeAdded, toBeAddedIndexes, runMigrations, compileMigrations } = await getMigrations(
      authOptions({ ...config, redisUrl: undefined }, pool),
    );
    const result = {
      created: toBeCreated.map((t) => t.table),
      altered: toBeAdded.map((t) => t.table),
      sql: await compileMigrations(),
    };
    if (!dryRun && (toBeCreated.length || toBeAdded.length || toBeAddedIndexes.length)) await runMigrations();
    if (dryRun) result.sql += OWN_TABLES.map((s) => `${s};\n`).join("");
    else for (const statement of OWN_TABLES) await pool.query(statement);
    // The service's own login role (DB_SERVICE_ROLE, the migrate function only), after every table exists.
    if (config.databaseServiceRole) {
      if (dryRun) result.sql += serviceRoleStatements(config.databaseServiceRole).map((s) => `${s};\n`).join("");
      else await grantServiceRole(pool, config.databaseServiceRole);
    }
    return result;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { "dry-run": { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    console.log("usage: npm run migrate [-- --dry-run]\nCreates/updates Better Auth's tables in DATABASE_URL (or DB_* + DB_SECRET_ARN).");
    return;
  }
  const result = await migrate(await loadConfig(process.env), { dryRun: values["dry-run"] });
  if (values["dry-run"]) console.log(result.sql || "-- schema is up to date");
  console.error(
    result.created.length || result.altered.length
      ? `${values["dry-run"] ? "would create" : "created"}: ${result.created.join(", ") || "-"}; ${values["dry-run"] ? "would alter" : "altered"}: ${result.altered.join(", ") || "-"}`
      : "schema is up to date",
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`migrate: ${err.message}`);
    process.exit(1);
  });
}
