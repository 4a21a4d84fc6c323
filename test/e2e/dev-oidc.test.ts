/**
 * The OpenID Provider in `make dev`, as a tool on the developer's machine meets it: openid-client
 * speaks real HTTPS to the issuer https://auth.authplane.test:<port> (the platform's local CA, the
 * name resolved to loopback as /etc/hosts would), discovers the endpoints, and runs an
 * authorization code + PKCE flow for the demo client with a loopback callback (dev/try-oidc.ts,
 * the script the banner points to) while Chromium signs in on the provider's page with a passkey
 * registered on app-one. The ID token and userinfo carry app-one's role.
 */
import { readFileSync } from "node:fs";
import * as oidc from "openid-client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localHttpsFetch } from "../../dev/local-fetch.js";
import type { Platform } from "../../dev/platform.js";
import { signInToTool } from "../../dev/try-oidc.js";
import { addVirtualAuthenticator } from "../support/chromium.js";
import { claims, click, DOMAIN, launchFor, open, screenshots, startTestPlatform, whoami } from "./demo-page.js";

const EMAIL = "katherine@example.org";
const shot = screenshots("dev-oidc");

describe("the OpenID Provider in make dev", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ platform } = await startTestPlatform("e2e_dev_oidc"));
    browser = await launchFor(platform);
    page = await (await browser.newContext()).newPage();
    await addVirtualAuthenticator(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("serves discovery at the issuer, over HTTPS with the local CA, naming endpoints on the issuer", async () => {
    expect(platform.issuer).toMatch(new RegExp(`^https://auth\\.${DOMAIN.replace(".", "\\.")}:\\d+$`));
    const fetch = localHttpsFetch({ ca: readFileSync(platform.tls.caCertPath), domain: DOMAIN }) as oidc.CustomFetch;
    const rp = await oidc.discovery(new URL(platform.issuer), platform.oidcClient.clientId, { token_endpoint_auth_method: "none" }, oidc.None(), { [oidc.customFetch]: fetch });
    const meta = rp.serverMetadata();
    expect(meta.issuer).toBe(platform.issuer);
    for (const endpoint of [meta.authorization_endpoint, meta.token_endpoint, meta.jwks_uri, meta.userinfo_endpoint]) {
      expect(endpoint?.startsWith(`${platform.issuer}/`), endpoint).toBe(true);
    }
    expect(meta.code_challenge_methods_supported).toContain("S256");
  });

  it("a person with a passkey from app-one signs in to the demo tool: code + PKCE, ID token for app-one", async () => {
    // Sign up on app-one (joined as `user`), add a passkey, sign out: the provider must ask.
    await open(page, platform.appUrls["app-one"]!);
    await page.fill("#email", EMAIL);
    await page.fill("#name", "Katherine");
    expect(await click(page, "#sign-up")).toMatchObject({ outcome: "ok" });
    expect(await click(page, "#register-passkey")).toMatchObject({ outcome: "ok" });
    expect(await click(page, "#sign-out")).toMatchObject({ outcome: "ok" });
    expect(await whoami(page)).toBe("signed out");

    const result = await signInToTool({
      issuer: platform.issuer,
      clientId: platform.oidcClient.clientId,
      ca: readFileSync(platform.tls.caCertPath),
      open: async (url) => {
        await page.goto(url);
        expect(new URL(page.url()).origin).toBe(platform.issuer);
        expect(new URL(page.url()).pathname).toBe("/oidc/sign-in");
        await shot(page, "provider-sign-in");
        await page.click("#sign-in-passkey");
      },
    });
    // A free loopback port, not the registered 8400: RFC 8252 loopback redirects may vary the port.
    expect(result.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    await page.waitForURL((u) => u.toString().startsWith(result.redirectUri));
    await shot(page, "tool-callback");
    expect(result.idToken).toMatchObject({ iss: platform.issuer, aud: platform.oidcClient.clientId, email: EMAIL, org_slug: "app-one", role: "user", roles: ["user"] });
    expect(result.userinfo).toMatchObject({ sub: result.idToken.sub, email: EMAIL, org_slug: "app-one", permissions: { app_one: ["read", "write"] } });
  });

  it("someone who belongs only to app-two is refused with access_denied on the tool's own callback", async () => {
    const other = await (await browser.newContext()).newPage();
    try {
      await open(other, platform.appUrls["app-two"]!);
      await other.fill("#email", "mary@example.org");
      await other.fill("#name", "Mary");
      expect(await click(other, "#sign-up")).toMatchObject({ outcome: "ok" });
      // Signed in on the parent domain: the provider knows her at once, and she is not app-one's.
      const refused = signInToTool({
        issuer: platform.issuer,
        clientId: platform.oidcClient.clientId,
        ca: readFileSync(platform.tls.caCertPath),
        open: async (url) => void (await other.goto(url)),
      });
      await expect(refused).rejects.toMatchObject({ error: "access_denied", error_description: expect.stringContaining("mary@example.org is not a member of app-one") });
      expect(new URL(other.url())).toMatchObject({ hostname: "127.0.0.1", pathname: "/callback" });
    } finally {
      await other.context().close();
    }
  });

  it("the apps' own tokens carry the same issuer the provider announces", async () => {
    // Signed in through the provider; the session is shared on the parent domain.
    await open(page, platform.appUrls["app-one"]!);
    expect(await whoami(page)).toBe(EMAIL);
    expect(await claims(page)).toMatchObject({ iss: platform.issuer, org_slug: "app-one" });
  });
});
