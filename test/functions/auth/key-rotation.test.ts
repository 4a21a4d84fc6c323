/**
 * The two key-management traps Better Auth users report, pinned down: a fresh signing key per
 * request when rotation is misconfigured, and rotating the auth secret leaving the stored
 * (encrypted) private keys unreadable.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ONE, AUDIENCE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";
import type { Env } from "../../../functions/auth/config.js";
import { KEY_GRACE_SECONDS } from "../../../functions/auth/auth.js";
import { keyCacheOf, SigningKeyCache } from "../../../functions/auth/signing-key.js";

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

  it("signs every token from the key held in memory: the key rows are read once, not per token", async () => {
    const cache = keyCacheOf(first.auth)!;
    const browser = new Browser(first, APP_ONE);
    await browser.signUp("memory@example.org");
    await browser.json("/api/auth/token");
    const reads = cache.reads;
    const tokens = [];
    for (let i = 0; i < 5; i++) tokens.push((await browser.json<{ token: string }>("/api/auth/token")).token);
    expect(cache.reads).toBe(reads);
    const jwks = await browser.json<JSONWebKeySet>("/api/auth/jwks");
    for (const token of tokens) await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("re-reads the key rows after its refresh interval (another instance may have rotated)", async () => {
    const cache = new SigningKeyCache({ pool: first.pool, alg: "RS256", graceSeconds: KEY_GRACE_SECONDS, refreshMs: 0 });
    await cache.rows();
    await cache.rows();
    expect(cache.reads).toBe(2);
    const cached = new SigningKeyCache({ pool: first.pool, alg: "RS256", graceSeconds: KEY_GRACE_SECONDS });
    await cached.rows();
    await cached.rows();
    expect(cached.reads).toBe(1);
  });
});

describe("key rotation with keys held in memory", () => {
  let env: Env;
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    env = await testEnv("key_rotation_memory");
    a = await startService(env);
    b = await startService(env);
  });
  afterAll(() => Promise.all([a.close(), b.close()]));

  const tokenFrom = async (service: Service, email: string) => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp(email);
    return { browser, token: (await browser.json<{ token: string }>("/api/auth/token")).token };
  };
  const liveKeys = async () => (await a.pool.query(`SELECT id FROM "jwks" WHERE "expiresAt" > now()`)).rows.map((r) => r.id as string);

  it("when the key expires, both instances move to one new key; old tokens verify through the grace period, then the old key is withdrawn", async () => {
    const before = await tokenFrom(a, "before@example.org");
    const oldKid = decodeProtectedHeader(before.token).kid!;
    await tokenFrom(b, "b-before@example.org"); // b holds the same key in memory
    expect(await liveKeys()).toEqual([oldKid]);

    // The rotation interval runs out. Each instance notices on its next refresh.
    await a.pool.query(`UPDATE "jwks" SET "expiresAt" = now() - interval '1 second'`);
    keyCacheOf(a.auth)!.invalidate();
    keyCacheOf(b.auth)!.invalidate();
    const [fromA, fromB] = await Promise.all([tokenFrom(a, "after-a@example.org"), tokenFrom(b, "after-b@example.org")]);
    const newKid = decodeProtectedHeader(fromA.token).kid!;
    expect(newKid).not.toBe(oldKid);
    expect(decodeProtectedHeader(fromB.token).kid).toBe(newKid); // one new key, not one per instance
    expect(await liveKeys()).toEqual([newKid]);

    const jwks = await fromB.browser.json<JSONWebKeySet>("/api/auth/jwks");
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    for (const token of [before.token, fromA.token, fromB.token]) {
      await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE })).resolves.toBeDefined();
    }
    for (const k of jwks.keys) expect(k).not.toHaveProperty("d"); // public halves only

    // Past the grace period the old key is no longer published.
    await a.pool.query(`UPDATE "jwks" SET "expiresAt" = now() - make_interval(secs => $2) - interval '1 minute' WHERE id = $1`, [oldKid, KEY_GRACE_SECONDS]);
    keyCacheOf(a.auth)!.invalidate();
    const later = await new Browser(a, APP_ONE).json<JSONWebKeySet>("/api/auth/jwks");
    expect(later.keys.map((k) => k.kid)).toEqual([newKid]);
  });
});
