import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateCognito } from "../../ops/cognito/migrate.js";
import { parseCsv } from "../../ops/cognito/read.js";
import { startService, testEnv, type Service } from "../functions/auth/harness.js";

const run = promisify(execFile);
const PAGE_1 = "test/ops/fixtures/cognito-list-users-page-1.json";
const PAGE_2 = "test/ops/fixtures/cognito-list-users-page-2.json";
const CSV = "test/ops/fixtures/cognito-users.csv";

function temp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "cognito-")), name);
  writeFileSync(file, text);
  return file;
}

describe("CSV fields", () => {
  it("reads quoted commas, doubled quotes and line breaks, numbering rows by their first line", () => {
    expect(parseCsv("x.csv", 'a,b\n"1, 2","say ""hi"""\n"multi\nline",z\n')).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1, 2", 'say "hi"'] },
      { line: 3, fields: ["multi\nline", "z"] },
    ]);
  });
});

describe("Cognito migration", () => {
  let service: Service;
  const url = () => (service.config.database as { connectionString: string }).connectionString;
  const accounts = async () =>
    (await service.pool.query(`SELECT u.email, a."providerId", a."accountId" FROM "account" a JOIN "user" u ON u.id = a."userId" ORDER BY u.email, a."accountId"`)).rows;

  beforeAll(async () => {
    service = await startService(await testEnv("cognito"));
    await service.pool.query(`INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('existing-temp', 'Temp', 'Temp@Example.org', true, now(), now())`);
  });
  afterAll(() => service.close());

  it("a dry run of list-users pages counts everything and writes nothing", async () => {
    const report = await migrateCognito({ files: [PAGE_1, PAGE_2], pool: service.pool, dryRun: true });
    expect(report).toMatchObject({ dry_run: true, users_read: 8, users_created: 3 });
    expect((await service.pool.query(`SELECT count(*)::int AS n FROM "user"`)).rows[0].n).toBe(1);
  });

  it("migrates list-users pages by verified email, links federated Google users, skips disabled, unconfirmed and unverified", async () => {
    const report = await migrateCognito({ files: [PAGE_1, PAGE_2], pool: service.pool, verbose: true });
    expect(report).toEqual({
      source: "cognito",
      dry_run: false,
      users_read: 8,
      users_skipped: { no_email: 0, disabled: 1, unconfirmed: 1, unverified_email: 1 },
      identities_read: 3,
      identities_unsupported: 1,
      users_created: 3,
      users_already_present: 1,
      users_merged: 1,
      merged_groups: 1,
      identities_linked: 2,
      identities_already_linked: 0,
      identities_without_user: 0,
      passwords_kept: 0,
      password_conflicts: 0,
      passwords_unconfirmed_dropped: 0,
      merged: [{ email: "ana@example.org", rows: 2, external_accounts: 1, password: "none" }],
      passwords: expect.stringMatching(/^Cognito never exports password hashes/),
    });
    const users = (await service.pool.query(`SELECT email, name, image, "emailVerified" FROM "user" ORDER BY email`)).rows;
    expect(users).toEqual([
      // The native row and the federated row are one person; the later-modified row names her.
      { email: "ana@example.org", name: "Ana G.", image: "https://lh3.googleusercontent.com/a/ana", emailVerified: true },
      { email: "ben@example.org", name: "Ben Linked", image: null, emailVerified: true },
      { email: "sam@example.org", name: "sam", image: null, emailVerified: true },
      { email: "Temp@Example.org", name: "Temp", image: null, emailVerified: true },
    ].sort((a, b) => (a.email < b.email ? -1 : 1)));
    expect(await accounts()).toEqual([
      { email: "ana@example.org", providerId: "google", accountId: "110000000000000000001" },
      { email: "ben@example.org", providerId: "google", accountId: "110000000000000000002" },
    ]);
  });

  it("a re-run inserts nothing", async () => {
    const report = await migrateCognito({ files: [PAGE_1, PAGE_2], pool: service.pool });
    expect(report).toMatchObject({ users_created: 0, users_already_present: 4, identities_linked: 0, identities_already_linked: 2 });
  });

  it("migrates a CSV export: quoted fields, a federated row merged with a native one, disabled and unconfirmed skipped", async () => {
    const report = await migrateCognito({ files: [CSV], pool: service.pool });
    expect(report).toMatchObject({
      users_read: 5,
      users_skipped: { no_email: 0, disabled: 1, unconfirmed: 1, unverified_email: 0 },
      users_created: 2,
      merged_groups: 1,
      identities_linked: 1,
      passwords_kept: 0,
    });
    const cy = (await service.pool.query(`SELECT name, image FROM "user" WHERE email = 'cy@example.org'`)).rows[0];
    expect(cy).toEqual({ name: "Cy Young", image: "https://lh3.googleusercontent.com/a/cy" });
    expect(await accounts()).toContainEqual({ email: "cy@example.org", providerId: "google", accountId: "110000000000000000003" });
    const audit = (await service.pool.query(`SELECT detail FROM authplane_audit WHERE action = 'migrate.cognito' ORDER BY id`)).rows;
    expect(audit).toHaveLength(3);
    expect(JSON.stringify(audit)).not.toContain("@example.org");
  });

  describe("bad input: the file and line, nothing written", () => {
    const count = async () => (await service.pool.query(`SELECT count(*)::int AS n FROM "user"`)).rows[0].n as number;
    const page = readFileSync(PAGE_2, "utf8");
    const cases: [string, string, string, RegExp][] = [
      ["truncated JSON", "page.json", page.slice(0, 700), /page\.json:\d+: not valid JSON/],
      ["not list-users output", "page.json", `{"UserPool": {}}`, /page\.json:1: no "Users" array/],
      ["a CSV row with a missing field", "users.csv", "cognito:username,email,email_verified\nu1,a@example.org,true\nu2,b@example.org\n", /users\.csv:3: 2 fields for 3 columns/],
      ["a CSV without cognito:username", "users.csv", "email,email_verified\na@example.org,true\n", /users\.csv:1: the header has no cognito:username column/],
      ["an unclosed quote", "users.csv", 'cognito:username,email,name\nu1,a@example.org,"Open\nu2,b@example.org,x\n', /users\.csv:2: a quoted field is never closed/],
      ["identities that are not JSON", "users.csv", "cognito:username,email,email_verified,identities\nu1,a@example.org,true,[]\nu2,b@example.org,true,[{oops\n", /users\.csv:3: u2: the identities attribute is not a JSON list/],
    ];
    for (const [name, file, text, message] of cases) {
      it(name, async () => {
        const before = await count();
        await expect(migrateCognito({ files: [temp(file, text)], pool: service.pool })).rejects.toThrow(message);
        expect(await count()).toBe(before);
      });
    }
  });

  it("the CLI takes several files after --users, prints the no-password notice and a JSON report; usage errors exit 2", async () => {
    const env = { ...process.env, DATABASE_URL: url() };
    const out = await run("npx", ["tsx", "ops/migrate-cognito.ts", "--users", PAGE_1, PAGE_2, CSV, "--dry-run"], { env });
    expect(JSON.parse(out.stdout.trim())).toMatchObject({ source: "cognito", dry_run: true, users_read: 13, users_created: 0 });
    expect(out.stderr).toContain("Cognito never exports password hashes");
    const usage = await run("npx", ["tsx", "ops/migrate-cognito.ts", "--user", PAGE_1], { env }).catch((e) => e);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("usage: npm run migrate:cognito");
    const bad = await run("npx", ["tsx", "ops/migrate-cognito.ts", "--users", temp("users.csv", "email\nx\n")], { env }).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/users\.csv:1: the header has no cognito:username column/);
  }, 90_000);
});
