/**
 * The revocation feed the authorizers poll (GET /revocations): offboard publishes the subject,
 * sign-out and session revocation publish the session, a token minted before either is listed
 * as revoked (revoked_at >= iat), and conditional requests get 304 until something changes.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { DB_RETRY_AFTER_SECONDS } from "../../../functions/auth/db-faults.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { REVOCATION_WINDOW_SECONDS, type RevocationFeed } from "../../../functions/auth/revocations.js";
import { JWT_TTL_SECONDS } from "../../../functions/claims.js";
import { runApps } from "../../../ops/apps.js";
import { freePort } from "../../support/postgres.js";
import { APP_ONE, APP_TWO, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

describe("the revocation feed", () => {
  let service: Service;
  let env: Record<string, string | undefined>;
  const feed = (headers: Record<string, string> = {}) => service.app.request(`${AUTH_URL}/revocations`, { headers });
  const body = async (res: Response) => (await res.json()) as RevocationFeed;
  const token = async (browser: Browser) => decodeJwt((await browser.json<{ token: string }>("/api/auth/token")).token);

  beforeAll(async () => {
    env = await testEnv("revocations");
    service = await startService(env);
  });
  afterAll(() => service.close());

  it("answers the contract's shape with a strong ETag, no-cache, and 304 for a current copy", async () => {
    const res = await feed();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const doc = await body(res);
    expect(doc).toEqual({ version: 1, generated_at: expect.any(Number), subjects: {}, sessions: {} });
    expect(Math.abs(doc.generated_at - Date.now() / 1000)).toBeLessThan(60);

    const again = await feed({ "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
    expect((await feed({ "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    expect((await feed({ "if-none-match": `"stale"` })).status).toBe(200);
  });

  it("a token minted before offboard is listed as revoked by subject; the ETag moves on", async () => {
    const before = (await feed()).headers.get("etag")!;
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("leaver@example.org");
    const minted = await token(browser);
    expect(minted.sid).toEqual(expect.any(String));

    await runApps(["offboard", "--email", "leaver@example.org"], { DATABASE_URL: env.DATABASE_URL });
    const res = await feed({ "if-none-match": before });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).not.toBe(before);
    const doc = await body(res);
    expect(doc.subjects[user.id]).toBeGreaterThanOrEqual(minted.iat!);
    expect(doc.subjects[user.id]).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it("sign-out lists the session the token came from; tokens of other sessions stay unlisted", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("signs-out@example.org");
    const laptop = await token(browser);
    const phone = new Browser(service, APP_TWO);
    await phone.json("/api/auth/sign-in/email", { body: { email: "signs-out@example.org", password: "correct horse battery staple" } });
    const phoneToken = await token(phone);
    expect(phoneToken.sid).not.toBe(laptop.sid);

    expect((await browser.fetch("/api/auth/sign-out", { body: {} })).status).toBe(200);
    const doc = await body(await feed());
    expect(doc.sessions[laptop.sid as string]).toBeGreaterThanOrEqual(laptop.iat!);
    expect(doc.sessions[phoneToken.sid as string]).toBeUndefined();
    expect(doc.subjects[laptop.sub!]).toBeUndefined();
  });

  it("revoking other sessions lists each of them", async () => {
    const a = new Browser(service, APP_ONE);
    await a.signUp("many-devices@example.org");
    const others = [new Browser(service, APP_ONE), new Browser(service, APP_TWO)];
    const sids: string[] = [];
    for (const b of others) {
      await b.json("/api/auth/sign-in/email", { body: { email: "many-devices@example.org", password: "correct horse battery staple" } });
      sids.push((await token(b)).sid as string);
    }
    expect((await a.fetch("/api/auth/revoke-other-sessions", { body: {} })).status).toBe(200);
    const doc = await body(await feed());
    for (const sid of sids) expect(doc.sessions[sid]).toEqual(expect.any(Number));
    expect(doc.sessions[(await token(a)).sid as string]).toBeUndefined();
  });

  it("lists only the last token lifetime + 5 minutes; older entries have no live token to refuse", async () => {
    expect(REVOCATION_WINDOW_SECONDS).toBe(JWT_TTL_SECONDS + 300);
    await service.pool.query(
      `INSERT INTO authplane_revocation (kind, id, revoked_at) VALUES ('subject', 'old-one', now() - make_interval(secs => $1)), ('subject', 'recent-one', now() - make_interval(secs => $2))`,
      [REVOCATION_WINDOW_SECONDS + 5, REVOCATION_WINDOW_SECONDS - 60],
    );
    const doc = await body(await feed());
    expect(doc.subjects["old-one"]).toBeUndefined();
    expect(doc.subjects["recent-one"]).toEqual(expect.any(Number));
  });

  it("a second revocation keeps the later time, and migrate leaves the table alone", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("twice@example.org");
    await service.pool.query(`INSERT INTO authplane_revocation (kind, id, revoked_at) VALUES ('subject', $1, now() - interval '2 minutes')`, [user.id]);
    await runApps(["offboard", "--email", "twice@example.org"], { DATABASE_URL: env.DATABASE_URL });
    const at = (await body(await feed())).subjects[user.id]!;
    expect(at).toBeGreaterThan(Math.floor(Date.now() / 1000) - 30);
    await migrate(service.config);
    expect((await body(await feed())).subjects[user.id]).toBe(at);
  });
});

describe("the revocation feed without its database", () => {
  it("answers 503 with Retry-After instead of a 500", async () => {
    const env = await testEnv("revocations_down");
    const port = await freePort();
    const app = createApp(configFromEnv({ ...env, DATABASE_URL: `postgres://nobody:x@127.0.0.1:${port}/none`, VALIDATE_SCHEMA: "false" }));
    const res = await app.request(`${AUTH_URL}/revocations`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe(String(DB_RETRY_AFTER_SECONDS));
    expect(await res.json()).toMatchObject({ error: "database_unavailable" });
  });
});
