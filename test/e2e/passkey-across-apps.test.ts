/**
 * The point of the design, in a real browser: a passkey registered on app-one signs in on
 * app-two, because both use the parent domain as RP ID; the token minted there carries the
 * right claims; an origin outside the allowlist gets nothing.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "@hono/node-server";
import { createServer, type Server } from "node:https";
import pg from "pg";
import { demoApp } from "../../dev/demo-app.js";
import { startPlatform, type Platform } from "../../dev/platform.js";
import { addVirtualAuthenticator, launchChromium } from "../support/chromium.js";
import { freshDatabaseUrl } from "../support/database.js";
import { freePort } from "../support/postgres.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DOMAIN = "authplane.test";
const EMAIL = "ada@example.org";

describe("passkeys across subdomain apps in Chromium", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let rogue: Server;
  let rogueUrl: string;
  let roguePool: pg.Pool;

  beforeAll(async () => {
    const [authPort, one, two, three] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    platform = await startPlatform({
      domain: DOMAIN,
      authPort,
      apps: { "app-one": one!, "app-two": two! },
      databaseUrl: await freshDatabaseUrl("e2e"),
      stateDir: mkdtempSync(join(tmpdir(), "authplane-e2e-")),
    });
    // A look-alike app on the same parent domain, same code, but NOT in TRUSTED_ORIGINS.
    roguePool = new pg.Pool({ connectionString: platform.databaseUrl, max: 1 });
    const app = demoApp({ slug: "app-three", authServiceUrl: platform.authUrl, rpId: DOMAIN, pool: roguePool, proxySecret: platform.proxySecret });
    rogue = serve({ fetch: app.fetch, port: three!, hostname: "127.0.0.1", createServer, serverOptions: { key: platform.tls.key, cert: platform.tls.cert } }) as Server;
    rogueUrl = `https://app-three.${DOMAIN}:${three}`;
    browser = await launchChromium({ domain: DOMAIN, spkiSha256: platform.tls.spkiSha256 });
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

  const click = async (id: string) => {
    await page.click(`#${id}`);
    await page.waitForFunction((expected) => document.getElementById("status")?.textContent?.startsWith(`${expected}:`), id);
    return page.textContent("#status");
  };
  const whoami = () => page.textContent("#whoami");

  it("registers a passkey on app-one", async () => {
    await page.goto(platform.appUrls["app-one"]!);
    await page.waitForFunction(() => document.getElementById("whoami")?.textContent === "signed out");
    await page.fill("#email", EMAIL);
    await page.fill("#name", "Ada");
    expect(await click("sign-up")).toBe("sign-up: ok");
    expect(await whoami()).toBe(EMAIL);
    expect(await click("register-passkey")).toBe("register-passkey: ok");
    expect(await click("sign-out")).toBe("sign-out: ok");
    expect(await whoami()).toBe("signed out");
  });

  it("signs in with that passkey on app-two, with no password", async () => {
    await page.goto(platform.appUrls["app-two"]!);
    await page.waitForFunction(() => document.getElementById("whoami")?.textContent === "signed out");
    expect(await click("sign-in-passkey")).toBe("sign-in-passkey: ok");
    expect(await whoami()).toBe(EMAIL);
  });

  it("mints a token on app-two whose claims name the user, the app, the role and its permissions", async () => {
    await page.fill("#org-slug", "app-two");
    expect(await click("set-active-org")).toBe("set-active-org: ok");
    expect(await click("get-token")).toBe("get-token: ok");
    const claims = JSON.parse((await page.textContent("#token-claims"))!);
    expect(claims).toMatchObject({ email: EMAIL, org_slug: "app-two", role: "user", permissions: { app_two: ["read", "write"] }, iss: `https://auth.${DOMAIN}`, aud: "authplane-local" });
    expect(claims.exp - claims.iat).toBe(900);

    // And it verifies against the published JWKS, as the authorizer will do.
    const jwks = (await (await fetch(`${platform.authUrl}/api/auth/jwks`)).json()) as JSONWebKeySet;
    const token = await page.evaluate(async () => ((await (await fetch("/api/auth/token")).json()) as { token: string }).token);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: `https://auth.${DOMAIN}`, audience: "authplane-local" });
    expect(payload.sub).toBe(claims.sub);
  });

  it("refuses a look-alike app outside the allowlist, even on the same parent domain", async () => {
    await click("sign-out");
    await page.goto(rogueUrl);
    const refused = page.waitForResponse((r) => r.url().includes("/api/auth/passkey/"));
    await page.click("#sign-in-passkey");
    expect((await refused).status()).toBeGreaterThanOrEqual(400);
    expect((await refused).status()).toBeLessThan(500);
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("sign-in-passkey:"));
    expect(await page.textContent("#status")).not.toBe("sign-in-passkey: ok");
    expect(await whoami()).toBe("signed out");

    // And a direct call naming a foreign origin is refused before Better Auth runs.
    const direct = await fetch(`${platform.authUrl}/api/auth/passkey/generate-authenticate-options`, {
      headers: { origin: rogueUrl, "x-forwarded-host": new URL(platform.appUrls["app-two"]!).host, "x-forwarded-proto": "https" },
    });
    expect(direct.status).toBe(403);
    expect(await direct.json()).toMatchObject({ error: "origin_not_allowed" });
  });
});
