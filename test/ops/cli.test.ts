import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { resolveDatabase } from "../../ops/cli.js";
import { freshDatabaseUrl } from "../support/database.js";

const exec = promisify(execFile);
const TSX = resolve("node_modules/.bin/tsx");
/** Run an operator CLI the way an operator does, with only the environment given (plus PATH/HOME). */
const cli = (script: string, args: string[], env: Record<string, string> = {}, cwd = process.cwd()) =>
  exec(TSX, [resolve(script), ...args], { cwd, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe("operator CLIs behave", () => {
  it("apps with no command, an unknown command or an unknown flag prints its usage and exits 2", async () => {
    for (const args of [[], ["frobnicate"], ["members", "--ap", "hiring"], ["grant", "--app", "hiring", "--email", "a@example.org"]]) {
      const r = await cli("ops/apps.ts", args, { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: npm run apps -- <command> [options]");
      expect(r.stdout).toBe("");
    }
    const help = await cli("ops/apps.ts", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npm run apps");
  }, 90_000);

  it("an unreachable database is one clear line and exit 1, for every CLI", async () => {
    const env = { DATABASE_URL: "postgres://nobody:secret-pw@127.0.0.1:1/none" };
    for (const [script, args] of [
      ["ops/apps.ts", ["members", "--app", "hiring"]],
      ["ops/audit.ts", []],
      ["ops/migrate-supabase.ts", ["--dump", "test/ops/fixtures/supabase-copy.sql"]],
      ["ops/migrate-cognito.ts", ["--users", "test/ops/fixtures/cognito-users.csv"]],
    ] as const) {
      const r = await cli(script, [...args], env);
      expect(r.code, script).toBe(1);
      expect(r.stderr).toContain("cannot reach the database 127.0.0.1:1/none (from DATABASE_URL)");
      expect(r.stderr).not.toContain("secret-pw");
    }
    const migrate = await cli("functions/auth/migrate.ts", [], env);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toMatch(/^database: 127\.0\.0\.1:1\/none \(from DATABASE_URL\)\nmigrate: .*ECONNREFUSED/m);
  }, 120_000);

  it("without DATABASE_URL the CLIs use the make dev database and say so", async () => {
    const url = await freshDatabaseUrl("cli_devdb");
    const dir = mkdtempSync(join(tmpdir(), "devdb-"));
    mkdirSync(join(dir, ".dev"));
    writeFileSync(join(dir, ".dev", "database-url"), `${url}\n`);
    expect(resolveDatabase(undefined, {}, dir)).toEqual({ url, source: `${join(dir, ".dev", "database-url")} (make dev)` });
    expect(resolveDatabase("postgres://flag", { DATABASE_URL: "postgres://env" }, dir).source).toBe("--database-url");
    expect(resolveDatabase(undefined, { DATABASE_URL: "postgres://env" }, dir).source).toBe("DATABASE_URL");

    // `npm run migrate` needs nothing but the database: no BETTER_AUTH_URL, origins, RP IDs, JWT settings or secret.
    const migrated = await cli("functions/auth/migrate.ts", [], {}, dir);
    expect(migrated.stderr).toContain("(make dev)");
    expect(migrated.stderr).toMatch(/created: .*user/);
    expect(migrated.code).toBe(0);
    expect((await cli("functions/auth/migrate.ts", [], {}, dir)).stderr).toContain("schema is up to date");

    const audit = await cli("ops/audit.ts", ["--json"], {}, dir);
    expect(audit.code).toBe(0);
    expect(audit.stderr).toContain(`from ${join(dir, ".dev", "database-url")} (make dev)`);
    expect(JSON.parse(audit.stdout.trim().split("\n")[0]!)).toMatchObject({ action: "migrate.schema", outcome: "success" });
  }, 120_000);

  it("no database anywhere: says where it looked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nodb-"));
    // Not the checkout either: a developer who ran `make dev` here has a .dev/database-url.
    expect(() => resolveDatabase(undefined, {}, dir, dir)).toThrow(/set DATABASE_URL, pass --database-url, or start `make dev`/);
  });

  it("the migrate Lambda event still works from the service's full config", async () => {
    const url = await freshDatabaseUrl("cli_lambda");
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: url,
      BETTER_AUTH_URL: "https://auth.example.org",
      BETTER_AUTH_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
      TRUSTED_ORIGINS: "https://app.example.org",
      ALLOWED_RP_IDS: "example.org",
      JWT_AUDIENCE: "apps",
    });
    try {
      const { handler } = await import("../../functions/auth/lambda.js");
      const out = (await handler({ authplane: "migrate" })) as { created: string[] };
      expect(out.created).toEqual(expect.arrayContaining(["user", "account", "session"]));
      const pool = new pg.Pool({ connectionString: url });
      expect((await pool.query(`SELECT count(*)::int AS n FROM authplane_audit WHERE action = 'migrate.schema'`)).rows[0].n).toBe(1);
      await pool.end();
    } finally {
      process.env = saved;
    }
  });
});
