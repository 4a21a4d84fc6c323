/**
 * The point of the design, in a real browser: a passkey registered on app-one signs in on
 * app-two, because both use the parent domain as RP ID, and on app-three, on another registrable
 * domain, through WebAuthn Related Origin Requests; the token minted there carries the right
 * claims; an origin outside the allowlist gets nothing. And the passkey part of the page a
 * person uses: autofill in the email field, the list of passkeys, rename and delete.
 */
import { serve } from "@hono/node-server";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { createServer, type Server } from "node:https";
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoApp } from "../../dev/demo-app.js";
import type { Platform } from "../../dev/platform.js";
import { addVirtualAuthenticator } from "../support/chromium.js";
import { freePort } from "../support/postgres.js";
import { addSecurityKey, claims, click, DOMAIN, launchFor, open, screenshots, startTestPlatform, statusAfter, whoami } from "./demo-page.js";

const EMAIL = "ada@example.org";
const shot = screenshots("passkeys");

describe("passkeys across apps in Chromium", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let rogue: Server;
  let rogueUrl: string;
  let roguePool: pg.Pool;

  beforeAll(async () => {
    ({ platform } = await startTestPlatform("e2e_passkeys"));
    // A look-alike app on the same parent domain, same code, but NOT in TRUSTED_ORIGINS.
    const roguePort = await freePort();
    roguePool = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    const app = demoApp({ slug: "app-rogue", authServiceUrl: platform.authUrl, rpId: DOMAIN, pool: roguePool, proxySecret: platform.proxySecret });
    rogue = serve({ fetch: app.fetch, port: roguePort, hostname: "127.0.0.1", createServer, serverOptions: { key: platform.tls.key, cert: platform.tls.cert } }) as Server;
    rogueUrl = `https://app-rogue.${DOMAIN}:${roguePort}`;
    browser = await launchFor(platform);
    page = await (await browser.newContext()).newPage();
    await addVirtualAuthenticator(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    rogue?.closeAllConnections();
    rogue?.close();
    await roguePool?.end();
    await platform?.stop();
  });

  it("signs up on app-one, lands in app-one at once, and registers a passkey", async () => {
    await open(page, platform.appUrls["app-one"]!);
    expect(await whoami(page)).toBe("signed out");
    await shot(page, "app-one-signed-out");
    await page.fill("#email", EMAIL);
    await page.fill("#name", "Ada");
    expect(await click(page, "#sign-up")).toMatchObject({ outcome: "ok", message: expect.stringContaining("Welcome") });
    expect(await whoami(page)).toBe(EMAIL);
    // Right after sign-up the token already carries this app.
    expect(await page.textContent("#context")).toBe("In app-one as user");
    expect(await claims(page)).toMatchObject({ email: EMAIL, org_slug: "app-one", role: "user" });
    expect(await page.locator("#passkeys tr").first().textContent()).toContain("No passkeys yet");

    expect(await click(page, "#register-passkey")).toMatchObject({ outcome: "ok", message: expect.stringContaining("Added a passkey") });
    await expect.poll(() => page.locator("#passkeys tr[data-passkey-id]").count()).toBe(1);
    await shot(page, "app-one-signed-in-with-passkey");
    expect(await click(page, "#sign-out")).toMatchObject({ outcome: "ok", message: "You are signed out." });
    expect(await whoami(page)).toBe("signed out");
    // Nothing of the signed-in page stays behind.
    expect(await page.textContent("#token-claims")).toBe("");
    expect(await page.inputValue("#token-raw")).toBe("");
    expect(await page.locator("#passkeys tr").count()).toBe(0);
  });

  it("signs in with that passkey on app-two, with no password, in app-two", async () => {
    await open(page, platform.appUrls["app-two"]!);
    expect(await whoami(page)).toBe("signed out");
    expect(await click(page, "#sign-in-passkey")).toMatchObject({ outcome: "ok", message: "Signed in with your passkey." });
    expect(await whoami(page)).toBe(EMAIL);
  });

  it("mints a token on app-two whose claims name the user, the app, the role and its permissions", async () => {
    await page.click("#join-app-two");
    await page.waitForFunction(() => document.getElementById("status")?.dataset.action === "join-app-two");
    expect(await page.getAttribute("#status", "data-outcome")).toBe("ok");
    expect(await click(page, "#get-token")).toMatchObject({ outcome: "ok", message: expect.stringContaining("app-two") });
    const c = await claims(page);
    expect(c).toMatchObject({ email: EMAIL, org_slug: "app-two", role: "user", permissions: { app_two: ["read", "write"] }, iss: platform.issuer, aud: "authplane-local" });
    expect((c.exp as number) - (c.iat as number)).toBe(900);
    // The header and the raw token are on the page too, and the raw token is the one decoded.
    const raw = await page.inputValue("#token-raw");
    expect(JSON.parse(Buffer.from(raw.split(".")[1]!, "base64url").toString())).toEqual(c);
    expect(await page.textContent("#token-header")).toMatch(/^algRS256kid\S+/);
    expect(await page.textContent("#token-countdown")).toMatch(/^in 1[45]:\d\d$/);
    await shot(page, "app-two-token");

    // And it verifies against the published JWKS, as the authorizer does.
    const jwks = (await (await fetch(`${platform.authUrl}/api/auth/jwks`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(raw, createLocalJWKSet(jwks), { issuer: platform.issuer, audience: "authplane-local" });
    expect(payload.sub).toBe(c.sub);
  });

  it("signs in on app-three, another registrable domain, with the passkey registered on app-one (Related Origin Requests)", async () => {
    // The RP ID's origin tells the browser which other origins may use its passkeys.
    const wellKnown = await fetch(`${platform.authUrl}/.well-known/webauthn`);
    expect(wellKnown.headers.get("content-type")).toBe("application/json");
    expect(await wellKnown.json()).toEqual({ origins: [platform.appUrls["app-three"]] });

    await click(page, "#sign-out");
    const three = platform.appUrls["app-three"]!;
    expect(new URL(three).hostname).toBe("app-three.authplane-demo.test");
    await open(page, three);
    expect(await whoami(page)).toBe("signed out");
    expect(await click(page, "#sign-in-passkey")).toMatchObject({ outcome: "ok", message: "Signed in with your passkey." });
    expect(await whoami(page)).toBe(EMAIL);
    await page.click("#join-app-three");
    await page.waitForFunction(() => document.getElementById("status")?.dataset.action === "join-app-three");
    expect(await claims(page)).toMatchObject({ email: EMAIL, org_slug: "app-three" });
    await shot(page, "app-three-other-domain-signed-in");
    await click(page, "#sign-out");
  });

  it("signs in from the email field's autofill (conditional mediation)", async () => {
    await open(page, platform.appUrls["app-one"]!);
    expect(await whoami(page)).toBe("signed out");
    expect(await page.getAttribute("#email", "autocomplete")).toBe("username webauthn");
    // Focusing the field starts the conditional request; the virtual authenticator answers it
    // with the one passkey it holds, as a person picking the suggestion would.
    const result = await statusAfter(page, () => page.focus("#email"));
    expect(result).toMatchObject({ action: "sign-in-passkey", outcome: "ok" });
    expect(await whoami(page)).toBe(EMAIL);
  });

  it("lists, renames and deletes passkeys", async () => {
    // A second passkey from a second authenticator (another device).
    const key = await addSecurityKey(page);
    expect(await click(page, "#register-passkey")).toMatchObject({ outcome: "ok" });
    const rows = page.locator("#passkeys tr[data-passkey-id]");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().locator("td").nth(1).textContent()).toMatch(/\d{4}/);

    await rows.first().locator("button.rename").click();
    await rows.first().locator("input.rename-input").fill("Ada's laptop");
    expect(await click(page, "#passkeys tr:first-child button.rename-save")).toMatchObject({ outcome: "ok", message: "Renamed the passkey to “Ada's laptop”." });
    expect(await rows.first().getAttribute("data-name")).toBe("Ada's laptop");
    await shot(page, "passkeys-renamed");

    // Delete asks first, then the row is gone and the list comes from the server again.
    await rows.nth(1).locator("button.delete").click();
    await page.waitForSelector("#passkeys .delete-warning");
    expect(await page.textContent("#passkeys .delete-warning")).toContain("Delete this passkey?");
    await shot(page, "passkeys-delete-confirm");
    expect(await click(page, "#passkeys button.delete-confirm")).toMatchObject({ outcome: "ok", message: expect.stringContaining("Deleted") });
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-name")).toBe("Ada's laptop");

    // The last passkey: the account still has its password, so deleting warns instead of refusing.
    await rows.first().locator("button.delete").click();
    expect(await page.textContent("#passkeys .delete-warning")).toContain("Last passkey: afterwards you sign in with your password");
    await page.click("#passkeys button.delete-cancel");
    await expect.poll(() => rows.count()).toBe(1);
    // The security key still holds the deleted credential; unplug it.
    await key.remove();
  });

  it("refuses to delete the only way in", async () => {
    // A passkey-only person: the password account removed as if it never existed.
    const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    await pool.query(`DELETE FROM "account" WHERE "providerId" = 'credential' AND "userId" = (SELECT id FROM "user" WHERE email = $1)`, [EMAIL]);
    await pool.end();
    const rows = page.locator("#passkeys tr[data-passkey-id]");
    expect(await click(page, "#passkeys button.delete")).toMatchObject({ outcome: "error", message: expect.stringContaining("only way to sign in") });
    await expect.poll(() => rows.count()).toBe(1);
    await shot(page, "passkeys-last-way-in-refused");
  });

  it("a passkey the service no longer knows is explained, not reported as a code", async () => {
    // Another device (its own tab, one security key only) registers a passkey …
    const other = await page.context().newPage();
    try {
      await addSecurityKey(other);
      await open(other, platform.appUrls["app-one"]!);
      expect(await whoami(other)).toBe(EMAIL);
      expect(await click(other, "#register-passkey")).toMatchObject({ outcome: "ok" });
      // … which the service then forgets (deleted elsewhere), while the key still holds it.
      const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
      await pool.query(`DELETE FROM "passkey" WHERE id = (SELECT id FROM "passkey" ORDER BY "createdAt" DESC LIMIT 1)`);
      await pool.end();
      await click(other, "#sign-out");
      expect(await click(other, "#sign-in-passkey")).toEqual({
        action: "sign-in-passkey",
        outcome: "error",
        message: "This device offered a passkey the service does not know (it may have been deleted). Sign in another way, then add a new passkey.",
      });
      expect(await whoami(other)).toBe("signed out");
      await shot(other, "unknown-passkey");
    } finally {
      await other.close();
    }
  });

  it("a ceremony that ends without a passkey (closed, timed out, none on this device) says so", async () => {
    // A fresh browser profile on a device that holds no passkey for the RP ID.
    const fresh = await (await browser.newContext()).newPage();
    try {
      await addVirtualAuthenticator(fresh);
      await open(fresh, platform.appUrls["app-two"]!);
      expect(await click(fresh, "#sign-in-passkey")).toEqual({
        action: "sign-in-passkey",
        outcome: "error",
        message: `No passkey was used: the prompt was closed or timed out, or this device holds no passkey for ${DOMAIN}. Nothing changed; try again, or sign in another way.`,
      });
      await shot(fresh, "no-passkey-used");
    } finally {
      await fresh.context().close();
    }
  });

  it("a blocked account is told so in a sentence", async () => {
    const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    await pool.query(`UPDATE "user" SET banned = true WHERE email = $1`, [EMAIL]);
    try {
      await open(page, platform.appUrls["app-one"]!);
      expect(await click(page, "#sign-in-passkey")).toEqual({ action: "sign-in-passkey", outcome: "error", message: "This account is blocked. Ask your administrator to reinstate it." });
      expect(await whoami(page)).toBe("signed out");
      await shot(page, "blocked-account");
    } finally {
      await pool.query(`UPDATE "user" SET banned = false WHERE email = $1`, [EMAIL]);
      await pool.end();
    }
  });

  it("refuses a look-alike app outside the allowlist, even on the same parent domain", async () => {
    await open(page, rogueUrl);
    const refused = page.waitForResponse((r) => r.url().includes("/api/auth/passkey/"));
    const result = await click(page, "#sign-in-passkey");
    expect((await refused).status()).toBeGreaterThanOrEqual(400);
    expect((await refused).status()).toBeLessThan(500);
    expect(result.outcome).toBe("error");
    expect(await whoami(page)).toBe("signed out");
    await shot(page, "rogue-refused");

    // And a direct call naming a foreign origin is refused before Better Auth runs.
    const direct = await fetch(`${platform.authUrl}/api/auth/passkey/generate-authenticate-options`, {
      headers: { origin: rogueUrl, "x-forwarded-host": new URL(platform.appUrls["app-two"]!).host, "x-forwarded-proto": "https" },
    });
    expect(direct.status).toBe(403);
    expect(await direct.json()).toMatchObject({ error: "origin_not_allowed" });
  });
});
