import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSupabaseDump } from "../../bench/supabase-dump.js";
import { configFromEnv } from "../../functions/auth/config.js";
import { migrate } from "../../functions/auth/migrate.js";
import { migrateSupabase } from "../../ops/supabase/migrate.js";
import { APP_ONE, Browser, startService, testEnv, type Service } from "../functions/auth/harness.js";

const run = promisify(execFile);
const MERGE_DUMP = "test/ops/fixtures/supabase-merge.sql";

describe("several Supabase rows of one person: nobody loses a way in", () => {
  let service: Service;
  const ways = async (email: string) =>
    (
      await service.pool.query<{ providerId: string; accountId: string }>(
        `SELECT a."providerId", CASE WHEN a."providerId" = 'credential' THEN '' ELSE a."accountId" END AS "accountId"
         FROM "account" a JOIN "user" u ON u.id = a."userId" WHERE u.email = $1 ORDER BY 1, 2`,
        [email],
      )
    ).rows
      .map((r) => (r.providerId === "credential" ? "password" : `${r.providerId}:${r.accountId}`))
      .sort();
  const signIn = async (email: string, password: string) =>
    (await new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email, password } })).status;

  beforeAll(async () => {
    service = await startService(await testEnv("supabase_merge"));
  });
  afterAll(() => service.close());

  it("a failed run leaves the target unchanged, and running it again completes", async () => {
    // Eve's Google account is the last thing written; make that insert fail.
    await service.pool.query(`CREATE FUNCTION fail_eve() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."accountId" = '200006' THEN RAISE EXCEPTION 'simulated failure'; END IF; RETURN NEW; END $$`);
    await service.pool.query(`CREATE TRIGGER fail_eve BEFORE INSERT ON "account" FOR EACH ROW EXECUTE FUNCTION fail_eve()`);
    await expect(migrateSupabase({ dump: MERGE_DUMP, pool: service.pool })).rejects.toThrow(/simulated failure/);
    const counts = await service.pool.query(`SELECT (SELECT count(*) FROM "user")::int AS users, (SELECT count(*) FROM "account")::int AS accounts, (SELECT count(*) FROM authplane_audit WHERE action = 'migrate.supabase')::int AS audit`);
    expect(counts.rows[0]).toEqual({ users: 0, accounts: 0, audit: 0 });
    await service.pool.query(`DROP TRIGGER fail_eve ON "account"`);
  });

  it("merges case and space variants, keeps every Google identity and the right password, reports the groups", async () => {
    const report = await migrateSupabase({ dump: MERGE_DUMP, pool: service.pool, verbose: true });
    expect(report).toMatchObject({
      users_read: 13,
      users_created: 6,
      users_already_present: 0,
      users_skipped: { no_email: 0, deleted: 1, anonymous: 2 },
      users_merged: 4,
      merged_groups: 4,
      identities_read: 8,
      identities_linked: 5,
      identities_without_user: 2, // the deleted twin's and the anonymous row's
      passwords_kept: 3,
      password_conflicts: 1,
      passwords_unconfirmed_dropped: 1,
    });
    expect(report.merged).toEqual([
      { email: "eve@example.org", rows: 2, external_accounts: 1, password: "none" },
      { email: "kim@example.org", rows: 2, external_accounts: 0, password: "conflict_latest_kept" },
      { email: "lin@example.org", rows: 2, external_accounts: 1, password: "kept" },
      { email: "max@example.org", rows: 2, external_accounts: 2, password: "none" },
    ]);

    // A Google row and a password row of one person: both ways in.
    expect(await ways("lin@example.org")).toEqual(["google:200001", "password"]);
    expect(await signIn("LIN@example.org", "lin-password-1")).toBe(200);
    // Two Google rows: both Google accounts (and not the anonymous row's password).
    expect(await ways("max@example.org")).toEqual(["google:200002", "google:200003"]);
    // Two different hashes: the most recently signed-in row's.
    expect(await ways("kim@example.org")).toEqual(["password"]);
    expect(await signIn("kim@example.org", "kim-new-password")).toBe(200);
    expect(await signIn("kim@example.org", "kim-old-password")).toBe(401);
    // A deleted twin contributes nothing.
    expect(await ways("zoe@example.org")).toEqual(["google:200004"]);
    // An unconfirmed sign-up with a confirmed person's address does not get a password into her account.
    expect(await ways("eve@example.org")).toEqual(["google:200006"]);
    expect(await signIn("eve@example.org", "eve-attacker-pw")).toBe(401);

    const people = await service.pool.query(`SELECT email, name, image, "emailVerified" FROM "user" ORDER BY email`);
    expect(people.rows.map((r) => r.email)).toEqual(["eve@example.org", "kim@example.org", "lin@example.org", "max@example.org", "solo@example.org", "zoe@example.org"]);
    expect(people.rows.find((r) => r.email === "lin@example.org")).toMatchObject({ name: "Lin Google", image: "https://example.org/lin.png", emailVerified: true });
  });

  it("a re-run inserts nothing", async () => {
    const report = await migrateSupabase({ dump: MERGE_DUMP, pool: service.pool });
    expect(report).toMatchObject({ users_created: 0, users_already_present: 6, identities_linked: 0, identities_already_linked: 5, passwords_kept: 0 });
    expect(report.merged).toBeUndefined();
  });

  it("the CLI prints the merged counts, and the emails only with --verbose", async () => {
    const env = { ...process.env, DATABASE_URL: (service.config.database as { connectionString: string }).connectionString };
    const quiet = await run("npx", ["tsx", "ops/migrate-supabase.ts", "--dump", MERGE_DUMP, "--dry-run"], { env });
    expect(quiet.stdout).not.toContain("@example.org");
    expect(JSON.parse(quiet.stdout.trim().split("\n").pop()!)).toMatchObject({ merged_groups: 4, users_merged: 4 });
    expect(quiet.stderr).toMatch(/merged: 4 row\(s\) into 4 person\(s\)/);
    expect(quiet.stderr).toMatch(/database: 127\.0\.0\.1:\d+\/supabase_merge_\w+ \(from DATABASE_URL\)/);
    const verbose = await run("npx", ["tsx", "ops/migrate-supabase.ts", "--dump", MERGE_DUMP, "--dry-run", "--verbose"], { env });
    expect(JSON.parse(verbose.stdout.trim()).merged.map((g: { email: string }) => g.email)).toContain("kim@example.org");
  }, 60_000);
});

