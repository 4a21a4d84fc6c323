/**
 * The OpenID Provider in `make dev`, as a tool on the developer's machine meets it: openid-client
 * speaks real HTTPS to the issuer https://auth.authplane.test:<port> (the platform's local CA, the
 * name resolved to loopback as /etc/hosts would), discovers the endpoints, and runs an
 * authorization code + PKCE flow for the demo client while Chromium signs in on the provider's
 * page with a passkey registered on app-one. The ID token and userinfo carry app-one's role.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import type { LookupFunction } from "node:net";
import * as oidc from "openid-client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Platform } from "../../dev/platform.js";
import { addVirtualAuthenticator } from "../support/chromium.js";
import { click, DOMAIN, launchFor, open, screenshots, startTestPlatform, whoami } from "./demo-page.js";

const EMAIL = "katherine@example.org";
const shot = screenshots("dev-oidc");

/** *.authplane.test is loopback (what the banner's /etc/hosts line does). */
const loopback: LookupFunction = (_host, options, done) => {
  if ((options as { all?: boolean }).all) (done as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
  else done(null, "127.0.0.1", 4);
};

/** An RP's HTTP client over real TLS, trusting only the platform's CA (NODE_EXTRA_CA_CERTS in life). */
function httpsTrusting(ca: Buffer): oidc.CustomFetch {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      if (!target.hostname.endsWith(`.${DOMAIN}`)) return reject(new Error(`the relying party only talks to the local platform, not ${target.host}`));
      const headers = Object.fromEntries(new Headers(init.headers as HeadersInit));
      const req = request(target, { method: init.method, headers, ca, lookup: loopback }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) out.append(name, v);
          const status = res.statusCode ?? 500;
          resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: out }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(init.body === undefined || init.body === null ? undefined : String(init.body));
    });
}

describe("the OpenID Provider in make dev", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let rp: oidc.Configuration;
  let callback: string;
  const landed: string[] = [];

  beforeAll(async () => {
    ({ platform } = await startTestPlatform("e2e_dev_oidc"));
    browser = await launchFor(platform);
    page = await (await browser.newContext()).newPage();
    await addVirtualAuthenticator(page);
    callback = platform.oidcClient.redirectUris[0]!;
    // The tool's loopback callback: record where the browser lands, answer with a blank page.
    await page.route(`${callback}**`, (route) => {
      landed.push(route.request().url());
      return route.fulfill({ status: 200, contentType: "text/html", body: "<p>the tool got its code</p>" });
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("serves discovery at the issuer, over HTTPS with the local CA, naming endpoints on the issuer", async () => {
    expect(platform.issuer).toMatch(new RegExp(`^https://auth\\.${DOMAIN.replace(".", "\\.")}:\\d+$`));
    const fetch = httpsTrusting(readFileSync(platform.tls.caCertPath));
    rp = await oidc.discovery(new URL(platform.issuer), platform.oidcClient.clientId, { token_endpoint_auth_method: "none" }, oidc.None(), { [oidc.customFetch]: fetch });
    rp[oidc.customFetch] = fetch;
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

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: callback,
      scope: "openid profile email",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    await page.goto(url.toString());
    expect(new URL(page.url()).origin).toBe(platform.issuer);
    expect(new URL(page.url()).pathname).toBe("/oidc/sign-in");
    await shot(page, "provider-sign-in");
    await page.click("#sign-in-passkey");
    await page.waitForURL((u) => u.toString().startsWith(callback));

    const tokens = await oidc.authorizationCodeGrant(rp, new URL(landed.at(-1)!), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: platform.issuer, aud: platform.oidcClient.clientId, email: EMAIL, org_slug: "app-one", role: "user", roles: ["user"] });
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: EMAIL, org_slug: "app-one", permissions: { app_one: ["read", "write"] } });
  });

  it("the apps' own tokens carry the same issuer the provider announces", async () => {
    // Signed in again (through the provider's session, shared on the parent domain).
    await open(page, platform.appUrls["app-two"]!);
    expect(await whoami(page)).toBe(EMAIL);
    const iss = JSON.parse((await page.textContent("#token-claims")) || "{}").iss;
    expect(iss).toBe(platform.issuer);
  });
});
