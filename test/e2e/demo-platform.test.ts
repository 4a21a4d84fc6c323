/**
 * The rest of what `make dev` shows, in Chromium against the real service and PostgreSQL:
 * Google sign-in through the local OpenID provider (its consent page clicked through, Better
 * Auth's own Google code path), switching apps from the membership list, the demo backends
 * behind the local gateway and the real authorizer handler (200 with the claims the backend
 * received, 403 per app and route permission), nothing stale after a 401, and a second platform
 * on the same ports failing with the port named.
 */
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortBusyError, startPlatform, type Platform, type PlatformOptions } from "../../dev/platform.js";
import { fakeGoogleSubject } from "../support/fake-google.js";
import { claims, click, launchFor, open, screenshots, startTestPlatform, statusAfter, whoami } from "./demo-page.js";

const GRACE = "grace@example.org";
const shot = screenshots("platform");

describe("the local platform in Chromium", () => {
  let platform: Platform;
  let options: PlatformOptions;
  let browser: Browser;
  let page: Page;
  let db: pg.Pool;

  beforeAll(async () => {
    ({ platform, options } = await startTestPlatform("e2e_platform"));
    db = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    browser = await launchFor(platform);
    page = await (await browser.newContext()).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await platform?.stop();
  });

  /** Click an API button and read what the page shows about the answer. */
  async function callApi(id: string) {
    const result = await click(page, `#${id}`);
    const status = Number(await page.getAttribute("#api-status", "data-status"));
    const reason = await page.getAttribute("#api-status", "data-reason");
    const body = (await page.isVisible("#api-result")) ? JSON.parse((await page.textContent("#api-result"))!) : null;
    return { result, status, reason, body, text: await page.textContent("#api-status") };
  }

  it("signs in with Google through the local provider's consent page", async () => {
    expect(platform.google.kind).toBe("local");
    await open(page, platform.appUrls["app-one"]!);
    await page.click("#sign-in-google");
    await page.waitForURL((u) => u.origin === new URL(platform.google.kind === "local" ? platform.google.issuer : "").origin);
    expect(await page.textContent("h1")).toContain("Sign in with Google");
    await page.fill("#email", GRACE);
    await page.fill("#name", "Grace Hopper");
    await shot(page, "google-consent");
    await page.click("#consent-allow");
    await page.waitForURL((u) => u.origin === platform.appUrls["app-one"]);
    await page.waitForFunction(() => document.getElementById("status")?.dataset.ready === "true");
    expect(await page.getAttribute("#status", "data-outcome")).toBe("ok");
    expect(await page.textContent("#status")).toBe("Signed in with Google.");
    expect(await whoami(page)).toBe(GRACE);
    expect(await claims(page)).toMatchObject({ email: GRACE, org_slug: "app-one", role: "user" });
    await shot(page, "google-signed-in");

    // Better Auth's Google path ran: the person has a Google account keyed by the provider's subject.
    const { rows } = await db.query(`SELECT a."providerId", a."accountId" FROM "account" a JOIN "user" u ON u.id = a."userId" WHERE u.email = $1`, [GRACE]);
    expect(rows).toEqual([{ providerId: "google", accountId: fakeGoogleSubject(GRACE) }]);
  });

  /** Choose an app in the list and switch: set-active, then that app's page, whose tokens carry it. */
  async function switchTo(slug: string) {
    await page.selectOption("#org-slug", slug);
    await page.click("#set-active-org");
    await page.waitForURL((u) => u.origin === platform.appUrls[slug]);
    await page.waitForFunction(() => document.getElementById("status")?.dataset.ready === "true");
    expect(await page.getAttribute("#status", "data-outcome")).toBe("ok");
  }

  it("switching apps from the membership list changes the claims", async () => {
    // The list holds exactly the apps the database says Grace belongs to.
    const listed = () => page.$$eval("#org-slug option", (os) => os.map((o) => (o as HTMLOptionElement).value).sort());
    expect(await listed()).toEqual(["app-one"]);
    const joined = await click(page, "#join-app-two-viewer");
    expect(joined).toMatchObject({ outcome: "ok", message: "You joined app-two as viewer. Switch to it from the list." });
    expect(await listed()).toEqual(["app-one", "app-two"]);
    // Still app-one here: this page's tokens carry this app.
    expect(await claims(page)).toMatchObject({ org_slug: "app-one" });

    await switchTo("app-two");
    expect(await page.textContent("#status")).toContain("You switched from app-one to app-two.");
    // Single sign-on: app-two opened signed in, and its token carries app-two with the viewer's permissions.
    expect(await whoami(page)).toBe(GRACE);
    expect(await page.textContent("#context")).toBe("In app-two as viewer");
    expect(await claims(page)).toMatchObject({ email: GRACE, org_slug: "app-two", role: "viewer", permissions: { app_two: ["read"] } });
    await shot(page, "switched-to-app-two");
  });

  it("the demo backend answers 200 with the claims it received through the real authorizer", async () => {
    const read = await callApi("api-app-two-read");
    expect(read.status).toBe(200);
    expect(read.result.outcome).toBe("ok");
    const c = await claims(page);
    // What the backend got is the authorizer's context: strings, permissions flattened.
    expect(read.body).toMatchObject({ ok: true, app: "app-two", route: "GET /claims", claims: { sub: c.sub, email: GRACE, org_slug: "app-two", role: "viewer", permissions: "app_two:read" } });
    expect(read.text).toContain("the backend received these claims from the authorizer");
    await shot(page, "api-200");

    // The gateway itself, as API Gateway: no token is 401 without asking the authorizer, a bad one 403.
    const url = `${platform.apiUrls["app-two"]}/claims`;
    const none = await page.evaluate(async (u) => (await fetch(u)).status, url);
    expect(none).toBe(401);
    const forged = await page.evaluate(async (u) => {
      const r = await fetch(u, { headers: { authorization: "Bearer eyJhbGciOiJub25lIn0.e30." } });
      return { status: r.status, body: await r.json() };
    }, url);
    expect(forged).toEqual({ status: 403, body: { message: "Forbidden" } });
  });

  // These wait for the authorizer's app scoping and route permissions (contract 2).
  it("the demo backend answers 403 for a role without the route's permission and for another app's API", async () => {
    const write = await callApi("api-app-two-write");
    expect(write.status).toBe(403);
    expect(write.reason).toBe("missing_permission");
    expect(write.text).toContain("the authorizer refused");
    expect(write.body).toEqual({ message: "Forbidden" });
    await shot(page, "api-403-missing-permission");

    const other = await callApi("api-app-one-read");
    expect(other.status).toBe(403);
    expect(other.reason).toBe("wrong_app");
    await shot(page, "api-403-wrong-app");
  });

  it("back in app-one as user, both routes answer 200", async () => {
    await switchTo("app-one");
    expect(await claims(page)).toMatchObject({ org_slug: "app-one", role: "user", permissions: { app_one: ["read", "write"] } });
    expect((await callApi("api-app-one-read")).status).toBe(200);
    const write = await callApi("api-app-one-write");
    expect(write.status).toBe(200);
    expect(write.body).toMatchObject({ route: "POST /notes", saved: { note: "hello from app-one" }, as: GRACE });
    expect(String(write.body.claims.permissions).split(" ")).toEqual(["app_one:read", "app_one:write"]);
  });

  it("a token minted before sign-out is refused by the backend soon after (the revocation feed)", async () => {
    const old = await page.inputValue("#token-raw");
    const call = () =>
      page.evaluate(
        async ({ url, token }) => {
          const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
          return { status: r.status, reason: r.headers.get("x-local-gateway-deny-reason") };
        },
        { url: `${platform.apiUrls["app-one"]}/claims`, token: old },
      );
    expect(await call()).toEqual({ status: 200, reason: null });
    expect(await click(page, "#sign-out")).toMatchObject({ outcome: "ok" });
    // The token itself is still unexpired; the authorizer learns of the ended session from the feed.
    await expect.poll(call, { timeout: 20_000, interval: 500 }).toEqual({ status: 403, reason: "revoked" });
  });

  it("a cancelled Google consent comes back with a message and changes nothing", async () => {
    await page.click("#sign-in-google");
    await page.waitForSelector("#consent-deny");
    await page.click("#consent-deny");
    await page.waitForURL((u) => u.origin === platform.appUrls["app-one"]);
    await page.waitForFunction(() => document.getElementById("status")?.dataset.ready === "true");
    expect(await page.getAttribute("#status", "data-outcome")).toBe("error");
    expect(await page.textContent("#status")).toContain("cancelled");
    expect(await whoami(page)).toBe("signed out");
    await shot(page, "google-cancelled");
  });

  it("shows nothing stale after a 401: a session revoked elsewhere empties the page", async () => {
    await page.click("#sign-in-google");
    await page.waitForSelector("#consent-allow");
    // The consent page offers the account chosen last time.
    expect(await page.inputValue("#email")).toBe(GRACE);
    await page.click("#consent-allow");
    await page.waitForURL((u) => u.origin === platform.appUrls["app-one"]);
    await page.waitForFunction(() => document.getElementById("status")?.dataset.ready === "true");
    expect(await whoami(page)).toBe(GRACE);
    expect(await claims(page)).toMatchObject({ email: GRACE });

    // Revoked behind the page's back (an operator, another tab, expiry).
    await db.query(`DELETE FROM "session" WHERE "userId" = (SELECT id FROM "user" WHERE email = $1)`, [GRACE]);
    const after = await click(page, "#get-token");
    expect(after).toMatchObject({ outcome: "error", message: "Your session has ended. Sign in again to get a token." });
    expect(await whoami(page)).toBe("signed out");
    expect(await page.textContent("#token-claims")).toBe("");
    expect(await page.inputValue("#token-raw")).toBe("");
    expect(await page.isVisible("#signed-in-view")).toBe(false);
    await shot(page, "after-401");
  });

  it("a wrong password reads as a sentence, not a code", async () => {
    await page.fill("#email", GRACE);
    await page.fill("#password", "not-her-password");
    expect(await statusAfter(page, () => page.click("#sign-in-password"))).toMatchObject({ outcome: "error", message: "That email and password do not match an account." });
  });

  it("a second platform on the same ports fails at once, naming the busy port", async () => {
    const second = startPlatform({ ...options, databaseUrl: platform.databaseUrl });
    await expect(second).rejects.toBeInstanceOf(PortBusyError);
    await expect(second).rejects.toThrow(`port ${options.authPort} (auth service)`);
    await expect(second).rejects.toThrow(`port ${options.issuerPort} (https://auth.authplane.test (OpenID Provider))`);
    await expect(second).rejects.toThrow("Is another `make dev` running? Stop it with Ctrl-C in its terminal");
    // The first one is untouched.
    expect((await fetch(`${platform.authUrl}/healthz`)).status).toBe(200);
  });
});
