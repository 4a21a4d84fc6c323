/**
 * The two key-management traps Better Auth users report, pinned down: a fresh signing key per
 * request when rotation is misconfigured, and rotating the auth secret leaving the stored
 * (encrypted) private keys unreadable.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ONE, AUDIENCE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";
import type { Env } from "../../../functions/auth/config.js";

const OLD = "old-secret-0123456789abcdef0123456789abcdef";
const NEW = "new-secret-fedcba9876543210fedcba9876543210";

describe("signing keys and auth-secret rotation", () => {
  let env: Env;
  let first: Service;
  let kid: string;
  const opened: Service[] = [];

  beforeAll(async () => {
    env = await testEnv("key_rotation", { BETTER_AUTH_SECRET: OLD });
    first = await startService(env);
    opened.push(first);
    const browser = new Browser(first, APP_ONE);
    await browser.signUp("rotate@example.org");
    kid = decodeProtectedHeader((await browser.json<{ token: string }>("/api/auth/token")).token).kid!;
  });
  afterAll(() => Promise.all(opened.map((s) => s.close())));

  it("stores the private key encrypted, never in the clear", async () => {
    const { rows } = await first.pool.query<{ privateKey: string }>(`SELECT "privateKey" FROM "jwks"`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.privateKey).not.toContain('"d"');
  });

  it("a new secret version with the old one kept still signs with the same key", async () => {
    const rotated = await startService({ ...env, BETTER_AUTH_SECRET: undefined, BETTER_AUTH_SECRETS: `2:${NEW},1:${OLD}` });
    opened.push(rotated);
    const browser = new Browser(rotated, APP_ONE);
    await browser.signUp("after-rotation@example.org");
    const { token } = await browser.json<{ token: string }>("/api/auth/token");
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    const jwks = await browser.json<JSONWebKeySet>("/api/auth/jwks");
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("replacing the secret outright cannot decrypt the stored key: minting fails closed, not with a forged key", async () => {
    const replaced = await startService({ ...env, BETTER_AUTH_SECRET: NEW });
    opened.push(replaced);
    const browser = new Browser(replaced, APP_ONE);
    await browser.signUp("replaced@example.org");
    const res = await browser.fetch("/api/auth/token");
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(await res.text()).not.toContain(NEW);
    const { rows } = await replaced.pool.query(`SELECT count(*)::int AS n FROM "jwks"`);
    expect(rows[0].n).toBe(1);
  });
});
