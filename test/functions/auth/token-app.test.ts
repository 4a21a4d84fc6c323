/**
 * The token carries the app you are on: the app comes from the request's origin (the proxy's
 * forwarded host or the SPA's Origin) or a native client id, never from another app's active
 * organization; `set-active` still decides for clients without an origin. And no GET changes
 * which app a session has active.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_CLIENT_HEADER, cachedAppDirectory, organizationForToken, writeAppBinding } from "../../../functions/auth/app-origin.js";
import { runApps } from "../../../ops/apps.js";
import { APP_ONE, APP_TWO, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

const appFile = (slug: string, origin: string, nativeClientIds: string[] = []) =>
  JSON.stringify({ slug, name: slug, origins: [origin], nativeClientIds, roles: { user: { name: "User", permissions: { [slug.replace("-", "_")]: ["read"] } } } });

describe("the token carries the app the request comes from", () => {
  let service: Service;
  let env: Record<string, string | undefined>;
  let appsDir: string;
  const apps = (...args: string[]) => runApps(args, { DATABASE_URL: env.DATABASE_URL });
  const orgId = async (slug: string) => (await service.pool.query(`SELECT id FROM "organization" WHERE slug = $1`, [slug])).rows[0].id as string;
  const activeOrg = async (userId: string) => (await service.pool.query(`SELECT "activeOrganizationId" AS a FROM "session" WHERE "userId" = $1`, [userId])).rows[0].a as string | null;

  beforeAll(async () => {
    env = await testEnv("token_app");
    service = await startService(env);
    const dir = (appsDir = mkdtempSync(join(tmpdir(), "apps-")));
    writeFileSync(join(dir, "app-one.json"), appFile("app-one", APP_ONE));
    writeFileSync(join(dir, "app-two.json"), appFile("app-two", APP_TWO, ["org.example.two"]));
    writeFileSync(join(dir, "app-three.json"), appFile("app-three", "https://app-three.authplane.test"));
    expect(await apps("apply", "--dir", dir)).toEqual(expect.arrayContaining([`set origins of app app-one: ${APP_ONE}`, `set origins of app app-two: ${APP_TWO}, org.example.two`]));
    expect(await apps("apply", "--dir", dir)).toEqual(["no changes: the database already matches the app files"]);
  });
  afterAll(() => service.close());

  async function member(email: string, ...slugs: string[]) {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp(email);
    for (const slug of slugs) await apps("grant", "--app", slug, "--email", email, "--role", "user");
    return { browser, user };
  }

  /** The same session cookies seen from another app (what SSO's parent-domain cookie gives). */
  function onApp(browser: Browser, origin: string): Browser {
    const other = new Browser(service, origin);
    (other as unknown as { cookies: Map<string, string> }).cookies = (browser as unknown as { cookies: Map<string, string> }).cookies;
    return other;
  }

  const tokenVia = async (browser: Browser, headers?: Record<string, string>) => decodeJwt((await browser.json<{ token: string }>("/api/auth/token", { headers })).token);

  it("one session, two app proxies: each token names its own app, whatever app is active", async () => {
    const { browser, user } = await member("both@example.org", "app-one", "app-two");
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: await orgId("app-two") } });
    const one = await tokenVia(browser);
    const two = await tokenVia(onApp(browser, APP_TWO));
    expect(one).toMatchObject({ sub: user.id, org_id: await orgId("app-one"), org_slug: "app-one", role: "user", permissions: { app_one: ["read"] } });
    expect(two).toMatchObject({ sub: user.id, org_slug: "app-two", permissions: { app_two: ["read"] } });
    // Both from the one session, and the token says which.
    const { rows } = await service.pool.query(`SELECT id FROM "session" WHERE "userId" = $1`, [user.id]);
    expect(rows).toHaveLength(1);
    expect(one.sid).toBe(rows[0].id);
    expect(two.sid).toBe(rows[0].id);
    // The audit trail names the app each token was minted for, not the session's active app.
    const { rows: audit } = await service.pool.query(`SELECT app FROM authplane_audit WHERE action = 'token.minted' AND actor = $1 ORDER BY at`, [user.id]);
    expect(audit.map((r) => r.app)).toEqual(["app-one", "app-two"]);
  });

  it("concurrent token requests from both apps each get their own app (the request is per call, not shared state)", async () => {
    const { browser } = await member("busy@example.org", "app-one", "app-two");
    const two = onApp(browser, APP_TWO);
    const order = Array.from({ length: 16 }, (_, i) => (i % 2 ? "app-two" : "app-one"));
    const tokens = await Promise.all(order.map((slug) => tokenVia(slug === "app-one" ? browser : two)));
    expect(tokens.map((t) => t.org_slug)).toEqual(order);
  });

  it("through a proxy a same-origin GET has no Origin header: the forwarded host decides", async () => {
    const { browser } = await member("proxy@example.org", "app-one", "app-two");
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: await orgId("app-one") } });
    const viaTwo = onApp(browser, APP_TWO);
    expect(await tokenVia(viaTwo, { origin: "" })).toMatchObject({ org_slug: "app-two" });
  });

  it("an SPA calling the service directly is known by its Origin header", async () => {
    const { browser } = await member("spa@example.org", "app-one", "app-two");
    const direct = onApp(browser, APP_TWO);
    // No proxy: the request is addressed to the service's own host.
    expect(await tokenVia(direct, { "x-forwarded-host": new URL(AUTH_URL).host })).toMatchObject({ org_slug: "app-two" });
  });

  it("on an app the person is not a member of, the token carries no app at all (not the active one)", async () => {
    const { browser, user } = await member("only-one@example.org", "app-one");
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: await orgId("app-one") } });
    const onTwo = await tokenVia(onApp(browser, APP_TWO));
    expect(onTwo).toMatchObject({ sub: user.id, org_id: null, org_slug: null, role: null, permissions: {} });
    expect(await activeOrg(user.id)).toBe(await orgId("app-one"));
  });

  it("without an origin (native, bearer) the active organization decides; a native client id names its app", async () => {
    const { browser, user } = await member("native@example.org", "app-one", "app-two");
    const signIn = await browser.fetch("/api/auth/sign-in/email", { body: { email: "native@example.org", password: "correct horse battery staple" } });
    const bearer = signIn.headers.get("set-auth-token")!;
    expect(bearer).toBeTruthy();
    const native = async (headers: Record<string, string> = {}) => {
      const res = await service.app.request(`${AUTH_URL}/api/auth/token`, { headers: { authorization: `Bearer ${bearer}`, ...headers } });
      expect(res.status).toBe(200);
      return decodeJwt(((await res.json()) as { token: string }).token);
    };
    expect(await native()).toMatchObject({ sub: user.id, org_id: null });
    const setActive = await service.app.request(`${AUTH_URL}/api/auth/organization/set-active`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify({ organizationId: await orgId("app-one") }),
    });
    expect(setActive.status).toBe(200);
    expect(await native()).toMatchObject({ org_slug: "app-one" });
    expect(await native({ [APP_CLIENT_HEADER]: "org.example.two" })).toMatchObject({ org_slug: "app-two" });
    expect(await native({ [APP_CLIENT_HEADER]: "org.example.unknown" })).toMatchObject({ org_slug: "app-one" });
  });

  it("an origin that no app lists keeps the session's active organization (apps not yet bound)", async () => {
    const { browser } = await member("unbound@example.org", "app-one");
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: await orgId("app-one") } });
    // The service's own origin is no app's.
    expect(await tokenVia(onApp(browser, AUTH_URL))).toMatchObject({ org_slug: "app-one" });
  });

  it("an origin two organizations both claim (written around `apply`) names no app: no claims rather than a guess", async () => {
    const shared = "https://shared.authplane.test";
    for (const slug of ["app-one", "app-two"]) {
      await service.pool.query(`UPDATE "organization" SET metadata = $2 WHERE slug = $1`, [slug, writeAppBinding(null, { origins: [shared], nativeClientIds: [] })]);
    }
    const directory = await cachedAppDirectory(service.pool)();
    expect(directory.byOrigin.get(shared)).toBeNull();
    expect(organizationForToken(directory, { origin: shared, clientId: null }, await orgId("app-one"))).toBeNull();
    // Put the files' view back for the tests that follow.
    expect(await apps("apply", "--dir", appsDir)).toHaveLength(2);
  });

  it("apply refuses an origin claimed by two app files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apps-"));
    writeFileSync(join(dir, "app-one.json"), appFile("app-one", APP_ONE));
    writeFileSync(join(dir, "app-two.json"), appFile("app-two", APP_ONE));
    await expect(apps("apply", "--dir", dir)).rejects.toThrow(`origin ${APP_ONE} is listed by both app-one.json and app-two.json`);
    writeFileSync(join(dir, "app-two.json"), appFile("app-two", "http://app-two.authplane.test"));
    await expect(apps("apply", "--dir", dir)).rejects.toThrow(/origins\.0: expected an https origin/);
  });
});

