/**
 * Tokens the OpenID Provider mints for an app's client are in the audit trail: the code and
 * refresh grants (openid-client as the relying party, the real service and PostgreSQL), their
 * refusals too, and never a token, code or secret.
 */
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "../auth/harness.js";
import { authDomainBrowser, authorizationRequest, GRAFANA_CALLBACK, navigate, relyingParty, startOidcService, WIKI_CALLBACK, type OidcService } from "./support.js";

describe("audit trail: tokens minted by the OpenID Provider", () => {
  let service: OidcService;
  let grafana: oidc.Configuration;
  let wiki: oidc.Configuration;
  let ada: Browser;
  let adaId: string;
  const minted = async () =>
    (await service.pool.query(`SELECT actor, subject, app, ip, outcome, detail FROM authplane_audit WHERE action = 'token.minted' AND detail->>'via' = 'oidc' ORDER BY id`)).rows;

  beforeAll(async () => {
    service = await startOidcService("oidc_audit");
    ada = authDomainBrowser(service);
    adaId = (await ada.signUp("ada@example.org", "Ada")).user.id;
    await service.apps("grant", "--app", "grafana", "--email", "ada@example.org", "--role", "editor");
    await service.apps("grant", "--app", "wiki", "--email", "ada@example.org", "--role", "reader");
    grafana = await relyingParty(service, "grafana", service.grafanaSecret);
    wiki = await relyingParty(service, "team-wiki");
  });
  afterAll(() => service?.close());

  async function codeGrant(config: oidc.Configuration, callback: string, scope: string) {
    const request = await authorizationRequest(config, callback, scope);
    const redirect = await navigate(ada, request.url);
    return { request, redirect, tokens: await oidc.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }) };
  }

  it("the code grant (confidential client, HTTP Basic) and the refresh grant are each recorded for the app, the person and the client", async () => {
    const { tokens } = await codeGrant(grafana, GRAFANA_CALLBACK, "openid email offline_access");
    await oidc.refreshTokenGrant(grafana, tokens.refresh_token!);
    const rows = await minted();
    expect(rows).toEqual([
      { actor: adaId, subject: "ada@example.org", app: "grafana", ip: expect.stringMatching(/^10\.200\.0\.\d+$/), outcome: "success", detail: { via: "oidc", grant_type: "authorization_code", client_id: "grafana" } },
      { actor: adaId, subject: "ada@example.org", app: "grafana", ip: expect.stringMatching(/^10\.200\.0\.\d+$/), outcome: "success", detail: { via: "oidc", grant_type: "refresh_token", client_id: "grafana" } },
    ]);
  });

  it("a public client's code grant (client_id in the form) names its app", async () => {
    // The wiki is not trusted: Ada consents once, then the code comes back.
    const request = await authorizationRequest(wiki, WIKI_CALLBACK);
    const consent = await navigate(ada, request.url);
    expect(consent.pathname).toBe("/oidc/consent");
    const params = new URLSearchParams(consent.search);
    const names = new Set(params.getAll("ba_param"));
    const signed = new URLSearchParams([...params].filter(([k]) => k === "sig" || k === "ba_param" || names.has(k))).toString();
    const res = await ada.json<{ url: string }>("/api/auth/oauth2/consent", { body: { accept: true, oauth_query: signed } });
    await oidc.authorizationCodeGrant(wiki, new URL(res.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    expect((await minted()).at(-1)).toMatchObject({ actor: adaId, subject: "ada@example.org", app: "wiki", outcome: "success", detail: { grant_type: "authorization_code", client_id: "team-wiki" } });
  });

  it("refused grants are recorded as failures with the OAuth error: a replayed code, a rotated-out refresh token", async () => {
    const { request, redirect, tokens } = await codeGrant(grafana, GRAFANA_CALLBACK, "openid email offline_access");
    await oidc.refreshTokenGrant(grafana, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(grafana, tokens.refresh_token!)).rejects.toBeInstanceOf(oidc.ResponseBodyError);
    await expect(oidc.authorizationCodeGrant(grafana, redirect, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce })).rejects.toBeInstanceOf(oidc.ResponseBodyError);
    const failures = (await minted()).filter((r) => r.outcome === "failure");
    expect(failures).toEqual([
      expect.objectContaining({ app: "grafana", detail: { via: "oidc", grant_type: "refresh_token", client_id: "grafana", error: "invalid_grant" } }),
      expect.objectContaining({ app: "grafana", detail: { via: "oidc", grant_type: "authorization_code", client_id: "grafana", error: "invalid_grant" } }),
    ]);

    // Never a code, a token or the client secret in the trail.
    const all = JSON.stringify((await service.pool.query(`SELECT * FROM authplane_audit`)).rows);
    expect(all).not.toContain(redirect.searchParams.get("code")!);
    expect(all).not.toContain(tokens.refresh_token!);
    expect(all).not.toContain(tokens.access_token);
    expect(all).not.toContain(service.grafanaSecret);
    expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it("a token request for an unknown client is recorded without an app", async () => {
    const res = await service.app.request("https://auth.authplane.test/api/auth/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: "nobody", code: "made-up", code_verifier: "x".repeat(43), redirect_uri: GRAFANA_CALLBACK }).toString(),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await minted()).at(-1)).toMatchObject({ app: null, outcome: "failure", detail: { client_id: "nobody", grant_type: "authorization_code" } });
  });
});
