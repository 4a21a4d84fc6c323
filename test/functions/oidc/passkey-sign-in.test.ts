/**
 * In a real Chromium: a tool sends the browser to authplane's authorize endpoint, the provider's
 * sign-in page signs the person in with a passkey (virtual authenticator) on the auth domain,
 * and the browser lands on the tool's callback with a code that openid-client redeems for an
 * ID token carrying the person's role in that tool's app. A second tool then goes straight
 * through: the person is already signed in (SSO).
 */
import { serve } from "@hono/node-server";
import { cpSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as oidc from "openid-client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLocalTls } from "../../../dev/tls.js";
import { createApp } from "../../../functions/auth/app.js";
import { createAuth, createPool } from "../../../functions/auth/auth.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { runApps } from "../../../ops/apps.js";
import { addVirtualAuthenticator, launchChromium } from "../../support/chromium.js";
import { freshDatabaseUrl } from "../../support/database.js";
import { freePort } from "../../support/postgres.js";
import { GRAFANA_CALLBACK, GRAFANA_LOGOUT, WIKI_CALLBACK } from "./support.js";

const DOMAIN = "authplane.test";
const EMAIL = "grace@example.org";

describe("signing in to a tool through authplane's provider with a passkey, in Chromium", () => {
  let server: Server;
  let pool: ReturnType<typeof createPool>;
  let authUrl: string;
  let browser: Browser;
  let page: Page;
  let grafana: oidc.Configuration;
  let wiki: oidc.Configuration;
  let app: ReturnType<typeof createApp>;
  const callbacks: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    authUrl = `https://auth.${DOMAIN}:${port}`;
    const databaseUrl = await freshDatabaseUrl("oidc_e2e");
    const config = configFromEnv({
      DATABASE_URL: databaseUrl,
      BETTER_AUTH_URL: authUrl,
      BETTER_AUTH_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
      // The auth domain runs the passkey ceremony itself, so it is a trusted origin too.
      TRUSTED_ORIGINS: authUrl,
      PASSKEY_RP_ID: DOMAIN,
      ALLOWED_RP_IDS: DOMAIN,
      JWT_ISSUER: authUrl,
      JWT_AUDIENCE: "authplane-apps",
      EMAIL_PASSWORD_ENABLED: "true",
    });
    await migrate(config);
    pool = createPool(config);
    app = createApp(config, { auth: createAuth(config, { pool }) });
    const tls = ensureLocalTls(mkdtempSync(join(tmpdir(), "oidc-tls-")), DOMAIN);
    server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1", createServer, serverOptions: { key: tls.key, cert: tls.cert } }) as Server;
    if (!server.listening) await new Promise((r) => server.once("listening", r));

    const appsDir = mkdtempSync(join(tmpdir(), "oidc-apps-"));
    cpSync("test/fixtures/oidc-apps", appsDir, { recursive: true });
    const applied = await runApps(["apply", "--dir", appsDir], { DATABASE_URL: databaseUrl });
    const secret = applied.join("\n").match(/oidc client grafana .*shown once, store it now\): (\S+)/)![1]!;

    // The relying parties' back channel goes into the same app (their servers, not the browser).
    const rpFetch: oidc.CustomFetch = async (url, init) => app.request(url, { method: init.method, headers: init.headers as HeadersInit, body: init.body as BodyInit | undefined });
    grafana = await oidc.discovery(new URL(authUrl), "grafana", { client_secret: secret }, oidc.ClientSecretBasic(secret), { [oidc.customFetch]: rpFetch });
    grafana[oidc.customFetch] = rpFetch;
    wiki = await oidc.discovery(new URL(authUrl), "team-wiki", { token_endpoint_auth_method: "none" }, oidc.None(), { [oidc.customFetch]: rpFetch });
    wiki[oidc.customFetch] = rpFetch;

    browser = await launchChromium({ domain: DOMAIN, spkiSha256: tls.spkiSha256 });
    page = await (await browser.newContext()).newPage();
    await addVirtualAuthenticator(page);
    // The tools' callbacks: record where the browser lands, answer with a blank page.
    for (const callback of [GRAFANA_CALLBACK, WIKI_CALLBACK, GRAFANA_LOGOUT]) {
      await page.route(`${callback}**`, (route) => {
        callbacks.push(route.request().url());
        return route.fulfill({ status: 200, contentType: "text/html", body: "<p>callback</p>" });
      });
    }

    // Grace has an account with a passkey (registered on the auth domain) and is a Grafana editor.
    await page.goto(`${authUrl}/oidc/sign-in`);
    const registered = await page.evaluate(async (email) => {
      const b64 = (buf: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      const unb64 = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const post = (path: string, body: unknown) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const signUp = await post("/api/auth/sign-up/email", { email, name: "Grace", password: "correct horse battery staple" });
      if (!signUp.ok) return `sign-up ${signUp.status}`;
      const o = await (await fetch("/api/auth/passkey/generate-register-options")).json();
      const cred = (await navigator.credentials.create({
        publicKey: { ...o, challenge: unb64(o.challenge), user: { ...o.user, id: unb64(o.user.id) }, excludeCredentials: (o.excludeCredentials ?? []).map((c: { id: string }) => ({ ...c, id: unb64(c.id) })) },
      })) as PublicKeyCredential;
      const r = cred.response as AuthenticatorAttestationResponse;
      const verified = await post("/api/auth/passkey/verify-registration", {
        response: { id: cred.id, rawId: b64(cred.rawId), type: cred.type, response: { clientDataJSON: b64(r.clientDataJSON), attestationObject: b64(r.attestationObject), transports: r.getTransports() } },
      });
      if (!verified.ok) return `verify-registration ${verified.status} ${await verified.text()}`;
      const out = await post("/api/auth/sign-out", {});
      return out.ok ? "ok" : `sign-out ${out.status}`;
    }, EMAIL);
    expect(registered).toBe("ok");
    await runApps(["grant", "--app", "grafana", "--email", EMAIL, "--role", "editor"], { DATABASE_URL: databaseUrl });
    await runApps(["grant", "--app", "wiki", "--email", EMAIL, "--role", "author"], { DATABASE_URL: databaseUrl });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await pool?.end();
  });

  async function start(config: oidc.Configuration, redirectUri: string) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: "openid profile email", code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256", state, nonce });
    return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
  }

  async function landed(redirectUri: string): Promise<URL> {
    await page.waitForURL((u) => u.toString().startsWith(redirectUri));
    return new URL(callbacks.at(-1)!);
  }

  it("signs in with the passkey on the provider's page and lands on Grafana's callback with a code", async () => {
    const { url, checks } = await start(grafana, GRAFANA_CALLBACK);
    await page.goto(url.toString());
    expect(new URL(page.url()).pathname).toBe("/oidc/sign-in");
    await page.click("#sign-in-passkey");
    const callback = await landed(GRAFANA_CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(grafana, callback, checks);
    expect(tokens.claims()).toMatchObject({ iss: authUrl, aud: "grafana", email: EMAIL, org_slug: "grafana", role: "editor", roles: ["editor"] });
  });

  it("a second tool goes straight through: already signed in, consent asked once for the untrusted one", async () => {
    const { url, checks } = await start(wiki, WIKI_CALLBACK);
    await page.goto(url.toString());
    expect(new URL(page.url()).pathname).toBe("/oidc/consent");
    await page.waitForFunction(() => document.getElementById("client-name")?.textContent === "Team Wiki");
    await page.click("#allow");
    const callback = await landed(WIKI_CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(wiki, callback, checks);
    expect(tokens.claims()).toMatchObject({ aud: "team-wiki", email: EMAIL, org_slug: "wiki", role: "author" });
  });

  it("Grafana's sign-out (end-session without an id_token_hint) asks to confirm, ends the session and returns to Grafana", async () => {
    const end = oidc.buildEndSessionUrl(grafana, { post_logout_redirect_uri: GRAFANA_LOGOUT });
    await page.goto(end.toString());
    await page.click("button[value=confirm]");
    await page.waitForURL((u) => u.toString().startsWith(GRAFANA_LOGOUT));
    await page.goto(`${authUrl}/oidc/sign-in`);
    const session = await page.evaluate(async () => (await fetch("/api/auth/get-session")).json());
    expect(session).toBeNull();
    // And the next sign-in to a tool asks for the passkey again.
    const { url } = await start(grafana, GRAFANA_CALLBACK);
    await page.goto(url.toString());
    expect(new URL(page.url()).pathname).toBe("/oidc/sign-in");
  });
});
