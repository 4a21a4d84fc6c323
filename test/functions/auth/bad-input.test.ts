import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv, ConfigError } from "../../../functions/auth/config.js";
import { createApp } from "../../../functions/auth/app.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { APP_ONE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

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

  it("a spoofed X-Forwarded-Host for a host we do not serve is a 421, never a 500", async () => {
    const res = await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { "x-forwarded-host": "evil.example" } });
    expect(res.status).toBe(421);
    expect(await res.json()).toMatchObject({ error: "unknown_host" });
    const garbage = await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { "x-forwarded-host": "a b/c" } });
    expect(garbage.status).toBe(421);
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

  it("refuses an app origin outside ALLOWED_RP_IDS and an RP ID that is not allowed", async () => {
    const env = await testEnv("bad_config");
    expect(() => configFromEnv({ ...env, TRUSTED_ORIGINS: "https://app.other.org" })).toThrow(/TRUSTED_ORIGINS: https:\/\/app.other.org is outside ALLOWED_RP_IDS/);
    expect(() => configFromEnv({ ...env, PASSKEY_RP_ID: "other.org" })).toThrow(/PASSKEY_RP_ID: must be one of ALLOWED_RP_IDS/);
    expect(() => configFromEnv({ ...env, TRUSTED_ORIGINS: "https://app-one.authplane.test/path" })).toThrow(/must be an origin/);
  });
});
