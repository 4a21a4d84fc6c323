import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { disconnectRedisClients } from "../../functions/auth/secondary-storage.js";
import { runApps } from "../../ops/apps.js";
import { startRedis } from "../support/redis.js";
import { APP_ONE, Browser, startService, testEnv, type Service } from "../functions/auth/harness.js";

const run = promisify(execFile);

describe("apps as data", () => {
  let service: Service;
  let url: string;
  const apps = (...args: string[]) => runApps(args, { DATABASE_URL: url });
  const count = async (sql: string, params: unknown[] = []) => (await service.pool.query(sql, params)).rows[0].n as number;

  beforeAll(async () => {
    const env = await testEnv("ops_apps");
    url = env.DATABASE_URL!;
    service = await startService(env);
  });
  afterAll(() => service.close());

  it("apply creates the apps and their roles, and a second apply changes nothing", async () => {
    const first = await apps("apply");
    expect(first).toEqual(expect.arrayContaining(["created app hiring", "added role hiring/recruiter", "added role timetracking/super-admin"]));
    expect(await apps("apply")).toEqual(["no changes: the database already matches the app files"]);
  });

  it("apply --dry-run reports a change and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apps-"));
    cpSync("apps", dir, { recursive: true });
    const hiring = JSON.parse(readFileSync(join(dir, "hiring.json"), "utf8"));
    hiring.roles.recruiter.permissions.job = ["read", "publish"];
    writeFileSync(join(dir, "hiring.json"), JSON.stringify(hiring));
    expect(await apps("apply", "--dir", dir, "--dry-run")).toEqual(["would: updated role hiring/recruiter"]);
    expect(await apps("apply")).toEqual(["no changes: the database already matches the app files"]);
  });

  it("a role naming an unknown permission is refused with the file and path, and nothing is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apps-"));
    cpSync("apps", dir, { recursive: true });
    writeFileSync(
      join(dir, "payroll.json"),
      JSON.stringify({ slug: "payroll", name: "Payroll", resources: { payslip: ["read"] }, roles: { clerk: { name: "Clerk", permissions: { payslip: ["read", "approve"] } } } }),
    );
    await expect(apps("apply", "--dir", dir)).rejects.toThrow(/payroll\.json:\n {2}roles\.clerk\.permissions\.payslip: unknown action "approve"; payslip allows: read/);
    expect(await count(`SELECT count(*)::int AS n FROM "organization" WHERE slug = 'payroll'`)).toBe(0);
  });

  it("grant and app switch put that app's role and permissions in the JWT; revoke takes them away", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("Recruiter@Example.org");
    expect(await apps("grant", "--app", "hiring", "--email", "recruiter@example.org", "--role", "recruiter")).toEqual(["granted recruiter in hiring to recruiter@example.org"]);
    expect(await apps("grant", "--app", "timetracking", "--email", "recruiter@example.org", "--role", "manager")).toHaveLength(1);
    expect(await apps("members", "--app", "hiring")).toEqual(["recruiter@example.org\trecruiter\tRecruiter"]);

    const orgId = async (slug: string) => (await service.pool.query(`SELECT id FROM "organization" WHERE slug = $1`, [slug])).rows[0].id as string;
    const tokenIn = async (slug: string) => {
      await browser.json("/api/auth/organization/set-active", { body: { organizationId: await orgId(slug) } });
      return decodeJwt((await browser.json<{ token: string }>("/api/auth/token")).token);
    };
    expect(await tokenIn("hiring")).toMatchObject({ org_slug: "hiring", role: "recruiter", permissions: { candidate: ["create", "read", "update"], job: ["read"] } });
    expect(await tokenIn("timetracking")).toMatchObject({ org_slug: "timetracking", role: "manager", permissions: { timesheet: ["approve", "read", "write"] } });

    const before = await tokenIn("hiring");
    expect(await apps("revoke", "--app", "hiring", "--email", "recruiter@example.org")).toEqual(["removed recruiter@example.org from hiring"]);
    // The token minted before the revoke is published as revoked (authorizers refuse it within a minute).
    const { rows } = await service.pool.query(`SELECT floor(extract(epoch FROM revoked_at))::bigint AS at FROM authplane_revocation WHERE kind = 'subject' AND id = $1`, [before.sub]);
    expect(Number(rows[0].at)).toBeGreaterThanOrEqual(before.iat!);
    const refused = await browser.fetch("/api/auth/organization/set-active", { body: { organizationId: await orgId("hiring") } });
    expect(refused.status).toBe(403);
  });

  it("unknown app, role and email are clear errors that change nothing", async () => {
    await expect(apps("grant", "--app", "payroll", "--email", "recruiter@example.org", "--role", "clerk")).rejects.toThrow(/unknown app "payroll"; known apps: hiring, timetracking/);
    await expect(apps("grant", "--app", "hiring", "--email", "recruiter@example.org", "--role", "ceo")).rejects.toThrow(/unknown role "ceo" in hiring; roles: hiring-admin, recruiter/);
    await expect(apps("grant", "--app", "hiring", "--email", "nobody@example.org", "--role", "recruiter")).rejects.toThrow(/unknown email "nobody@example.org"/);
    await expect(apps("grant", "--app", "hiring", "--email", "x@example.org")).rejects.toThrow(/grant needs --role/);
  });

  it("a role still held by members cannot be dropped from the files", async () => {
    await apps("grant", "--app", "hiring", "--email", "recruiter@example.org", "--role", "recruiter");
    const dir = mkdtempSync(join(tmpdir(), "apps-"));
    cpSync("apps", dir, { recursive: true });
    const hiring = JSON.parse(readFileSync(join(dir, "hiring.json"), "utf8"));
    delete hiring.roles.recruiter;
    writeFileSync(join(dir, "hiring.json"), JSON.stringify(hiring));
    await expect(apps("apply", "--dir", dir)).rejects.toThrow(/role "recruiter" is no longer declared but 1 member\(s\) hold it/);
    expect(await count(`SELECT count(*)::int AS n FROM "organizationRole" WHERE role = 'recruiter'`)).toBe(1);
  });

  it("offboard removes the person from every app, ends every session and (asked) deletes passkeys", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("leaver@example.org");
    await apps("grant", "--app", "hiring", "--email", "leaver@example.org", "--role", "hiring-admin");
    await apps("grant", "--app", "timetracking", "--email", "leaver@example.org", "--role", "user");
    await service.pool.query(`INSERT INTO "passkey" (id, "userId", "publicKey", "credentialID", counter, "deviceType", "backedUp", "createdAt") VALUES ('pk1', $1, 'k', 'c', 0, 'singleDevice', false, now())`, [user.id]);
    expect((await browser.fetch("/api/auth/token")).status).toBe(200);

    const dry = await apps("offboard", "--email", "leaver@example.org", "--dry-run");
    expect(dry[0]).toBe("would remove leaver@example.org from hiring, timetracking");
    expect(await count(`SELECT count(*)::int AS n FROM "session" WHERE "userId" = $1`, [user.id])).toBe(1);

    const out = await apps("offboard", "--email", "LEAVER@example.org", "--delete-passkeys");
    expect(out).toEqual([
      "removed leaver@example.org from hiring, timetracking",
      "blocked sign-in (undo with: apps reinstate --email leaver@example.org)",
      "ended 1 session(s): no new token can be minted",
      "removed 1 passkey(s)",
      "tokens already issued are refused once the authorizers' revocation feed refreshes (within a minute by default)",
    ]);
    expect((await browser.fetch("/api/auth/token")).status).toBe(401);
    expect(await count(`SELECT count(*)::int AS n FROM "member" WHERE "userId" = $1`, [user.id])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM "passkey" WHERE "userId" = $1`, [user.id])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM "user" WHERE id = $1 AND banned AND "banReason" = 'offboarded'`, [user.id])).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM authplane_revocation WHERE kind = 'subject' AND id = $1`, [user.id])).toBe(1);
  });

  it("an offboarded person cannot sign in until reinstated; reinstate keeps passkeys and restores no app", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("returner@example.org");
    await apps("grant", "--app", "hiring", "--email", "returner@example.org", "--role", "recruiter");
    await service.pool.query(`INSERT INTO "passkey" (id, "userId", "publicKey", "credentialID", counter, "deviceType", "backedUp", "createdAt") VALUES ('pk2', $1, 'k', 'c2', 0, 'singleDevice', false, now())`, [user.id]);
    expect((await apps("offboard", "--email", "returner@example.org"))[3]).toBe("passkeys kept (add --delete-passkeys to remove them)");
    const signIn = () => new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email: "returner@example.org", password: "correct horse battery staple" } });
    const refused = await signIn();
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "BANNED_USER", message: expect.stringMatching(/blocked from signing in/) });

    expect(await apps("reinstate", "--email", "Returner@example.org")).toEqual(["reinstated returner@example.org: they can sign in again (grant app roles with `apps grant`)"]);
    expect(await apps("reinstate", "--email", "returner@example.org")).toEqual(["returner@example.org is not blocked; nothing to do"]);
    expect((await signIn()).status).toBe(200);
    expect(await count(`SELECT count(*)::int AS n FROM "passkey" WHERE "userId" = $1`, [user.id])).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM "member" WHERE "userId" = $1`, [user.id])).toBe(0);
  });

  it("offboard --keep-sign-in removes apps and sessions but leaves sign-in open; --dry-run blocks nobody", async () => {
    await new Browser(service, APP_ONE).signUp("contractor@example.org");
    const dry = await apps("offboard", "--email", "contractor@example.org", "--dry-run");
    expect(dry[1]).toBe("would block sign-in (undo with: apps reinstate --email contractor@example.org)");
    expect(await count(`SELECT count(*)::int AS n FROM "user" WHERE email = 'contractor@example.org' AND banned`)).toBe(0);
    expect((await apps("offboard", "--email", "contractor@example.org", "--keep-sign-in"))[1]).toBe("sign-in left open (--keep-sign-in)");
    const again = await new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email: "contractor@example.org", password: "correct horse battery staple" } });
    expect(again.status).toBe(200);
  });

  it("the CLI prints help and runs a command end to end", async () => {
    const help = await run("npx", ["tsx", "ops/apps.ts", "--help"]);
    expect(help.stdout).toContain("offboard   --email <email>");
    const listed = await run("npx", ["tsx", "ops/apps.ts", "members", "--app", "timetracking"], { env: { ...process.env, DATABASE_URL: url } });
    expect(listed.stdout).toContain("recruiter@example.org\tmanager");
    const failed = await run("npx", ["tsx", "ops/apps.ts", "members", "--app", "nope"], { env: { ...process.env, DATABASE_URL: url } }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('unknown app "nope"');
  }, 60_000);
});

describe("offboarding with several servers (Redis)", () => {
  it("ends the sessions Redis holds too, so no server can still mint a token", async () => {
    const redis = await startRedis();
    const inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const env = await testEnv("ops_apps_redis", { REDIS_URL: redis.url });
    const service = await startService(env);
    try {
      const browser = new Browser(service, APP_ONE);
      const { user } = await browser.signUp("redis-leaver@example.org");
      expect(await inspect.exists(`authplane:active-sessions-${user.id}`)).toBe(1);
      const out = await runApps(["offboard", "--email", "redis-leaver@example.org"], { DATABASE_URL: env.DATABASE_URL, REDIS_URL: redis.url });
      expect(out[2]).toMatch(/^ended 1 session\(s\) \(and 2 Redis key\(s\)\): no new token can be minted$/);
      expect(await inspect.keys("authplane:*")).not.toContain(`authplane:active-sessions-${user.id}`);
      expect((await browser.fetch("/api/auth/token")).status).toBe(401);
    } finally {
      inspect.disconnect();
      await disconnectRedisClients();
      await service.close();
      await redis.stop();
    }
  });
});
