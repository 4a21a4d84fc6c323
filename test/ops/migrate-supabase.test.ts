import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateSupabase } from "../../ops/supabase/migrate.js";
import { parseValuesTuples, unescapeCopyField } from "../../ops/supabase/sql-values.js";
import { APP_ONE, Browser, startService, testEnv, type Service } from "../functions/auth/harness.js";

const run = promisify(execFile);
const COPY_DUMP = "test/ops/fixtures/supabase-copy.sql";
const INSERT_DUMP = "test/ops/fixtures/supabase-insert.sql";

function tempDump(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "supabase-")), "dump.sql");
  writeFileSync(file, text);
  return file;
}

describe("SQL value decoding", () => {
  it("decodes COPY text-format escapes", () => {
    expect(unescapeCopyField("\\N")).toBeNull();
    expect(unescapeCopyField("a\\tb\\nc\\\\d\\101\\x42")).toBe("a\tb\nc\\dAB");
  });
  it("decodes INSERT literals: '' quotes, E'' escapes, NULL, numbers, casts, multi-row", () => {
    const rows = parseValuesTuples(`INSERT INTO t (a,b,c,d) VALUES ('O''Brien', E'x\\ny', NULL, 42), ('{"k": 1}'::jsonb, true, -1.5, 'z'::timestamp with time zone);`, 1);
    expect(rows).toEqual([
      ["O'Brien", "x\ny", null, "42"],
      ['{"k": 1}', "true", "-1.5", "z"],
    ]);
  });
});

