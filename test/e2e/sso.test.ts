/**
 * Single sign-on across the subdomain apps in a real browser (`make dev` has it on): the session
 * cookie lives on the parent domain, so signing in on app-one signs you in on app-two through
 * their proxies; each app's token carries its own app even with both tabs open on one session;
 * signing out on app-two signs you out on app-one.
 */
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Platform } from "../../dev/platform.js";
import { claims, click, DOMAIN, launchFor, open, startTestPlatform, whoami } from "./demo-page.js";

const EMAIL = "sso@example.org";

describe("single sign-on across subdomain apps in Chromium", () => {
  let platform: Platform;
  let browser: Browser;
  let context: BrowserContext;
  let one: Page;
  let two: Page;
  const sessionCookies = async () => (await context.cookies()).filter((c) => c.name.endsWith("session_token"));

  beforeAll(async () => {
    ({ platform } = await startTestPlatform("e2e_sso"));
    browser = await launchFor(platform);
    context = await browser.newContext();
    // Two tabs, one per app, side by side.
    one = await context.newPage();
    two = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("signing up on app-one sets one HttpOnly, Secure, SameSite=Lax session cookie on the parent domain", async () => {
    await open(one, platform.appUrls["app-one"]!);
    expect(await whoami(one)).toBe("signed out");
    await one.fill("#email", EMAIL);
    await one.fill("#name", "Sso");
    expect(await click(one, "#sign-up")).toMatchObject({ outcome: "ok" });
    expect(await whoami(one)).toBe(EMAIL);
    expect(await claims(one)).toMatchObject({ email: EMAIL, org_slug: "app-one" });

    const session = await sessionCookies();
    expect(session).toHaveLength(1);
    expect(session[0]).toMatchObject({ domain: `.${DOMAIN}`, httpOnly: true, secure: true, sameSite: "Lax" });
  });

  it("app-two opens signed in, with no sign-in of its own", async () => {
    await open(two, platform.appUrls["app-two"]!);
    expect(await whoami(two)).toBe(EMAIL);
    expect(await sessionCookies()).toHaveLength(1);
  });

  it("each tab's token carries its own app, though both share one session and its active app", async () => {
    // Join app-two and make it the shared session's active app …
    expect(await click(two, "#join-app-two")).toMatchObject({ outcome: "ok" });
    const setActive = await two.evaluate(async () =>
      (await fetch("/api/auth/organization/set-active", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ organizationSlug: "app-two" }) })).status,
    );
    expect(setActive).toBe(200);
    const db = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    const { rows } = await db.query(`SELECT o.slug FROM "session" s JOIN "user" u ON u.id = s."userId" JOIN "organization" o ON o.id = s."activeOrganizationId" WHERE u.email = $1`, [EMAIL]);
    await db.end();
    expect(rows).toEqual([{ slug: "app-two" }]);
    expect(await click(two, "#get-token")).toMatchObject({ outcome: "ok" });
    const fromTwo = await claims(two);
    // … yet app-one's tab still gets app-one's claims.
    expect(await click(one, "#get-token")).toMatchObject({ outcome: "ok" });
    const fromOne = await claims(one);
    expect(fromOne).toMatchObject({ email: EMAIL, org_slug: "app-one", role: "user", permissions: { app_one: expect.arrayContaining(["read"]) } });
    expect(fromTwo).toMatchObject({ email: EMAIL, org_slug: "app-two", role: "user", permissions: { app_two: expect.arrayContaining(["read"]) } });
    expect(fromOne.sub).toBe(fromTwo.sub);
    expect(fromOne.sid).toEqual(expect.any(String));
    expect(fromOne.sid).toBe(fromTwo.sid);
  });

  it("signing out on app-two signs out app-one too", async () => {
    expect(await click(two, "#sign-out")).toMatchObject({ outcome: "ok", message: "You are signed out." });
    expect(await whoami(two)).toBe("signed out");
    expect(await sessionCookies()).toHaveLength(0);

    // The tab still open on app-one finds out at its next request …
    expect(await click(one, "#get-token")).toMatchObject({ outcome: "error", message: expect.stringContaining("session has ended") });
    expect(await whoami(one)).toBe("signed out");
    // … and a fresh load of app-one is signed out as well.
    await open(one, platform.appUrls["app-one"]!);
    expect(await whoami(one)).toBe("signed out");
    expect(await one.evaluate(async () => (await fetch("/api/auth/token")).status)).toBe(401);
  });
});
