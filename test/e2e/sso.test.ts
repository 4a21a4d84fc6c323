/**
 * Single sign-on across the subdomain apps in a real browser (`make dev` has it on): the session
 * cookie lives on the parent domain, so signing in on app-one signs you in on app-two through
 * their proxies; each app's token carries its own app even with both tabs open on one session;
 * signing out on app-two signs you out on app-one.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type Platform } from "../../dev/platform.js";
import { launchChromium } from "../support/chromium.js";
import { freshDatabaseUrl } from "../support/database.js";
import { freePort } from "../support/postgres.js";

const DOMAIN = "authplane.test";
const EMAIL = "sso@example.org";

describe("single sign-on across subdomain apps in Chromium", () => {
  let platform: Platform;
  let browser: Browser;
  let context: BrowserContext;
  let one: Page;
  let two: Page;

  beforeAll(async () => {
    const [authPort, portOne, portTwo] = await Promise.all([freePort(), freePort(), freePort()]);
    platform = await startPlatform({
      domain: DOMAIN,
      authPort,
      apps: { "app-one": portOne!, "app-two": portTwo! },
      databaseUrl: await freshDatabaseUrl("e2e_sso"),
      stateDir: mkdtempSync(join(tmpdir(), "authplane-sso-")),
    });
    browser = await launchChromium({ domain: DOMAIN, spkiSha256: platform.tls.spkiSha256 });
    context = await browser.newContext();
    // Two tabs, one per app, side by side.
    one = await context.newPage();
    two = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  const click = async (page: Page, id: string) => {
    await page.click(`#${id}`);
    await page.waitForFunction((expected) => document.getElementById("status")?.textContent?.startsWith(`${expected}:`), id);
    const status = await page.textContent("#status");
    // Clear it, so the next wait on this page sees the next answer and not this one.
    await page.evaluate(() => (document.getElementById("status")!.textContent = ""));
    return status;
  };
  const whoami = async (page: Page) => {
    await page.waitForFunction(() => document.getElementById("whoami")?.textContent !== "…");
    return page.textContent("#whoami");
  };
  const tokenClaims = async (page: Page) => {
    expect(await click(page, "get-token")).toBe("get-token: ok");
    return JSON.parse((await page.textContent("#token-claims"))!) as Record<string, unknown>;
  };

  it("signing up on app-one sets one HttpOnly, Secure, SameSite=Lax session cookie on the parent domain", async () => {
    await one.goto(platform.appUrls["app-one"]!);
    expect(await whoami(one)).toBe("signed out");
    await one.fill("#email", EMAIL);
    await one.fill("#name", "Sso");
    expect(await click(one, "sign-up")).toBe("sign-up: ok");
    expect(await whoami(one)).toBe(EMAIL);

    const session = (await context.cookies()).filter((c) => c.name.endsWith("session_token"));
    expect(session).toHaveLength(1);
    expect(session[0]).toMatchObject({ domain: `.${DOMAIN}`, httpOnly: true, secure: true, sameSite: "Lax" });
  });

  it("app-two opens signed in, with no sign-in of its own", async () => {
    await two.goto(platform.appUrls["app-two"]!);
    expect(await whoami(two)).toBe(EMAIL);
  });

  it("each tab's token carries its own app, though both share one session and its active app", async () => {
    await one.fill("#org-slug", "app-one");
    expect(await click(one, "set-active-org")).toBe("set-active-org: ok");
    // The shared session's active app is now app-two …
    await two.fill("#org-slug", "app-two");
    expect(await click(two, "set-active-org")).toBe("set-active-org: ok");

    // … yet app-one's tab still gets app-one's claims, and app-two's gets app-two's.
    const fromOne = await tokenClaims(one);
    const fromTwo = await tokenClaims(two);
    expect(fromOne).toMatchObject({ email: EMAIL, org_slug: "app-one", role: "user", permissions: { app_one: ["read", "write"] } });
    expect(fromTwo).toMatchObject({ email: EMAIL, org_slug: "app-two", role: "user", permissions: { app_two: ["read", "write"] } });
    expect(fromOne.sub).toBe(fromTwo.sub);
    expect(fromOne.sid).toEqual(expect.any(String));
    expect(fromOne.sid).toBe(fromTwo.sid);
  });

  it("signing out on app-two signs out app-one too", async () => {
    expect(await click(two, "sign-out")).toBe("sign-out: ok");
    expect(await whoami(two)).toBe("signed out");
    expect((await context.cookies()).filter((c) => c.name.endsWith("session_token"))).toHaveLength(0);

    await one.reload();
    expect(await whoami(one)).toBe("signed out");
    const status = await one.evaluate(async () => (await fetch("/api/auth/token")).status);
    expect(status).toBe(401);
  });
});
