/**
 * authplane as an OpenID Provider, end to end: openid-client (a maintained relying-party
 * library) against the real service and PostgreSQL, clients applied from app files by the real
 * `apps apply`, people signed in through the service's own HTTP API.
 */
import * as oidc from "openid-client";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashClientSecret } from "../../../functions/auth/oidc-provider.js";
import { AUTH_URL, type Browser } from "../auth/harness.js";
import {
  authDomainBrowser,
  authorizationRequest,
  GRAFANA_CALLBACK,
  GRAFANA_LOGOUT,
  navigate,
  PASSWORD,
  relyingParty,
  startOidcService,
  WIKI_CALLBACK,
  withServiceReachable,
  type OidcService,
} from "./support.js";

/** The OAuth error a rejected grant came back with, as openid-client reports it. */
async function oauthError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) return err.error;
    // A 401 with a Basic challenge: the OAuth error is in the body.
    if (err instanceof oidc.WWWAuthenticateChallengeError) return ((await err.response.json()) as { error: string }).error;
    throw err;
  }
  throw new Error("expected an OAuth error, got a success");
}

describe("authplane as an OpenID Provider", () => {
  let service: OidcService;
  let grafana: oidc.Configuration;
  let wiki: oidc.Configuration;
  let ada: Browser;
  let bob: Browser;

  beforeAll(async () => {
    service = await startOidcService("oidc");
    ada = authDomainBrowser(service);
    await ada.signUp("ada@example.org", "Ada");
    await service.apps("grant", "--app", "grafana", "--email", "ada@example.org", "--role", "editor");
    bob = authDomainBrowser(service);
    await bob.signUp("bob@example.org", "Bob");
    await service.apps("grant", "--app", "wiki", "--email", "bob@example.org", "--role", "reader");
    grafana = await relyingParty(service, "grafana", service.grafanaSecret);
    wiki = await relyingParty(service, "team-wiki");
  });
  afterAll(() => service?.close());

  /** Ada (signed in) through authorize → code → tokens, as Grafana would. */
  async function signInToGrafana(scope = "openid profile email offline_access") {
    const request = await authorizationRequest(grafana, GRAFANA_CALLBACK, scope);
    const callback = await navigate(ada, request.url);
    const tokens = await oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    return { request, callback, tokens };
  }

  describe("clients as data", () => {
    it("apply created each app's client, printed the confidential one's secret once and stored only its hash", async () => {
      expect(service.applied).toEqual(expect.arrayContaining([expect.stringMatching(/^created oidc client team-wiki \(public\) for wiki$/)]));
      const { rows } = await service.pool.query(`SELECT "clientId", "clientSecret", "referenceId", "skipConsent", "tokenEndpointAuthMethod" FROM "oauthClient" ORDER BY "clientId"`);
      const org = async (slug: string) => (await service.pool.query(`SELECT id FROM "organization" WHERE slug = $1`, [slug])).rows[0].id;
      expect(rows).toEqual([
        { clientId: "grafana", clientSecret: hashClientSecret(service.grafanaSecret), referenceId: await org("grafana"), skipConsent: true, tokenEndpointAuthMethod: "client_secret_basic" },
        { clientId: "team-wiki", clientSecret: null, referenceId: await org("wiki"), skipConsent: false, tokenEndpointAuthMethod: "none" },
      ]);
      expect(JSON.stringify(rows)).not.toContain(service.grafanaSecret);
      // Nor is it in the audit trail of the apply that printed it.
      const audit = await service.pool.query(`SELECT detail::text AS detail FROM authplane_audit WHERE action = 'apps.apply'`);
      expect(audit.rows.length).toBeGreaterThan(0);
      expect(audit.rows.map((r) => r.detail).join("\n")).not.toContain(service.grafanaSecret);
      expect(audit.rows.map((r) => r.detail).join("\n")).toContain("client secret issued (not recorded)");
    });

    it("a second apply changes nothing and prints no secret", async () => {
      expect(await service.apps("apply", "--dir", service.appsDir)).toEqual(["no changes: the database already matches the app files"]);
    });

    it("a changed redirect URI is applied as an update, then is idempotent again", async () => {
      const file = join(service.appsDir, "wiki.json");
      const original = readFileSync(file, "utf8");
      const wikiApp = JSON.parse(original);
      wikiApp.oidc.redirectUris.push("http://127.0.0.1/callback");
      writeFileSync(file, JSON.stringify(wikiApp));
      expect(await service.apps("apply", "--dir", service.appsDir)).toEqual(["updated oidc client team-wiki of wiki (redirectUris)"]);
      writeFileSync(file, original);
      expect(await service.apps("apply", "--dir", service.appsDir)).toEqual(["updated oidc client team-wiki of wiki (redirectUris)"]);
      expect(await service.apps("apply", "--dir", service.appsDir)).toEqual(["no changes: the database already matches the app files"]);
    });

    it.each([
      ["javascript:alert(1)", /redirectUris\.0: must be https/],
      ["https://*.wiki.authplane.test/callback", /redirectUris\.0: wildcards are not allowed/],
      ["http://wiki.authplane.test/callback", /redirectUris\.0: must be https/],
      ["data:text/html,hi", /redirectUris\.0: must be https/],
      ["https://wiki.authplane.test/callback#x", /redirectUris\.0: must be an absolute URI without a fragment/],
    ])("registration refuses the redirect URI %s, and writes nothing", async (uri, message) => {
      const file = join(service.appsDir, "wiki.json");
      const original = readFileSync(file, "utf8");
      const wikiApp = JSON.parse(original);
      wikiApp.oidc.redirectUris = [uri];
      writeFileSync(file, JSON.stringify(wikiApp));
      try {
        await expect(service.apps("apply", "--dir", service.appsDir)).rejects.toThrow(message);
      } finally {
        writeFileSync(file, original);
      }
      const { rows } = await service.pool.query(`SELECT "redirectUris" FROM "oauthClient" WHERE "clientId" = 'team-wiki'`);
      expect(rows[0].redirectUris).toEqual([WIKI_CALLBACK, "org.authplane.wiki:/callback"]);
    });

    it("rotate-oidc-secret prints a new secret once; the old one stops working", async () => {
      const [line] = await service.apps("rotate-oidc-secret", "--app", "grafana");
      const fresh = line!.match(/^rotated the secret of oidc client grafana; client secret \(shown once, store it now\): (\S+)$/)![1]!;
      expect(fresh).not.toBe(service.grafanaSecret);
      const audit = await service.pool.query(`SELECT detail::text AS detail FROM authplane_audit WHERE action = 'apps.rotate-oidc-secret'`);
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0].detail).not.toContain(fresh);
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      expect(await oauthError(oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }))).toBe("invalid_client");
      const rotated = await relyingParty(service, "grafana", fresh);
      const again = await authorizationRequest(rotated, GRAFANA_CALLBACK);
      const tokens = await oidc.authorizationCodeGrant(rotated, await navigate(ada, again.url), { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce });
      expect(tokens.claims()).toMatchObject({ aud: "grafana" });
      await expect(service.apps("rotate-oidc-secret", "--app", "wiki")).rejects.toThrow(/is public: it has no secret/);
      // The rest of this file signs in as Grafana with the current secret.
      grafana = rotated;
      expect(await service.apps("apply", "--dir", service.appsDir)).toEqual(["no changes: the database already matches the app files"]);
    });

    it("the provider's own registration paths refuse too: no dynamic registration, no client CRUD for a session, javascript: rejected", async () => {
      const register = await ada.fetch("/api/auth/oauth2/register", { body: { redirect_uris: ["https://evil.example/cb"], token_endpoint_auth_method: "none" } });
      expect(register.status).toBe(403);
      expect(await register.json()).toMatchObject({ error: "access_denied" });
      const create = await ada.fetch("/api/auth/oauth2/create-client", { body: { redirect_uris: ["https://evil.example/cb"] } });
      expect(create.status).toBe(401);
      await expect(service.auth.api.adminCreateOAuthClient({ body: { redirect_uris: ["javascript:alert(1)"] } })).rejects.toMatchObject({ statusCode: 400 });
      expect((await service.pool.query(`SELECT count(*)::int AS n FROM "oauthClient"`)).rows[0].n).toBe(2);
    });
  });

  describe("discovery", () => {
    it("publishes the issuer (the service URL), its endpoints and the JWKS at the root", async () => {
      const res = await service.app.request(`${AUTH_URL}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc).toMatchObject({
        issuer: AUTH_URL,
        authorization_endpoint: `${AUTH_URL}/api/auth/oauth2/authorize`,
        token_endpoint: `${AUTH_URL}/api/auth/oauth2/token`,
        userinfo_endpoint: `${AUTH_URL}/api/auth/oauth2/userinfo`,
        end_session_endpoint: `${AUTH_URL}/api/auth/oauth2/end-session`,
        jwks_uri: `${AUTH_URL}/api/auth/jwks`,
        code_challenge_methods_supported: ["S256"],
        response_types_supported: ["code"],
      });
      expect(doc.grant_types_supported).toEqual(["authorization_code", "refresh_token"]);
      expect(doc.claims_supported).toEqual(expect.arrayContaining(["role", "roles", "permissions", "org_slug"]));
      const jwks = await service.app.request(doc.jwks_uri as string);
      expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
      const as = await service.app.request(`${AUTH_URL}/.well-known/oauth-authorization-server`);
      expect(((await as.json()) as { issuer: string }).issuer).toBe(AUTH_URL);
    });
  });

  describe("authorization code + PKCE", () => {
    it("a signed-in member of a trusted client's app goes straight through; the library validates the ID token and it carries the app's role and permissions", async () => {
      const { request, callback, tokens } = await signInToGrafana();
      expect(callback.origin + callback.pathname).toBe(GRAFANA_CALLBACK);
      expect(callback.searchParams.get("state")).toBe(request.state);
      const claims = tokens.claims()!;
      expect(claims).toMatchObject({
        iss: AUTH_URL,
        aud: "grafana",
        nonce: request.nonce,
        email: "ada@example.org",
        org_slug: "grafana",
        role: "editor",
        roles: ["editor"],
        permissions: { dashboard: ["edit", "read"] },
      });
      expect(tokens.refresh_token).toBeTruthy();
    });

    it("userinfo carries the same app claims", async () => {
      const { tokens } = await signInToGrafana();
      const info = await oidc.fetchUserInfo(grafana, tokens.access_token, tokens.claims()!.sub);
      expect(info).toMatchObject({ email: "ada@example.org", org_slug: "grafana", role: "editor", roles: ["editor"], permissions: { dashboard: ["edit", "read"] } });
    });

    it("several roles appear as a list", async () => {
      await service.apps("grant", "--app", "grafana", "--email", "ada@example.org", "--role", "grafana-admin");
      const { tokens } = await signInToGrafana();
      expect(tokens.claims()).toMatchObject({ role: "editor,grafana-admin", roles: ["editor", "grafana-admin"], permissions: { dashboard: ["admin", "edit", "read"] } });
      await service.apps("revoke", "--app", "grafana", "--email", "ada@example.org", "--role", "grafana-admin");
    });

    it("refresh tokens rotate: the new one works, the old one is refused", async () => {
      const { tokens } = await signInToGrafana();
      const first = tokens.refresh_token!;
      const rotated = await oidc.refreshTokenGrant(grafana, first);
      expect(rotated.refresh_token).toBeTruthy();
      expect(rotated.refresh_token).not.toBe(first);
      expect(rotated.claims()).toMatchObject({ role: "editor", org_slug: "grafana" });
      expect(await oauthError(oidc.refreshTokenGrant(grafana, first))).toBe("invalid_grant");
    });

    it("someone removed from the app can no longer refresh or read userinfo", async () => {
      const erin = authDomainBrowser(service);
      await erin.signUp("erin@example.org", "Erin");
      await service.apps("grant", "--app", "grafana", "--email", "erin@example.org", "--role", "viewer");
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK, "openid email offline_access");
      const tokens = await oidc.authorizationCodeGrant(grafana, await navigate(erin, request.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()).toMatchObject({ role: "viewer" });
      await service.apps("revoke", "--app", "grafana", "--email", "erin@example.org");
      expect(await oauthError(oidc.refreshTokenGrant(grafana, tokens.refresh_token!))).toBe("invalid_grant");
      expect(await oauthError(oidc.fetchUserInfo(grafana, tokens.access_token, tokens.claims()!.sub))).toBe("invalid_token");
    });

    it("a person signs in at the provider's page first when not yet signed in, then the flow resumes", async () => {
      const browser = authDomainBrowser(service);
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const login = await navigate(browser, request.url);
      expect(login.pathname).toBe("/oidc/sign-in");
      const page = await browser.fetch(login.pathname + login.search);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(await page.text()).toContain('id="sign-in-passkey"');
      // What the page's script sends: the sign-in plus the provider's signed query.
      const params = new URLSearchParams(login.search);
      const names = new Set(params.getAll("ba_param"));
      const signed = new URLSearchParams([...params].filter(([k]) => k === "sig" || k === "ba_param" || names.has(k))).toString();
      const res = await browser.json<{ redirect: boolean; url: string }>("/api/auth/sign-in/email", { body: { email: "ada@example.org", password: PASSWORD, oauth_query: signed } });
      expect(res.redirect).toBe(true);
      const tokens = await oidc.authorizationCodeGrant(grafana, new URL(res.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()).toMatchObject({ email: "ada@example.org", role: "editor" });
    });

    it("an untrusted client shows consent; after Allow the member gets a code (public client, PKCE, no secret)", async () => {
      const request = await authorizationRequest(wiki, WIKI_CALLBACK);
      const consent = await navigate(bob, request.url);
      expect(consent.pathname).toBe("/oidc/consent");
      expect((await bob.fetch(consent.pathname + consent.search)).status).toBe(200);
      const params = new URLSearchParams(consent.search);
      const names = new Set(params.getAll("ba_param"));
      const signed = new URLSearchParams([...params].filter(([k]) => k === "sig" || k === "ba_param" || names.has(k))).toString();
      const res = await bob.json<{ url: string }>("/api/auth/oauth2/consent", { body: { accept: true, oauth_query: signed } });
      const tokens = await oidc.authorizationCodeGrant(wiki, new URL(res.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()).toMatchObject({ aud: "team-wiki", email: "bob@example.org", org_slug: "wiki", role: "reader", permissions: { page: ["read"] } });
      expect(tokens.refresh_token).toBeUndefined();
      // Consent is remembered: the next authorization goes straight through.
      const again = await authorizationRequest(wiki, WIKI_CALLBACK);
      expect((await navigate(bob, again.url)).origin + (await navigate(bob, again.url)).pathname).toBe(WIKI_CALLBACK);
    });

    it("RP-initiated logout ends the provider session and returns to the registered URI", async () => {
      const carol = authDomainBrowser(service);
      await carol.signUp("carol@example.org", "Carol");
      await service.apps("grant", "--app", "grafana", "--email", "carol@example.org", "--role", "viewer");
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK, "openid email");
      const callback = await navigate(carol, request.url);
      const tokens = await oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()!.sid).toBeTruthy();
      const end = oidc.buildEndSessionUrl(grafana, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: GRAFANA_LOGOUT, state: "bye" });
      // The provider checks the hint against its own JWKS URL over HTTP: route that to the service.
      const back = await withServiceReachable(service, () => navigate(carol, end));
      expect(back.origin + back.pathname).toBe(GRAFANA_LOGOUT);
      expect(back.searchParams.get("state")).toBe("bye");
      expect(await carol.json("/api/auth/get-session")).toBeNull();
    });
  });

  describe("refusals, each with its OAuth error", () => {
    it("a redirect URI that is not registered exactly never receives the browser", async () => {
      for (const uri of [`${GRAFANA_CALLBACK}/x`, "https://evil.example/login/generic_oauth", `${GRAFANA_CALLBACK}?next=1`]) {
        const request = await authorizationRequest(grafana, uri);
        const to = await navigate(ada, request.url);
        expect(to.origin + to.pathname).toBe(`${AUTH_URL}/api/auth/error`);
        expect(to.searchParams.get("error")).toBe("invalid_redirect");
      }
    });

    it("a public client without a PKCE challenge is refused with invalid_request", async () => {
      const url = oidc.buildAuthorizationUrl(wiki, { redirect_uri: WIKI_CALLBACK, scope: "openid", state: "s1" });
      const to = await navigate(bob, url);
      expect(to.origin + to.pathname).toBe(WIKI_CALLBACK);
      expect(to.searchParams.get("error")).toBe("invalid_request");
      expect(to.searchParams.get("state")).toBe("s1");
    });

    it.each([
      ["missing", undefined, "invalid_request"],
      ["wrong", oidc.randomPKCECodeVerifier(), "invalid_grant"],
    ])("a %s PKCE verifier is refused with %s", async (_, verifier, error) => {
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      const exchange = oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(await oauthError(exchange)).toBe(error);
    });

    it("a code works once: the replay is refused with invalid_grant", async () => {
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      const checks = { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce };
      await oidc.authorizationCodeGrant(grafana, callback, checks);
      expect(await oauthError(oidc.authorizationCodeGrant(grafana, callback, checks))).toBe("invalid_grant");
    });

    it("an expired code is refused with invalid_grant", async () => {
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      // The code's clock: its stored expiry (one minute after issue) moved into the past.
      const stored = hashClientSecret(callback.searchParams.get("code")!);
      const moved = await service.pool.query(`UPDATE "verification" SET "expiresAt" = now() - interval '1 second' WHERE identifier = $1`, [stored]);
      expect(moved.rowCount).toBe(1);
      expect(await oauthError(oidc.authorizationCodeGrant(grafana, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }))).toBe("invalid_grant");
    });

    it("a code issued to one app's client is refused to another app's client", async () => {
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      const stolen = new URL(WIKI_CALLBACK);
      stolen.search = callback.search;
      expect(await oauthError(oidc.authorizationCodeGrant(wiki, stolen, { pkceCodeVerifier: request.verifier, expectedState: request.state }))).toBe("invalid_grant");
    });

    it("a person who is not a member of the client's app gets access_denied, not a code", async () => {
      const request = await authorizationRequest(wiki, WIKI_CALLBACK);
      const to = await navigate(ada, request.url);
      expect(to.origin + to.pathname).toBe(WIKI_CALLBACK);
      expect(to.searchParams.get("code")).toBeNull();
      expect(to.searchParams.get("error_description")).toBe("ada@example.org is not a member of Team Wiki; ask its administrator for access");
      expect(await oauthError(oidc.authorizationCodeGrant(wiki, to, { pkceCodeVerifier: request.verifier, expectedState: request.state }))).toBe("access_denied");
    });

    it("a non-member is refused right after signing in at the provider, too", async () => {
      const dave = authDomainBrowser(service);
      await dave.signUp("dave@example.org", "Dave");
      await dave.fetch("/api/auth/sign-out", { body: {} });
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const login = await navigate(dave, request.url);
      const params = new URLSearchParams(login.search);
      const names = new Set(params.getAll("ba_param"));
      const signed = new URLSearchParams([...params].filter(([k]) => k === "sig" || k === "ba_param" || names.has(k))).toString();
      const res = await dave.json<{ url: string }>("/api/auth/sign-in/email", { body: { email: "dave@example.org", password: PASSWORD, oauth_query: signed } });
      const to = new URL(res.url);
      expect(to.searchParams.get("error")).toBe("access_denied");
      expect(to.searchParams.get("code")).toBeNull();
    });

    it("an unknown client gets the provider's error page", async () => {
      const to = await navigate(ada, `${AUTH_URL}/api/auth/oauth2/authorize?response_type=code&client_id=nobody&redirect_uri=${encodeURIComponent(GRAFANA_CALLBACK)}&scope=openid`);
      expect(to.pathname).toBe("/api/auth/error");
      expect(to.searchParams.get("error")).toBe("invalid_client");
    });

    it("a wrong client secret is invalid_client", async () => {
      const wrong = await relyingParty(service, "grafana", "not-the-secret-0123456789abcdefghij");
      const request = await authorizationRequest(grafana, GRAFANA_CALLBACK);
      const callback = await navigate(ada, request.url);
      expect(await oauthError(oidc.authorizationCodeGrant(wrong, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }))).toBe("invalid_client");
    });
  });
});
