import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv, ConfigError } from "../../../functions/auth/config.js";
import { createApp } from "../../../functions/auth/app.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { signForwarded } from "../../../functions/proxy/signature.js";
import { APP_ONE, AUTH_URL, Browser, PROXY_SECRET, startService, testEnv, type Service } from "./harness.js";

describe("hostile and malformed requests get a clear 4xx", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService(await testEnv("bad_input", { MAX_BODY_BYTES: "4096" }));
  });
  afterAll(() => service.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    service.app.request(`${AUTH_URL}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP_ONE, "x-forwarded-for": "192.0.2.1", ...headers },
      body,
    });

  it("malformed JSON is a 400 with a JSON error", async () => {
    const res = await post("/api/auth/sign-in/email", '{"email": "a@b.c",');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_json" });
  });

  it("an oversized body is a 413 before anything parses it", async () => {
    const res = await post("/api/auth/sign-up/email", JSON.stringify({ email: "big@example.org", name: "x".repeat(10_000), password: "p".repeat(20) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "body_too_large" });
  });

  it("a passkey ceremony from an origin outside the allowlist is a 403 before Better Auth runs", async () => {
    for (const origin of ["https://evil.example", "https://authplane.test.evil.example", "null", "not a url"]) {
      const res = await service.app.request(`${AUTH_URL}/api/auth/passkey/generate-authenticate-options`, { headers: { origin } });
      expect(res.status, origin).toBe(403);
      expect(await res.json()).toMatchObject({ error: "origin_not_allowed" });
    }
    const ok = await service.app.request(`${AUTH_URL}/api/auth/passkey/generate-authenticate-options`, { headers: { origin: APP_ONE } });
    expect(ok.status).toBe(200);
  });

  it("a forwarded host we do not serve, signed by a proxy, is a 421; unsigned it is ignored, never a 500", async () => {
    const signed = (host: string) => service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: signForwarded(PROXY_SECRET, { host, proto: "https", client: "" }) });
    const res = await signed("evil.example");
    expect(res.status).toBe(421);
    expect(await res.json()).toMatchObject({ error: "unknown_host" });
    expect((await signed("a b/c")).status).toBe(421);
    const unsigned = await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { "x-forwarded-host": "evil.example" } });
    expect(unsigned.status).toBe(200);
  });

  it("a request addressed to an unknown Host is a 421", async () => {
    const res = await service.app.request("https://unknown.example/api/auth/get-session");
    expect(res.status).toBe(421);
  });

  it("a cookie-authenticated write from a foreign Origin is refused (CSRF)", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("csrf@example.org");
    const res = await browser.fetch("/api/auth/update-user", { body: { name: "pwned" }, headers: { origin: "https://evil.example" } });
    expect(res.status).toBe(403);
  });

  it("without trusted proxy headers, X-Forwarded-Host is ignored rather than believed", async () => {
    const config = configFromEnv({ ...(await testEnv("bad_input_noproxy")), TRUST_PROXY_HEADERS: "false" });
    await migrate(config);
    const app = createApp(config);
    const res = await app.request(`${AUTH_URL}/api/auth/passkey/generate-authenticate-options`, {
      headers: { "x-forwarded-host": "app-one.authplane.test", "x-forwarded-proto": "https" },
    });
    // Judged as the service's own origin, which is not an app: the header bought nothing.
    const spoofed = await app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { "x-forwarded-host": "evil.example" } });
    expect(spoofed.status).toBe(200);
    expect(res.status).not.toBe(500);
  });

  it("unknown routes are a JSON 404", async () => {
    const res = await service.app.request(`${AUTH_URL}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found" });
  });
});

