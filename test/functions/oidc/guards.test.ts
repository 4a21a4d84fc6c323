/**
 * The OIDC routes under the service's guards (requests carry the peer address the runtime
 * adapter would record): per-address rate limits on the token endpoints,
 * and hostile input answered with a 4xx (never a 5xx) on every provider route.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { OIDC_RATE_LIMITS } from "../../../functions/auth/oidc-provider.js";
import { AUTH_URL } from "../auth/harness.js";
import { GRAFANA_CALLBACK, startOidcService, type OidcService } from "./support.js";

describe("OIDC routes under the guards", () => {
  let service: OidcService;
  beforeAll(async () => {
    service = await startOidcService("oidc_guards");
  });
  afterAll(() => service?.close());

  const form = (ip: string, path: string, body: string, headers: Record<string, string> = {}) =>
    service.app.request(`${AUTH_URL}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", [SOURCE_IP_HEADER]: ip, ...headers },
      body,
    });

  it("the token endpoint is rate limited per client address, and other addresses are unaffected", async () => {
    const body = new URLSearchParams({ grant_type: "authorization_code", code: "guess", client_id: "grafana", client_secret: "guess" }).toString();
    const statuses: number[] = [];
    for (let i = 0; i < OIDC_RATE_LIMITS.token.max + 1; i++) statuses.push((await form("10.77.0.1", "/api/auth/oauth2/token", body)).status);
    expect(statuses.slice(0, OIDC_RATE_LIMITS.token.max).every((s) => s >= 400 && s < 429)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    expect((await form("10.77.0.2", "/api/auth/oauth2/token", body)).status).not.toBe(429);
  });

  it("authorize is rate limited per browser address", async () => {
    const url = `${AUTH_URL}/api/auth/oauth2/authorize?response_type=code&client_id=grafana&redirect_uri=${encodeURIComponent(GRAFANA_CALLBACK)}&scope=openid`;
    let last = 0;
    for (let i = 0; i < OIDC_RATE_LIMITS.authorize.max + 1; i++) last = (await service.app.request(url, { headers: { [SOURCE_IP_HEADER]: "10.77.1.1" } })).status;
    expect(last).toBe(429);
  });

  const junk = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("", "%", "%zz", "a=b=c", "&&&", "\u0000", "{", "[]", "null", "A".repeat(5000)));
  const params = fc.dictionary(
    fc.oneof(fc.constantFrom("grant_type", "code", "code_verifier", "redirect_uri", "client_id", "client_secret", "refresh_token", "scope", "resource", "response_type", "state", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "claims", "id_token_hint", "post_logout_redirect_uri", "request_uri", "request"), fc.string()),
    junk,
    { maxKeys: 8 },
  );
  let ip = 0;
  const nextIp = () => `10.78.${Math.floor(ip / 250)}.${(ip++ % 250) + 1}`;

  it.each([
    ["POST", "/api/auth/oauth2/token"],
    ["POST", "/api/auth/oauth2/revoke"],
    ["POST", "/api/auth/oauth2/introspect"],
    ["POST", "/api/auth/oauth2/end-session"],
    ["GET", "/api/auth/oauth2/authorize"],
    ["GET", "/api/auth/oauth2/userinfo"],
    ["GET", "/api/auth/oauth2/end-session"],
  ])("hostile input to %s %s is a 4xx, never a 5xx", async (method, path) => {
    await fc.assert(
      fc.asyncProperty(params, fc.constantFrom("application/x-www-form-urlencoded", "application/json", "text/plain"), junk, async (p, contentType, authorization) => {
        const query = new URLSearchParams(p).toString();
        const headers: Record<string, string> = { [SOURCE_IP_HEADER]: nextIp() };
        if (/^[\x20-\x7e]*$/.test(authorization)) headers.authorization = authorization;
        const res =
          method === "GET"
            ? await service.app.request(`${AUTH_URL}${path}?${query}`, { headers })
            : await service.app.request(`${AUTH_URL}${path}`, {
                method,
                headers: { ...headers, "content-type": contentType },
                body: contentType === "application/json" ? JSON.stringify(p) : query,
              });
        expect(res.status, `${method} ${path} ${query}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(200);
      }),
      { numRuns: 25 },
    );
  });

  it.each(["/api/auth/oauth2/consent", "/api/auth/oauth2/continue", "/api/auth/sign-in/email"])("a non-string oauth_query to %s is a 400, not a 500", async (path) => {
    for (const oauth_query of [[0], { sig: "x" }, 7, true]) {
      const res = await service.app.request(`${AUTH_URL}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: AUTH_URL, [SOURCE_IP_HEADER]: nextIp() },
        body: JSON.stringify({ accept: true, email: "x@example.org", password: "irrelevant-password", oauth_query }),
      });
      expect(res.status, JSON.stringify(oauth_query)).toBe(400);
      // The service's input guard (input-guard.ts) answers before the provider sees it.
      expect(await res.json()).toMatchObject({ error: "invalid_input" });
    }
  });

  it("discovery answers only for hosts the service serves", async () => {
    const res = await service.app.request("https://evil.example/.well-known/openid-configuration");
    expect(res.status).toBe(421);
  });
});
