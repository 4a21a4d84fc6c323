import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAudit } from "../../functions/auth/audit.js";
import { runApps } from "../../ops/apps.js";
import { queryAudit, runAudit } from "../../ops/audit.js";
import { auditing, inTransaction } from "../../ops/db.js";
import { APP_ONE, Browser, startService, testEnv, type Service } from "../functions/auth/harness.js";

describe("the audit trail", () => {
  let service: Service;
  let url: string;
  const apps = (...args: string[]) => runApps(args, { DATABASE_URL: url });
  const rows = async (where = "true", params: unknown[] = []) =>
    (await service.pool.query(`SELECT action, actor, subject, app, ip, outcome, detail FROM authplane_audit WHERE ${where} ORDER BY id`, params)).rows;

  beforeAll(async () => {
    const env = await testEnv("ops_audit");
    url = env.DATABASE_URL!;
    service = await startService(env);
    process.env.AUTHPLANE_OPERATOR = "alice";
  });
  afterAll(async () => {
    delete process.env.AUTHPLANE_OPERATOR;
    await service.close();
  });

  it("every operator action is recorded with its actor, subject and app; dry runs and reads are not", async () => {
    await apps("apply", "--dry-run");
    expect(await rows(`action LIKE 'apps.%'`)).toEqual([]);
    await apps("apply");
    await new Browser(service, APP_ONE).signUp("worker@example.org");
    await apps("grant", "--app", "hiring", "--email", "Worker@Example.org", "--role", "recruiter");
    await apps("members", "--app", "hiring");
    await apps("revoke", "--app", "hiring", "--email", "worker@example.org");
    await apps("offboard", "--email", "worker@example.org");
    await apps("reinstate", "--email", "worker@example.org");
    const trail = await rows(`action LIKE 'apps.%'`);
    expect(trail.map((r) => r.action)).toEqual(["apps.apply", "apps.grant", "apps.revoke", "apps.offboard", "apps.reinstate"]);
    expect(trail[4]).toMatchObject({ subject: "worker@example.org", detail: { result: expect.stringMatching(/^reinstated worker@example.org/) } });
    expect(trail[0]).toMatchObject({ actor: "ops:alice", outcome: "success", detail: { changes: expect.arrayContaining(["created app hiring"]) } });
    expect(trail[1]).toMatchObject({ actor: "ops:alice", subject: "worker@example.org", app: "hiring", detail: { result: "granted recruiter in hiring to worker@example.org" } });
    expect(trail[3]).toMatchObject({ subject: "worker@example.org", detail: { email: "worker@example.org", apps: [], sessionsRevoked: 1, passkeysDeleted: 0 } });
    // Session tokens travel in the offboard result (for Redis) but never into the trail.
    expect(JSON.stringify(trail[3].detail)).not.toMatch(/token|userId/i);
  });

  it("a change that rolls back leaves no audit row", async () => {
    const before = (await rows()).length;
    await expect(apps("grant", "--app", "hiring", "--email", "worker@example.org", "--role", "ceo")).rejects.toThrow(/unknown role/);
    await expect(
      auditing({ action: "apps.test" }, () =>
        inTransaction(service.pool, async (db) => {
          await db.query(`UPDATE "organization" SET name = 'changed' WHERE slug = 'hiring'`);
          await writeAudit(db, { action: "apps.test.inner", outcome: "success" });
          throw new Error("fails after the change");
        }),
      ),
    ).rejects.toThrow(/fails after the change/);
    expect((await rows()).length).toBe(before);
    expect((await service.pool.query(`SELECT name FROM "organization" WHERE slug = 'hiring'`)).rows[0].name).toBe("Hiring");
  });

  it("service security events: sign-up, sign-in by method and its failure, token for an app, passkey removed, membership, sign-out", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("events@example.org");
    const wrong = await new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email: "events@example.org", password: "not-the-password" } });
    expect(wrong.status).toBe(401);
    expect((await browser.fetch("/api/auth/sign-in/email", { body: { email: "events@example.org", password: "correct horse battery staple" } })).status).toBe(200);

    const org = (await service.pool.query(`SELECT id FROM "organization" WHERE slug = 'hiring'`)).rows[0].id as string;
    await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('m-owner', $1, $2, 'owner', now())`, [org, user.id]);
    const other = await new Browser(service, APP_ONE).signUp("colleague@example.org");
    await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('m-colleague', $1, $2, 'member', now())`, [org, other.user.id]);
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: org } });
    await browser.json("/api/auth/token");
    await browser.json("/api/auth/organization/update-member-role", { body: { memberId: "m-colleague", role: "admin", organizationId: org } });
    await browser.json("/api/auth/organization/remove-member", { body: { memberIdOrEmail: "colleague@example.org", organizationId: org } });

    await service.pool.query(`INSERT INTO "passkey" (id, "userId", "publicKey", "credentialID", counter, "deviceType", "backedUp", "createdAt") VALUES ('pk-audit', $1, 'k', 'c-audit', 0, 'singleDevice', false, now())`, [user.id]);
    await browser.json("/api/auth/passkey/delete-passkey", { body: { id: "pk-audit" } });
    await browser.json("/api/auth/sign-out", { body: {} });

    const events = await rows(`action NOT LIKE 'apps.%' AND action NOT LIKE 'migrate.%' AND (subject IN ('events@example.org', 'colleague@example.org') OR actor = $1)`, [user.id]);
    const summary = events.filter((e) => e.subject !== "colleague@example.org" || e.action.startsWith("membership")).map((e) => `${e.action} ${e.outcome}`);
    expect(summary).toEqual([
      "sign_up success",
      "sign_in failure",
      "sign_in success",
      "token.minted success",
      "membership.update_role success",
      "membership.remove success",
      "passkey.removed success",
      "sign_out success",
    ]);
    expect(events.find((e) => e.action === "sign_in" && e.outcome === "failure")).toMatchObject({ subject: "events@example.org", detail: { method: "password", error: "INVALID_EMAIL_OR_PASSWORD" } });
    expect(events.find((e) => e.action === "sign_in" && e.outcome === "success")).toMatchObject({ actor: user.id, ip: browser.ip, detail: { method: "password" } });
    expect(events.find((e) => e.action === "token.minted")).toMatchObject({ app: "hiring", subject: "events@example.org", ip: browser.ip });
    expect(events.find((e) => e.action === "membership.update_role")).toMatchObject({ app: "hiring", actor: user.id, detail: { role: "admin" } });
    // Never a password, a session token or a JWT.
    const all = JSON.stringify(await rows());
    expect(all).not.toContain("correct horse");
    expect(all).not.toContain("not-the-password");
    const tokens = (await service.pool.query(`SELECT token FROM "session"`)).rows.map((r) => r.token as string);
    for (const t of tokens) expect(all).not.toContain(t);
    expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it("a blocked (offboarded) person's sign-in is recorded as blocked", async () => {
    await new Browser(service, APP_ONE).signUp("leaver@example.org");
    await apps("offboard", "--email", "leaver@example.org");
    const res = await new Browser(service, APP_ONE).fetch("/api/auth/sign-in/email", { body: { email: "leaver@example.org", password: "correct horse battery staple" } });
    expect(res.status).toBe(403);
    expect(await rows(`subject = 'leaver@example.org' AND action LIKE 'sign_in%'`)).toEqual([
      expect.objectContaining({ action: "sign_in.blocked", outcome: "blocked", detail: { method: "password", error: "BANNED_USER" } }),
    ]);
  });

  it("npm run audit filters by email, app and time, prints JSON, and prunes past the retention", async () => {
    const lines: string[] = [];
    const audit = (...args: string[]) => runAudit(args, { DATABASE_URL: url }, (s) => lines.push(s));
    await audit("--email", "EVENTS@example.org", "--json");
    const mine = lines.pop()!.split("\n").map((l) => JSON.parse(l));
    expect(mine.length).toBeGreaterThanOrEqual(6);
    expect(mine.every((r) => r.subject === "events@example.org")).toBe(true);
    expect(mine[0].action).toBe("sign_out"); // newest first

    await audit("--app", "hiring", "--since", "1h");
    const table = lines.pop()!;
    expect(table).toContain("\ttoken.minted\tsuccess\tevents@example.org\thiring\t");
    expect(table).not.toContain("sign_out");

    await audit("--since", "2999-01-01");
    expect(lines.pop()).toBe("no audit events match");
    await expect(audit("--since", "someday")).rejects.toThrow(/--since "someday": not a date\/time/);
    await expect(audit("--emial", "x")).rejects.toThrow(/Unknown option '--emial'/);

    await service.pool.query(`UPDATE authplane_audit SET at = now() - interval '400 days' WHERE action = 'sign_up'`);
    await audit("--prune-older-than", "365d");
    expect(lines.pop()).toMatch(/^pruned 4 audit event\(s\) older than /); // the four sign-ups
    expect(await rows(`action = 'sign_up'`)).toEqual([]);
    expect((await queryAudit(service.pool, { limit: 1 }))[0]).toMatchObject({ action: "audit.prune", detail: { deleted: 4 } });
    await runAudit(["--prune"], { DATABASE_URL: url, AUDIT_RETENTION_DAYS: "30" }, (s) => lines.push(s));
    expect(lines.pop()).toMatch(/^pruned 0 audit event\(s\)/);
  });

  it("the audit table has the indexes its queries use", async () => {
    const { rows: idx } = await service.pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'authplane_audit' ORDER BY indexname`);
    expect(idx.map((r) => r.indexdef.replace(/.* USING btree /, ""))).toEqual(expect.arrayContaining(["(app, at)", "(at)", "(subject, at)"]));
  });
});
