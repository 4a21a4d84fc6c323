/**
 * The service's own database role: the migrate function (as master) creates it with exactly the
 * row privileges Better Auth needs; the service then signs up, signs in and mints a token as
 * that role, and cannot change the schema.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { createAuth, createPool } from "../../../functions/auth/auth.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { recordAudit, writeAudit } from "../../../functions/auth/audit.js";
import { readRevocationFeed, recordRevocation } from "../../../functions/auth/revocations.js";
import { NARROWER_GRANTS, serviceRoleStatements } from "../../../functions/auth/service-role.js";
import { APP_ONE, Browser, testEnv, type Service } from "./harness.js";

// Roles are server-wide and test files share one server: a name of this file's own.
const role = `svc_${randomBytes(4).toString("hex")}`;
const password = randomBytes(12).toString("hex");
let masterUrl: string;
let service: Service;
let admin: pg.Client;

beforeAll(async () => {
  const env = await testEnv("svcrole", { DB_SERVICE_ROLE: role });
  masterUrl = env.DATABASE_URL!;
  const masterConfig = configFromEnv(env);
  await migrate(masterConfig);
  // Locally there is no rds_iam: give the role a password for the test only.
  admin = new pg.Client({ connectionString: masterUrl });
  await admin.connect();
  await admin.query(`ALTER ROLE "${role}" PASSWORD '${password}'`);
  const asRole = new URL(masterUrl);
  asRole.username = role;
  asRole.password = password;
  const config = configFromEnv({ ...env, DATABASE_URL: asRole.toString(), DB_SERVICE_ROLE: "" });
  const pool = createPool(config);
  const auth = createAuth(config, { pool });
  service = { config, auth, app: createApp(config, { auth }), pool, close: () => pool.end() };
});

afterAll(async () => {
  await service?.close();
  await admin?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await admin?.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => {});
  await admin?.end();
});

describe("the service's own database role", () => {
  it("signs up, signs in and mints a token with only the privileges migrate granted", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("role@example.org");
    expect(user.email).toBe("role@example.org");
    const session = await browser.json("/api/auth/get-session");
    expect(session.user.id).toBe(user.id);
    const { token } = await browser.json<{ token: string }>("/api/auth/token");
    expect(token.split(".")).toHaveLength(3);
  });

  it("cannot change the schema, truncate or read outside the public tables", async () => {
    const client = new pg.Client({ connectionString: service.config.database && "connectionString" in service.config.database ? service.config.database.connectionString : "" });
    await client.connect();
    try {
      await expect(client.query("CREATE TABLE sneaky (id int)")).rejects.toThrow(/permission denied/);
      await expect(client.query('DROP TABLE "user"')).rejects.toThrow(/must be owner/);
      await expect(client.query('ALTER TABLE "user" ADD COLUMN x int')).rejects.toThrow(/must be owner/);
      await expect(client.query('TRUNCATE "session"')).rejects.toThrow(/permission denied/);
      const { rows } = await client.query("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user");
      expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    } finally {
      await client.end();
    }
  });

  it("may append to the audit trail but never read, change or erase it; retention runs as the operator", async () => {
    const client = asServiceRole();
    await client.connect();
    try {
      const action = `role-test-${randomBytes(4).toString("hex")}`;
      expect(await recordAudit(client, { action, actor: "operator@example.org", outcome: "ok" })).toBe(true);
      const { rows } = await admin.query("SELECT id, outcome FROM authplane_audit WHERE action = $1", [action]);
      expect(rows).toEqual([{ id: expect.any(String), outcome: "ok" }]);
      const id = rows[0].id as string;
      await expect(client.query("UPDATE authplane_audit SET outcome = 'forged' WHERE id = $1", [id])).rejects.toThrow(/permission denied for table authplane_audit/);
      await expect(client.query("DELETE FROM authplane_audit WHERE id = $1", [id])).rejects.toThrow(/permission denied for table authplane_audit/);
      await expect(client.query("TRUNCATE authplane_audit")).rejects.toThrow(/permission denied for table authplane_audit/);
      await expect(client.query("SELECT * FROM authplane_audit")).rejects.toThrow(/permission denied for table authplane_audit/);
      // The row is untouched, and the operator (here: the master user) can still prune.
      expect((await admin.query("SELECT outcome FROM authplane_audit WHERE id = $1", [id])).rows).toEqual([{ outcome: "ok" }]);
      expect((await admin.query("DELETE FROM authplane_audit WHERE id = $1", [id])).rowCount).toBe(1);
      await expect(writeAudit(client, { action, outcome: "ok" })).resolves.toBeUndefined();
    } finally {
      await client.end();
    }
  });

  it("keeps the revocation and backoff tables read-write: upsert, prune and read the feed as the role", async () => {
    const client = asServiceRole();
    await client.connect();
    try {
      await recordRevocation(client, "subject", ["role_user"]);
      await recordRevocation(client, "subject", ["role_user"]); // the ON CONFLICT update path
      const { feed } = await readRevocationFeed(client);
      expect(feed.subjects.role_user).toEqual(expect.any(Number));
      await client.query("INSERT INTO authplane_attempt_backoff (key, failures, last_failure_at) VALUES ('k', 1, now()) ON CONFLICT (key) DO UPDATE SET failures = authplane_attempt_backoff.failures + 1");
      await client.query("DELETE FROM authplane_attempt_backoff WHERE key = 'k'");
      await expect(client.query("TRUNCATE authplane_revocation")).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });

  it("re-running migrate (as every deploy does) changes nothing and keeps the grants", async () => {
    const result = await migrate(configFromEnv(await testEnvFor(masterUrl)));
    expect(result.created).toEqual([]);
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n FROM information_schema.role_table_grants WHERE grantee = $1 AND privilege_type IN ('SELECT','INSERT','UPDATE','DELETE')",
      [role],
    );
    const tables = await admin.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    const narrowed = Object.values(NARROWER_GRANTS).reduce((n, privileges) => n + 4 - privileges.length, 0);
    expect(rows[0].n).toBe(tables.rows[0].n * 4 - narrowed);
    const audit = await admin.query("SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = $1 AND table_name = 'authplane_audit'", [role]);
    expect(audit.rows.map((r) => r.privilege_type)).toEqual(["INSERT"]);
  });

  it("the dry run prints the role's statements; a bad role name is refused before any SQL", async () => {
    const dry = await migrate(configFromEnv(await testEnvFor(masterUrl)), { dryRun: true });
    expect(dry.sql).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`);
    expect(dry.sql).toContain(`REVOKE ALL ON TABLE "authplane_audit" FROM "${role}";\nGRANT INSERT ON TABLE "authplane_audit" TO "${role}"`);
    expect(dry.sql).toContain("GRANT rds_iam");
    expect(() => serviceRoleStatements('x"; DROP TABLE "user')).toThrow(/expected a lower-case PostgreSQL role name/);
  });
});

function asServiceRole(): pg.Client {
  return new pg.Client({ connectionString: service.config.database && "connectionString" in service.config.database ? service.config.database.connectionString : "" });
}

async function testEnvFor(url: string) {
  return { ...(await testEnv("svcrole-again")), DATABASE_URL: url, DB_SERVICE_ROLE: role };
}