describe("Supabase migration into PostgreSQL", () => {
  let service: Service;
  const users = async () => (await service.pool.query(`SELECT email, name, image, "emailVerified" FROM "user" ORDER BY email`)).rows;
  const accounts = async () =>
    (await service.pool.query(`SELECT u.email, a."providerId", a."accountId" FROM "account" a JOIN "user" u ON u.id = a."userId" ORDER BY u.email, a."providerId"`)).rows;

  beforeAll(async () => {
    service = await startService(await testEnv("supabase"));
    // Grace is already in authplane, under another id and another letter case.
    await service.pool.query(`INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('existing-grace', 'Grace', 'Grace@Example.org', false, now(), now())`);
  });
  afterAll(() => service.close());

  it("a dry run reads and matches everything and writes nothing", async () => {
    const report = await migrateSupabase({ dump: COPY_DUMP, pool: service.pool, dryRun: true });
    expect(report).toMatchObject({ dry_run: true, users_read: 7, users_created: 3, users_already_present: 1 });
    expect((await users()).map((u) => u.email)).toEqual(["Grace@Example.org"]);
  });

  it("migrates a COPY dump by email, skipping what it must, merging case variants and linking identities", async () => {
    const report = await migrateSupabase({ dump: COPY_DUMP, pool: service.pool });
    expect(report).toEqual({
      source: "supabase",
      dry_run: false,
      users_read: 7,
      users_created: 3,
      users_already_present: 1,
      users_skipped: { no_email: 1, deleted: 1, anonymous: 0 },
      users_merged: 1,
      merged_groups: 1,
      identities_read: 4,
      identities_linked: 2,
      identities_already_linked: 0,
      identities_without_user: 1,
      passwords_kept: 1,
      password_conflicts: 0,
      passwords_unconfirmed_dropped: 0,
    });
    expect(await users()).toEqual([
      { email: "Grace@Example.org", name: "Grace", image: null, emailVerified: false },
      // " Ada@Example.org " and "ADA@example.org" are one person: one user, her name and image kept
      { email: "ada@example.org", name: "Ada Lovelace", image: "https://example.org/ada.png", emailVerified: true },
      { email: "bob@example.org", name: "bob", image: null, emailVerified: false },
      { email: "tab@example.org", name: "Tab\tName\\x", image: null, emailVerified: false },
    ]);
    expect(await accounts()).toEqual(
      expect.arrayContaining([
        { email: "ada@example.org", providerId: "google", accountId: "1111" },
        { email: "Grace@Example.org", providerId: "google", accountId: "3333" },
        expect.objectContaining({ email: "bob@example.org", providerId: "credential" }),
      ]),
    );
  });

  it("a second run inserts nothing and says so", async () => {
    const report = await migrateSupabase({ dump: COPY_DUMP, pool: service.pool });
    expect(report).toMatchObject({ users_created: 0, users_already_present: 4, identities_linked: 0, identities_already_linked: 2, passwords_kept: 0 });
    const audit = await service.pool.query(`SELECT action, outcome, detail FROM authplane_audit WHERE action = 'migrate.supabase' ORDER BY id`);
    // Two real runs, each audited in its own transaction; the dry run left nothing.
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[0]).toMatchObject({ outcome: "success", detail: { users_created: 3, users_read: 7 } });
  });

  it("a migrated bcrypt password signs in through Better Auth", async () => {
    const browser = new Browser(service, APP_ONE);
    const ok = await browser.fetch("/api/auth/sign-in/email", { body: { email: "bob@example.org", password: "hunter2-password" } });
    expect(ok.status).toBe(200);
    const wrong = await new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email: "bob@example.org", password: "wrong-password" } });
    expect(wrong.status).toBe(401);
  });

  it("migrates an INSERT dump: quoted identifiers, multi-row, E'' strings, casts, statements over several lines", async () => {
    const report = await migrateSupabase({ dump: INSERT_DUMP, pool: service.pool });
    expect(report).toMatchObject({ users_read: 4, users_created: 3, users_skipped: { deleted: 1 }, identities_linked: 1, passwords_kept: 1 });
    const byEmail = Object.fromEntries((await users()).map((u) => [u.email, u]));
    expect(byEmail["pat@example.org"]).toMatchObject({ name: "Pat O'Brien", image: "https://example.org/pat.png", emailVerified: true });
    expect(byEmail["multi@example.org"]!.name).toBe("Multi\nLine; with semicolon");
    expect(byEmail["span@example.org"]!.name).toBe("Spans\ntwo lines; really");
  });

  describe("bad input: a clear message with the line, nothing written", () => {
    const count = async () => (await service.pool.query(`SELECT count(*)::int AS n FROM "user"`)).rows[0].n as number;
    const HEADER = "COPY auth.users (id, email, raw_user_meta_data) FROM stdin;";
    const cases: [string, string, RegExp][] = [
      ["a truncated COPY block", `-- dump\n${HEADER}\nu1\tnew1@example.org\t{}\n`, /line 2: the dump ends inside the COPY block/],
      ["a truncated INSERT", `INSERT INTO auth.users (id, email) VALUES ('u1', 'new1@ex`, /line 1: the dump ends inside the INSERT statement/],
      ["no auth.users section", `COPY auth.identities (id, user_id) FROM stdin;\ni1\tu1\n\\.\n`, /no auth\.users data in this dump/],
      ["a row with the wrong number of columns", `${HEADER}\nu1\tnew1@example.org\t{}\nu2\tnew2@example.org\n\\.\n`, /line 3: auth\.users row has 2 values for 3 columns/],
      ["malformed metadata JSON", `${HEADER}\nu1\tnew1@example.org\t{not json\n\\.\n`, /line 2: metadata is not valid JSON/],
      [
        "a malformed timestamp after many good rows",
        `COPY auth.users (id, email, created_at) FROM stdin;\n${Array.from({ length: 3000 }, (_, i) => `g${i}\tgood${i}@example.org\t2024-01-01 00:00:00+00`).join("\n")}\nbad\tbad@example.org\tyesterday\n\\.\n`,
        /line 3002: created_at is not a timestamp: "yesterday"/,
      ],
    ];
    for (const [name, text, message] of cases) {
      it(name, async () => {
        const before = await count();
        await expect(migrateSupabase({ dump: tempDump(text), pool: service.pool })).rejects.toThrow(message);
        expect(await count()).toBe(before);
      });
    }
  });

  it("the CLI prints help, a JSON report, and fails with exit code 1 on a bad dump", async () => {
    const env = { ...process.env, DATABASE_URL: urlOf(service) };
    expect((await run("npx", ["tsx", "ops/migrate-supabase.ts", "--help"])).stdout).toContain("--dump FILE");
    const dry = await run("npx", ["tsx", "ops/migrate-supabase.ts", "--dump", COPY_DUMP, "--dry-run"], { env });
    expect(JSON.parse(dry.stdout.trim())).toMatchObject({ dry_run: true, users_read: 7 });
    expect(dry.stderr).toContain("dry run, nothing written");
    const bad = await run("npx", ["tsx", "ops/migrate-supabase.ts", "--dump", tempDump("SELECT 1;\n")], { env }).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/migrate:supabase: line 1: no auth\.users data/);
  }, 60_000);
});

function urlOf(service: Service): string {
  const db = service.config.database;
  if (!("connectionString" in db)) throw new Error("expected a connection string");
  return db.connectionString;
}