describe("NUL, invalid UTF-8 and untyped fields are a 400 before Better Auth or PostgreSQL", () => {
  let service: Service;
  let browser: Browser;
  beforeAll(async () => {
    service = await startService(await testEnv("nul_input", { GOOGLE_CLIENT_ID: "google-client", GOOGLE_CLIENT_SECRET: "google-secret" }));
    browser = new Browser(service, APP_ONE);
    await browser.signUp("nul@example.org");
  });
  afterAll(() => service.close());

  const expectInvalid = async (res: Response, what: string) => {
    expect(res.status, what).toBe(400);
    expect(((await res.json()) as { error: string }).error, what).toBe("invalid_input");
  };

  it("the cases from the report: reset-password, set-active, list-members, update-user", async () => {
    const anonymous = new Browser(service, APP_ONE);
    await expectInvalid(await anonymous.fetch("/api/auth/reset-password", { body: { newPassword: "correct horse battery staple", token: "\u0000" } }), "reset-password");
    await expectInvalid(await browser.fetch("/api/auth/organization/set-active", { body: { organizationId: "x\u0000y" } }), "set-active");
    await expectInvalid(await browser.fetch("/api/auth/organization/list-members?organizationId=%00"), "list-members");
    await expectInvalid(await browser.fetch("/api/auth/update-user", { body: { name: "a\u0000b" } }), "update-user NUL");
    await expectInvalid(await browser.fetch("/api/auth/update-user", { body: { name: null } }), "update-user null");
    await expectInvalid(await browser.fetch("/api/auth/update-user", { body: { name: 42 } }), "update-user number");
    // Nothing was written: the name is what sign-up set.
    expect((await browser.json<{ user: { name: string } }>("/api/auth/get-session")).user.name).toBe("nul");
  });

  it("at any depth, in keys too, and lone surrogates count as invalid", async () => {
    for (const body of [{ data: { deep: [{ x: "\u0000" }] } }, { ["k\u0000"]: "v" }, { name: "\ud800" }, { name: "x\udc00" }]) {
      await expectInvalid(await browser.fetch("/api/auth/update-user", { body }), JSON.stringify(body));
    }
    // A well-formed pair is fine.
    expect((await browser.fetch("/api/auth/update-user", { body: { name: "Ada \ud83d\ude00" } })).status).toBe(200);
  });

  it("invalid UTF-8 in a body, a query string, a path segment or a session cookie", async () => {
    const raw = await service.app.request(`${AUTH_URL}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP_ONE },
      body: new Uint8Array([...Buffer.from('{"email":"a@b.c","password":"'), 0xff, 0xfe, ...Buffer.from('"}')]),
    });
    await expectInvalid(raw, "body bytes");
    await expectInvalid(await browser.fetch("/api/auth/organization/list-members?organizationId=%ED%A0%80"), "query surrogate");
    await expectInvalid(await browser.fetch("/api/auth/organization/list-members?organizationId=%FF"), "query byte");
    await expectInvalid(await browser.fetch("/api/auth/reset-password/%00?callbackURL=/"), "path");
    const cookie = await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { cookie: "__Secure-better-auth.session_token=abc%00def" } });
    await expectInvalid(cookie, "cookie");
    // Another app's cookie on the parent domain is none of our business.
    expect((await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { cookie: "other=%00%FF" } })).status).toBe(200);
  });

  it("a bad OAuth state on the callback ends on Better Auth's error redirect, not an internal error", async () => {
    for (const query of ["state=%00&code=x", "state=%FF", "state=x%00y&code=%00"]) {
      const res = await service.app.request(`${AUTH_URL}/api/auth/callback/google?${query}`);
      expect(res.status, query).toBe(302);
      const location = res.headers.get("location") ?? "";
      expect(location, query).toMatch(/error=/);
      expect(location, query).not.toMatch(/internal/i);
    }
  });
});

describe("configuration errors stop the start-up with a message naming the variable", () => {
  it("names every missing variable at once", () => {
    const err = (() => {
      try {
        configFromEnv({});
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    for (const name of ["BETTER_AUTH_URL", "TRUSTED_ORIGINS", "ALLOWED_RP_IDS", "JWT_AUDIENCE", "BETTER_AUTH_SECRET"]) expect(err!.message).toContain(name);
  });

  it("TRUST_PROXY_HEADERS without the proxies' signing secret is refused: an unsigned header proves nothing", async () => {
    const env = await testEnv("bad_config_proxy");
    expect(() => configFromEnv({ ...env, PROXY_SECRET: "" })).toThrow(/PROXY_SECRET \(or PROXY_SECRET_ARN\): TRUST_PROXY_HEADERS needs/);
    expect(() => configFromEnv({ ...env, PROXY_SECRET: "short" })).toThrow(/at least 32 characters/);
    expect(configFromEnv({ ...env, PROXY_SECRET: "", TRUST_PROXY_HEADERS: "false" }).proxySecrets).toEqual([]);
    expect(() => configFromEnv({ ...env, TRUSTED_FORWARDERS: "10.0.0.0/8,lb.internal" })).toThrow(/TRUSTED_FORWARDERS: must be an IP address or CIDR/);
  });

  it("refuses an app origin outside ALLOWED_RP_IDS and an RP ID that is not allowed", async () => {
    const env = await testEnv("bad_config");
    expect(() => configFromEnv({ ...env, TRUSTED_ORIGINS: "https://app.other.org" })).toThrow(/TRUSTED_ORIGINS: https:\/\/app.other.org is outside ALLOWED_RP_IDS/);
    expect(() => configFromEnv({ ...env, PASSKEY_RP_ID: "other.org" })).toThrow(/PASSKEY_RP_ID: must be one of ALLOWED_RP_IDS/);
    expect(() => configFromEnv({ ...env, TRUSTED_ORIGINS: "https://app-one.authplane.test/path" })).toThrow(/must be an origin/);
  });
});
