/**
 * Creates and updates Better Auth's tables (core + every plugin we enable) with Better Auth's
 * own programmatic migrator, then authplane's own tables (own-tables.ts). Run it at deploy
 * time, before traffic reaches a new version (`make migrate` locally, the `migrate` Lambda event
 * in AWS); the Lambda itself never checks or changes the schema on a cold start.
 *
 *   npm run migrate                      # DATABASE_URL, or DB_* (+ DB_SECRET_ARN), or the make dev database
 *   npm run migrate -- --dry-run         # prints the SQL it would run
 *
 * Only the database is needed: the schema does not depend on URLs, origins or secrets, so the
 * Better Auth options are built from a schema-only config (placeholders that never sign or
 * serve anything).
 */
import { getMigrations } from "better-auth/db/migration";
import { existsSync, readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { recordAudit } from "./audit.js";
import { authOptions, createPool } from "./auth.js";
import { parseConfig, type AuthConfig, type Env } from "./config.js";
import { OWN_TABLES } from "./own-tables.js";
import { fetchSecretEnv } from "./secrets.js";
import { grantServiceRole, serviceRoleStatements } from "./service-role.js";

export interface MigrationResult {
  created: string[];
  altered: string[];
  sql: string;
}

/**
 * A config that yields the same schema as any real one for this database. Placeholders only:
 * the "secret" below is public and nothing built from this config serves requests.
 */
export function schemaConfig(database: AuthConfig["database"]): AuthConfig {
  return parseConfig({
    baseURL: "http://localhost",
    trustedOrigins: ["http://localhost"],
    passkey: {},
    allowedRpIds: ["localhost"],
    jwt: { issuer: "authplane-schema-only", audience: "authplane-schema-only" },
    database,
    secrets: [{ version: 1, value: "schema-only-placeholder-not-a-secret-0000" }],
    validateSchema: false,
  });
}

export interface MigrateOptions {
  dryRun?: boolean;
  /** Who ran it, for the audit trail. @default "ops:<user>@<host>" */
  actor?: string;
}

/** Bring the database up to the schema this build expects; a second run changes nothing. */
export async function migrate(config: AuthConfig, { dryRun = false, actor }: MigrateOptions = {}): Promise<MigrationResult> {
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
    else {
      for (const statement of OWN_TABLES) await pool.query(statement);
      if (result.created.length || result.altered.length) {
        await recordAudit(pool, { action: "migrate.schema", actor: actor ?? defaultActor(), outcome: "success", detail: { created: result.created, altered: result.altered } });
      }
    }
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

function defaultActor(): string {
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) return `lambda:${process.env.AWS_LAMBDA_FUNCTION_NAME}`;
  let user = process.env.USER ?? "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `ops:${process.env.AUTHPLANE_OPERATOR ?? `${user}@${hostname()}`}`;
}

/** The database only: DATABASE_URL, DB_* (password from DB_SECRET_ARN when set), or `make dev`'s. */
export async function databaseFromEnv(env: Env, cwd = process.cwd()): Promise<{ database: AuthConfig["database"]; source: string }> {
  if (env.DATABASE_URL) return { database: { connectionString: env.DATABASE_URL }, source: "DATABASE_URL" };
  if (env.DB_HOST) {
    const secret = env.DB_SECRET_ARN ? await fetchSecretEnv({ DB_SECRET_ARN: env.DB_SECRET_ARN }) : {};
    const e = { ...env, ...secret };
    return {
      database: {
        host: e.DB_HOST!,
        port: e.DB_PORT ? Number(e.DB_PORT) : 5432,
        database: e.DB_NAME ?? "",
        user: e.DB_USER ?? "",
        password: e.DB_PASSWORD ?? "",
        ssl: e.DB_SSL === undefined || e.DB_SSL === "" ? true : /^(1|true|yes|on)$/i.test(e.DB_SSL),
      },
      source: env.DB_SECRET_ARN ? "DB_HOST/DB_NAME + DB_SECRET_ARN" : "DB_HOST/DB_NAME/DB_USER/DB_PASSWORD",
    };
  }
  const marker = join(cwd, ".dev", "database-url");
  if (existsSync(marker)) return { database: { connectionString: readFileSync(marker, "utf8").trim() }, source: `${marker} (make dev)` };
  throw new Error("no database: set DATABASE_URL (or DB_HOST, DB_NAME and DB_SECRET_ARN), or start `make dev` (which writes .dev/database-url)");
}

/**
 * The migrate function's config (functions/auth/lambda.ts): the database and the service role to
 * grant (DB_SERVICE_ROLE), nothing else. Its environment carries no Better Auth secret, and its
 * role cannot read one: migrations need only the database.
 */
export async function migrateConfigFromEnv(env: Env): Promise<AuthConfig> {
  const { database } = await databaseFromEnv(env);
  return { ...schemaConfig(database), databaseServiceRole: env.DB_SERVICE_ROLE || undefined };
}

const USAGE = `usage: npm run migrate [-- --dry-run]
Creates/updates Better Auth's and authplane's tables. Needs only the database:
DATABASE_URL, or DB_HOST/DB_NAME with DB_SECRET_ARN (or DB_USER/DB_PASSWORD), or the make dev database (.dev/database-url).`;

async function main(): Promise<void> {
  let values: { "dry-run"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ strict: true, options: { "dry-run": { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) return void console.log(USAGE);
  const { database, source } = await databaseFromEnv(process.env);
  console.error(`database: ${"connectionString" in database ? redact(database.connectionString) : `${database.host}:${database.port}/${database.database}`} (from ${source})`);
  const result = await migrate(schemaConfig(database), { dryRun: values["dry-run"] });
  if (values["dry-run"]) console.log(result.sql || "-- schema is up to date");
  console.error(
    result.created.length || result.altered.length
      ? `${values["dry-run"] ? "would create" : "created"}: ${result.created.join(", ") || "-"}; ${values["dry-run"] ? "would alter" : "altered"}: ${result.altered.join(", ") || "-"}`
      : "schema is up to date",
  );
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return "(unparseable URL)";
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    const e = err as Error & { code?: string; errors?: Error[] };
    // pg's connection errors (ECONNREFUSED through an AggregateError) carry no message of their own.
    const reason = e.message || e.errors?.map((x) => x.message).join("; ") || e.code || e.name;
    console.error(`migrate: ${reason}`);
    process.exit(1);
  });
}