describe("no GET changes the session's active app", () => {
  let service: Service;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    env = await testEnv("get_no_state");
    service = await startService(env);
    await runApps(["apply"], { DATABASE_URL: env.DATABASE_URL });
  });
  afterAll(() => service.close());

  it.each(["get-full-organization", "get-organization"])("GET organization/%s naming another app refuses and leaves the active app alone", async (route) => {
    const browser = new Browser(service, APP_ONE);
    const email = `${route}@example.org`;
    const { user } = await browser.signUp(email);
    await runApps(["grant", "--app", "hiring", "--email", email, "--role", "recruiter"], { DATABASE_URL: env.DATABASE_URL });
    const id = async (slug: string) => (await service.pool.query(`SELECT id FROM "organization" WHERE slug = $1`, [slug])).rows[0].id as string;
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: await id("hiring") } });

    const res = await browser.fetch(`/api/auth/organization/${route}?organizationId=${await id("timetracking")}`, { headers: { origin: "" } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    const { rows } = await service.pool.query(`SELECT "activeOrganizationId" AS a FROM "session" WHERE "userId" = $1`, [user.id]);
    expect(rows[0].a).toBe(await id("hiring"));

    // A POST may still change it, as ever.
    const leave = await browser.fetch("/api/auth/organization/set-active", { body: { organizationId: null } });
    expect(leave.status).toBe(200);
    expect((await service.pool.query(`SELECT "activeOrganizationId" AS a FROM "session" WHERE "userId" = $1`, [user.id])).rows[0].a).toBeNull();
  });
});
