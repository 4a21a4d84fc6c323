import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { configFromEnv } from "../../../functions/authorizer/config.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { httpEvent, restRequestEvent, rsaKey, sign, type SigningKey } from "./support.js";

let key: SigningKey;
beforeAll(async () => {
  key = await rsaKey();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

const ENV = {
  JWKS_URL: "https://auth.example.test/api/auth/jwks",
  JWT_ISSUER: "https://auth.example.test",
  JWT_AUDIENCE: "https://api.example.test",
};

/** Imports a fresh copy of the Lambda entry under `env`, capturing its stdout lines. */
async function freshHandler(env: Record<string, string>) {
  for (const name of ["JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_ALGORITHMS", "JWKS_SEED", "REVOCATIONS_URL"]) vi.stubEnv(name, env[name] ?? "");
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const { handler } = await import("../../../functions/authorizer/handler.js");
  return { handler, lines };
}

describe("the Lambda entry", () => {
  it("builds from the environment and allows a token signed by a seeded key, without network (revocation off)", async () => {
    const { handler, lines } = await freshHandler({ ...ENV, JWKS_SEED: JSON.stringify({ keys: [key.jwk] }), REVOCATIONS_URL: "off" });
    const token = await sign(key);
    expect(await handler(httpEvent(`Bearer ${token}`))).toMatchObject({ isAuthorized: true, context: { sub: "user_123" } });
    expect(await handler(restRequestEvent({ Authorization: `Bearer ${token}x` }))).toMatchObject({ policyDocument: { Statement: [{ Effect: "Deny" }] } });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { level: "warn", msg: "authorizer.deny", reason: DENY.base64url, field: "signature", kind: "rest-request", requestId: "req-2" },
    ]);
  });

  it("denies everything, naming the missing variable, when the environment is incomplete", async () => {
    const { handler, lines } = await freshHandler({ JWKS_URL: ENV.JWKS_URL, JWT_AUDIENCE: ENV.JWT_AUDIENCE });
    expect(await handler(httpEvent(`Bearer ${await sign(key)}`))).toEqual({ isAuthorized: false });
    // The log line is also the EMF document of one fault deny (the fault alarm counts it).
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "error",
      msg: "authorizer.deny",
      reason: DENY.config,
      error: "JWT_ISSUER is required",
      kind: "http-v2",
      _aws: { Timestamp: expect.any(Number), CloudWatchMetrics: [{ Namespace: "authplane", Dimensions: [["Function", "Code"], ["Function", "Class"]], Metrics: [{ Name: "Denies", Unit: "Count" }] }] },
      Function: "authorizer",
      Code: DENY.config,
      Class: "fault",
      Denies: 1,
    });
  });

  it("never throws, whatever it is handed", async () => {
    const { handler } = await freshHandler({ ...ENV, JWKS_SEED: JSON.stringify({ keys: [key.jwk] }), REVOCATIONS_URL: "off" });
    const hostile = { get version(): string { throw new Error("boom"); } };
    for (const event of [undefined, null, 42, "Bearer x", [], {}, { type: "TOKEN" }, hostile]) {
      await expect(handler(event)).resolves.toMatchObject({ isAuthorized: false });
    }
  });
});

describe("configFromEnv", () => {
  it("applies the documented defaults", () => {
    const config = configFromEnv(ENV);
    expect(config).toMatchObject({ algorithms: ["RS256"], clockToleranceSeconds: 5, maxLifetimeSeconds: 900, maxTokenLength: 8192, audiences: [ENV.JWT_AUDIENCE] });
    expect(config).toMatchObject({ revocationsRefreshMs: 15_000, revocationsMaxStaleMs: 300_000 });
    expect(config.revocationsUrl?.href).toBe("https://auth.example.test/revocations");
    expect(configFromEnv({ ...ENV, REVOCATIONS_URL: "off" }).revocationsUrl).toBeUndefined();
  });

  it.each([
    [{ JWKS_URL: "http://auth.example.test/jwks" }, /JWKS_URL must be https/],
    [{ JWKS_URL: "not a url" }, /JWKS_URL is not a URL/],
    [{ JWT_ALGORITHMS: "RS256,none" }, /"none" is not one of/],
    [{ JWT_CLOCK_TOLERANCE_SECONDS: "-1" }, /JWT_CLOCK_TOLERANCE_SECONDS must be an integer/],
    [{ JWKS_SEED: "{nope" }, /JWKS_SEED is not JSON/],
    [{ REVOCATIONS_URL: "http://auth.example.test/revocations" }, /REVOCATIONS_URL must be https/],
    [{ REVOCATIONS_REFRESH_MS: "20000", REVOCATIONS_MAX_STALE_MS: "10000" }, /REVOCATIONS_MAX_STALE_MS must be an integer from 20000/],
  ])("refuses %o with a message naming the variable", (overrides, message) => {
    expect(() => configFromEnv({ ...ENV, ...overrides })).toThrow(message);
  });
});