describe("a sign-up racing the import", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService(await testEnv("supabase_race"));
  });
  afterAll(() => service.close());

  it("someone who signs up with a migrated email between the match and the insert is that person: no duplicate, no failure", async () => {
    // Each insert into "user" by the import first commits (in effect) a sign-up of solo@example.org.
    await service.pool.query(`CREATE FUNCTION race_solo() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF pg_trigger_depth() = 1 THEN
        INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('racer', 'Racer', 'solo@example.org', true, now(), now());
      END IF; RETURN NULL; END $$`);
    await service.pool.query(`CREATE TRIGGER race_solo BEFORE INSERT ON "user" FOR EACH STATEMENT EXECUTE FUNCTION race_solo()`);
    const report = await migrateSupabase({ dump: MERGE_DUMP, pool: service.pool });
    await service.pool.query(`DROP TRIGGER race_solo ON "user"`);
    expect(report).toMatchObject({ users_created: 5, users_already_present: 1, passwords_kept: 3 });
    const solo = await service.pool.query(`SELECT u.id, a."providerId" FROM "user" u LEFT JOIN "account" a ON a."userId" = u.id WHERE u.email = 'solo@example.org'`);
    // Her password came along onto the account that won the race.
    expect(solo.rows).toEqual([{ id: "racer", providerId: "credential" }]);
    expect((await service.pool.query(`SELECT count(*)::int AS n FROM "user"`)).rows[0].n).toBe(6);
  });
});

describe("streaming: memory does not grow with the dump", () => {
  it("the migration process's peak RSS stays flat from 2,000 to 20,000 users", async () => {
    const dir = mkdtempSync(join(tmpdir(), "supabase-mem-"));
    const peaks: number[] = [];
    for (const users of [2_000, 20_000]) {
      const dump = join(dir, `${users}.sql`);
      await writeSupabaseDump(dump, users);
      const env = await testEnv(`supabase_mem_${users}`);
      await migrate(configFromEnv(env));
      const child = await run("npx", ["tsx", "bench/migrate-child.ts", "--dump", dump, "--database-url", env.DATABASE_URL!]);
      const out = JSON.parse(child.stdout.trim().split("\n").pop()!);
      expect(out.report).toMatchObject({ users_read: users, users_created: users, identities_linked: users / 2, passwords_kept: users / 10 });
      peaks.push(out.peak_rss_mb);
    }
    console.log(`peak RSS: ${peaks.join(" MB, ")} MB`);
    // Holding the users in memory cost ~3.7 KB each (369 MB at 100k): 18,000 more users would add ~65 MB.
    expect(peaks[1]! - peaks[0]!).toBeLessThan(30);
  }, 180_000);
});
