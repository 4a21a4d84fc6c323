/**
 * Signing in at the provider with Google (a fake Google on loopback, spoken to over real HTTP
 * by Better Auth's own OAuth client): the provider's signed request rides along with the social
 * sign-in, and when Google sends the browser back, the provider resumes the authorization and
 * redirects to the tool's callback: a code for a member, access_denied for anyone else.
 */
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGoogle, type FakeGoogle } from "../../support/fake-google.js";
import { AUTH_URL, type Browser } from "../auth/harness.js";
import { authDomainBrowser, authorizationRequest, GRAFANA_CALLBACK, navigate, relyingParty, startOidcService, type OidcService } from "./support.js";

describe("signing in at the provider with Google", () => {
  let google: FakeGoogle;
  let service: OidcService;
  let grafana: oidc.Configuration;

  beforeAll(async () => {
    google = await startFakeGoogle();
    service = await startOidcService("oidc_google", {
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_OIDC_DISCOVERY_URL: google.discoveryUrl,
    });
    grafana = await relyingParty(service, "grafana", service.grafanaSecret);
  });
  afterAll(async () => {
    await service?.close();
    await google?.close();
  });

  /** What the sign-in page's Google button does, then the browser's redirects until it leaves the auth domain. */
  async function viaGoogle(browser: Browser, login: URL): Promise<URL> {
    const params = new URLSearchParams(login.search);
    const names = new Set(params.getAll("ba_param"));
    const signed = new URLSearchParams([...params].filter(([k]) => k === "sig" || k === "ba_param" || names.has(k))).toString();
    const start = await browser.json<{ url: string }>("/api/auth/sign-in/social", { body: { provider: "google", callbackURL: login.toString(), oauth_query: signed } });
    let url = new URL(start.url);
    for (let hop = 0; hop < 6; hop++) {
      if (url.origin === new URL(google.issuer).origin) {
        const res = await fetch(url, { redirect: "manual" });
        url = new URL(res.headers.get("location")!, url);
      } else if (url.origin === AUTH_URL && url.pathname.startsWith("/api/auth/")) {
        url = await navigate(browser, url);
      } else return url;
    }
    throw new Error(`too many redirects, at ${url}`);
  }

  it("a person who is not a member is refused after Google; once granted, the same flow yields a code", async () => {
    google.setUser({ sub: "google-gina", email: "gina@example.org", name: "Gina" });
    const browser = authDomainBrowser(service);
    const first = await authorizationRequest(grafana, GRAFANA_CALLBACK);
    const login = await navigate(browser, first.url);
    expect(login.pathname).toBe("/oidc/sign-in");
    expect(await (await browser.fetch(login.pathname + login.search)).text()).toContain('id="sign-in-google"');
    const refused = await viaGoogle(browser, login);
    expect(refused.origin + refused.pathname).toBe(GRAFANA_CALLBACK);
    expect(refused.searchParams.get("error")).toBe("access_denied");
    expect(google.tokenRequests).toBe(1);

    await service.apps("grant", "--app", "grafana", "--email", "gina@example.org", "--role", "viewer");
    await browser.fetch("/api/auth/sign-out", { body: {} });
    const second = await authorizationRequest(grafana, GRAFANA_CALLBACK);
    const callback = await viaGoogle(browser, await navigate(browser, second.url));
    expect(callback.origin + callback.pathname).toBe(GRAFANA_CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce });
    expect(tokens.claims()).toMatchObject({ email: "gina@example.org", org_slug: "grafana", role: "viewer" });
  });
});
