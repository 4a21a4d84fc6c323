/**
 * WebAuthn Related Origin Requests: RELATED_ORIGINS is schema-checked, served as
 * /.well-known/webauthn, and trusted by the passkey origin guard like an app on the RP ID.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { ConfigError, configFromEnv, type Env } from "../../../functions/auth/config.js";
import { APP_ONE, proxiedHeaders, startService, testEnv, type Service } from "./harness.js";

const BRAND = "https://app.example-brand.com";
const base: Env = {
  DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
  BETTER_AUTH_URL: "https://auth.example.org",
  BETTER_AUTH_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
  TRUSTED_ORIGINS: "https://app-one.example.org",
  PASSKEY_RP_ID: "example.org",
  ALLOWED_RP_IDS: "example.org",
  JWT_AUDIENCE: "authplane",
  TRUST_PROXY_HEADERS: "true",
  // App proxies sign what they forward (proxy-signature.ts); a fixed test value.
  PROXY_SECRET: "related-origins-test-proxy-secret-0123456789",
  // Only the guards and the well-known route run here; nothing reaches the database.
  VALIDATE_SCHEMA: "false",
};

describe("related origins", () => {
  it("are trusted origins too, while TRUSTED_ORIGINS alone may not leave ALLOWED_RP_IDS", () => {
    const config = configFromEnv({ ...base, RELATED_ORIGINS: BRAND });
    expect(config.relatedOrigins).toEqual([BRAND]);
    expect(config.trustedOrigins).toEqual(["https://app-one.example.org", BRAND]);
    expect(() => configFromEnv({ ...base, TRUSTED_ORIGINS: `https://app-one.example.org,${BRAND}` })).toThrow(/TRUSTED_ORIGINS: https:\/\/app\.example-brand\.com is outside ALLOWED_RP_IDS/);
  });

  it("must be https origins outside the RP ID, with a fixed RP ID", () => {
    expect(() => configFromEnv({ ...base, RELATED_ORIGINS: "http://app.example-brand.com" })).toThrow(/RELATED_ORIGINS: must be an https origin/);
    expect(() => configFromEnv({ ...base, RELATED_ORIGINS: `${BRAND}/path` })).toThrow(/RELATED_ORIGINS: must be an origin/);
    expect(() => configFromEnv({ ...base, RELATED_ORIGINS: "https://app-two.example.org" })).toThrow(/within ALLOWED_RP_IDS already/);
    expect(() => configFromEnv({ ...base, PASSKEY_RP_ID: "", RELATED_ORIGINS: BRAND })).toThrow(ConfigError);
  });

  it("are served as /.well-known/webauthn, JSON, and the route is absent without them", async () => {
    const app = createApp(configFromEnv({ ...base, RELATED_ORIGINS: BRAND }));
    const res = await app.request("/.well-known/webauthn");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ origins: [BRAND] });
    expect((await createApp(configFromEnv(base)).request("/.well-known/webauthn")).status).toBe(404);
  });

  describe("against the real service", () => {
    let service: Service;
    const RELATED = "https://app-three.authplane-demo.test";
    beforeAll(async () => {
      service = await startService(await testEnv("related", { RELATED_ORIGINS: RELATED }));
    });
    afterAll(() => service?.close());

    const ask = (origin: string, host = new URL(origin).host) =>
            // As an app's proxy forwards it: signed, or the forwarded host is not believed.
      service.app.request("/api/auth/passkey/generate-authenticate-options", { headers: { origin, ...proxiedHeaders(`https://${host}`) } });

    it("a related origin gets passkey options for the shared RP ID", async () => {
      const res = await ask(RELATED);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ rpId: "authplane.test" });
    });

    it("other foreign origins still do not, even through a served host", async () => {
      expect((await ask("https://app.example-rogue.com")).status).toBe(421);
      const spoofed = await ask("https://app.example-rogue.com", new URL(APP_ONE).host);
      expect(spoofed.status).toBe(403);
      expect(await spoofed.json()).toMatchObject({ error: "origin_not_allowed" });
    });
  });
});
