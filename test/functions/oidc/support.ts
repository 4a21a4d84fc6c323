/**
 * The auth service as an OpenID Provider on a fresh PostgreSQL, its clients applied from
 * test/fixtures/oidc-apps by the real `apps apply`, and relying parties built with openid-client
 * whose HTTP goes straight into `app.request` (same bytes, no sockets).
 */
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as oidc from "openid-client";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { runApps } from "../../../ops/apps.js";
import { AUTH_URL, Browser, startService, testEnv, type Service } from "../auth/harness.js";

export const GRAFANA_CALLBACK = "https://grafana.authplane.test/login/generic_oauth";
export const GRAFANA_LOGOUT = "https://grafana.authplane.test/login";
export const WIKI_CALLBACK = "https://wiki.authplane.test/auth/callback";
export const PASSWORD = "correct horse battery staple";

export interface OidcService extends Service {
  appsDir: string;
  applied: string[];
  grafanaSecret: string;
  apps(...args: string[]): Promise<string[]>;
}

export async function startOidcService(prefix: string): Promise<OidcService> {
  const env = await testEnv(prefix);
  const service = await startService(env);
  const appsDir = mkdtempSync(join(tmpdir(), "oidc-apps-"));
  cpSync("test/fixtures/oidc-apps", appsDir, { recursive: true });
  const apps = (...args: string[]) => runApps(args, { DATABASE_URL: env.DATABASE_URL });
  const applied = await apps("apply", "--dir", appsDir);
  const grafanaSecret = applied.join("\n").match(/oidc client grafana .*shown once, store it now\): (\S+)/)?.[1];
  if (!grafanaSecret) throw new Error(`apply printed no secret for grafana:\n${applied.join("\n")}`);
  return { ...service, appsDir, applied, grafanaSecret, apps };
}

let nextRp = 1;

/** An RP server's HTTP client: its own source address (rate limits count per address). */
export function rpFetch(service: Service, ip = `10.200.0.${nextRp++}`): oidc.CustomFetch {
  return async (url, init) => {
    const headers = new Headers(init.headers as HeadersInit);
    // What the node adapter records from the socket (server.ts → withSourceIp).
    headers.set(SOURCE_IP_HEADER, ip);
    return service.app.request(url, { method: init.method, headers, body: init.body as BodyInit | undefined, redirect: "manual" });
  };
}

/** A relying party configured from the provider's discovery document, as a real one would be. */
export async function relyingParty(service: Service, clientId: string, secret?: string): Promise<oidc.Configuration> {
  const fetch = rpFetch(service);
  const config = await oidc.discovery(new URL(AUTH_URL), clientId, secret ? { client_secret: secret } : { token_endpoint_auth_method: "none" }, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    [oidc.customFetch]: fetch,
  });
  config[oidc.customFetch] = fetch;
  return config;
}

export interface AuthorizationRequest {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function authorizationRequest(config: oidc.Configuration, redirectUri: string, scope = "openid profile email", extra: Record<string, string> = {}): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

/** A browser on the auth domain itself (where the provider's pages live). */
export function authDomainBrowser(service: Service): Browser {
  return new Browser(service, AUTH_URL);
}

/** Follow the provider's redirect: where did it send the browser? */
export async function navigate(browser: Browser, url: URL | string): Promise<URL> {
  const u = new URL(url);
  const res = await browser.fetch(u.pathname + u.search, { headers: { accept: "text/html", "sec-fetch-mode": "navigate" } });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`expected a redirect from ${u.pathname}, got ${res.status}: ${await res.text()}`);
  return new URL(location, AUTH_URL);
}

/**
 * While `work` runs, the service's own public URL resolves to the service: the provider fetches
 * its JWKS from that URL to check an end-session id_token_hint, as the Lambda does over the
 * internet. Only requests for AUTH_URL's host are routed; anything else fails as before.
 */
export async function withServiceReachable<T>(service: Service, work: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  const host = new URL(AUTH_URL).host;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.host !== host) return original(input, init);
    return service.app.request(input instanceof Request ? input : url.toString(), init);
  }) as typeof fetch;
  try {
    return await work();
  } finally {
    globalThis.fetch = original;
  }
}
