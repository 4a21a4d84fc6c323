/**
 * The lean /jwks (functions/auth/jwks-lean.ts) answers exactly as Better Auth's own getJwks: on
 * one real PostgreSQL with one (fake) clock, a cold-bundle app (the build-time plan), an app
 * built around a Better Auth instance and one with `leanReads: false` must give the same
 * status, headers and body bytes with no key yet, one key, a rotated key inside its grace
 * period (both published) and after it (the old one gone), and on random requests (methods,
 * paths, query strings, origins, cookies, Authorization, signed proxy headers), and the lean
 * paths must have served exactly the plain ones.
 */
import fc from "fast-check";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp, snapshotJwksOf } from "../../../functions/auth/app.js";
import { leanJwksOf } from "../../../functions/auth/auth-routes.js";
import { setMetricSink } from "../../../functions/emf.js";
import { jwksLeanBlocker } from "../../../functions/auth/jwks-lean.js";
import { sessionPlanSnapshot } from "../../../functions/auth/session-read-snapshot.js";
import type { LeanAuthContext, PlanSnapshot } from "../../../functions/auth/session-read.js";
import { KEY_GRACE_SECONDS } from "../../../functions/auth/signing-key-cache.js";
import { APP_ONE, APP_TWO, AUDIENCE, AUTH_URL, Browser, proxiedHeaders, startService, testEnv, type Service } from "./harness.js";

const DAY = 24 * 3600 * 1000;
/** Past every key cache's refresh interval: each app reads the key rows again. */
const REFRESH = 31_000;

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

describe("lean GET /api/auth/jwks", () => {
  let service: Service;
  let snapshot: PlanSnapshot;
  let cold: ReturnType<typeof createApp>;
  let reference: ReturnType<typeof createApp>;
  let clock = Math.floor(Date.now() / 1000) * 1000;

  const tick = (ms: number) => {
    clock += ms;
    vi.setSystemTime(clock);
  };

  beforeAll(async () => {
    setMetricSink(() => {});
    service = await startService(await testEnv("jwks_lean"));
    snapshot = await sessionPlanSnapshot();
    expect(snapshot.jwksBlocker).toBeNull();
    cold = createApp(service.config, { pool: service.pool, sessionPlan: snapshot });
    reference = createApp(service.config, { pool: service.pool, leanReads: false });
    expect(snapshotJwksOf(cold)).toBeDefined();
    expect(snapshotJwksOf(reference)).toBeUndefined();
  });
  afterAll(() => service.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  async function answer(app: ReturnType<typeof createApp>, path = "/api/auth/jwks", init: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const res = await app.request(`${AUTH_URL}${path}`, init);
    return { status: res.status, headers: [...res.headers].sort(([a], [b]) => a.localeCompare(b)), body: await res.text() };
  }

  const coldServed = () => snapshotJwksOf(cold)!.served;
  const ownServed = () => leanJwksOf(service.auth)?.served ?? 0;

  /** Better Auth's answer, then the cold app's and the instance app's; `served`: how many of those two the lean paths answered. */
  async function threeWays(path?: string, init?: { method?: string; headers?: Record<string, string> }) {
    const own = await answer(reference, path, init);
    const before = [coldServed(), ownServed()];
    const fromCold = await answer(cold, path, init);
    const fromInstance = await answer(service.app, path, init);
    return { own, fromCold, fromInstance, served: [coldServed() - before[0]!, ownServed() - before[1]!] };
  }

  /** Every source of a plain /jwks request the authorizer, an SPA or an OpenID client sends. */
  const PLAIN_REQUESTS: { headers?: Record<string, string> }[] = [{}, { headers: { origin: APP_ONE } }, { headers: { origin: "https://evil.example", cookie: "theme=dark" } }];

  async function expectSameEverywhere(keys: number): Promise<JSONWebKeySet> {
    for (const init of PLAIN_REQUESTS) {
      const { own, fromCold, fromInstance, served } = await threeWays(undefined, init);
      expect(own.status).toBe(200);
      expect(fromCold).toEqual(own);
      expect(fromInstance).toEqual(own);
      expect(served).toEqual([1, 1]);
    }
    const set = JSON.parse((await answer(cold)).body) as JSONWebKeySet;
    expect(set.keys).toHaveLength(keys);
    return set;
  }

  it("declines without a key (Better Auth mints the first), then serves it: the same bytes as Better Auth", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: clock });
    expect((await service.pool.query(`SELECT count(*)::int AS n FROM "jwks"`)).rows[0].n).toBe(0);
    const first = await answer(cold);
    expect(first.status).toBe(200);
    expect(coldServed()).toBe(0);
    expect((await service.pool.query(`SELECT count(*)::int AS n FROM "jwks"`)).rows[0].n).toBe(1);
    const set = await expectSameEverywhere(1);
    const [row] = (await service.pool.query<{ id: string; publicKey: string }>(`SELECT id, "publicKey" FROM "jwks"`)).rows;
    // Better Auth's key order: alg, (crv), the public JWK's own fields, kid; no crv for RSA.
    expect((await answer(cold)).body).toBe(JSON.stringify({ keys: [{ alg: "RS256", ...JSON.parse(row!.publicKey), kid: row!.id }] }));
    expect(Object.keys(set.keys[0]!)).toEqual(["alg", ...Object.keys(JSON.parse(row!.publicKey)), "kid"]);
  });

  it("publishes the rotated key beside the old one inside the grace period, and a token from each verifies", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: clock });
    const browser = new Browser({ ...service, app: reference }, APP_ONE);
    await browser.signUp("rotation@example.org");
    const oldToken = (await browser.json<{ token: string }>("/api/auth/token")).token;
    // The current key is due: expire it a day ago, past every cache's refresh; Better Auth rotates on the next token.
    await service.pool.query(`UPDATE "jwks" SET "expiresAt" = $1`, [new Date(clock - DAY)]);
    tick(REFRESH);
    const newToken = (await browser.json<{ token: string }>("/api/auth/token")).token;
    expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(oldToken).kid);
    tick(REFRESH);
    const set = await expectSameEverywhere(2);
    expect(set.keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(newToken).kid, decodeProtectedHeader(oldToken).kid]);
    for (const token of [oldToken, newToken]) {
      await expect(jwtVerify(token, createLocalJWKSet(set), { issuer: AUTH_URL, audience: AUDIENCE, currentDate: new Date(clock - REFRESH) })).resolves.toBeDefined();
    }
  });

  it("drops the old key once its grace period ends, also between two reads of the cached rows", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: clock });
    const expired = (await service.pool.query<{ e: Date }>(`SELECT min("expiresAt") AS e FROM "jwks"`)).rows[0]!.e.getTime();
    // 10 s before the end: every cache reads both rows…
    tick(expired + KEY_GRACE_SECONDS * 1000 - 10_000 - clock);
    await expectSameEverywhere(2);
    // …20 s later (no cache reads again) the request-time filter drops the old one, as Better Auth's does.
    tick(20_000);
    await expectSameEverywhere(1);
    tick(REFRESH);
    await expectSameEverywhere(1);
  });

  it("leaves query strings, other methods, other paths and Authorization headers to Better Auth", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: clock });
    for (const [path, init] of [
      ["/api/auth/jwks?x=1", {}],
      ["/api/auth/jwks?", {}],
      ["/api/auth/jwks/", {}],
      ["/api/auth/jwks", { method: "POST", headers: { origin: APP_ONE } }],
      ["/api/auth/jwks", { headers: { authorization: "Bearer not-a-session" } }],
    ] as const) {
      const { own, fromCold, fromInstance, served } = await threeWays(path, init);
      expect(served, path).toEqual([0, 0]);
      expect(fromCold, path).toEqual(own);
      expect(fromInstance, path).toEqual(own);
    }
  });

  it("answers random requests as Better Auth does, and serves exactly the plain ones", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: clock });
    const request = fc.record({
      method: fc.constantFrom("GET", "HEAD", "POST"),
      path: fc.constantFrom("/api/auth/jwks", "/api/auth/jwks/", "/api/auth//jwks", "/api/auth/JWKS", "/api/auth/jwks.json"),
      query: fc.constantFrom("", "?", "?x=1"),
      origin: fc.constantFrom(undefined, APP_ONE, APP_TWO, "https://evil.example"),
      cookie: fc.constantFrom(undefined, "theme=dark", "better-auth.session_token=x.y"),
      authorization: fc.constantFrom(undefined, "Bearer x"),
      proxied: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { ...(r.proxied ? proxiedHeaders(APP_TWO, "198.51.100.20") : {}) };
        if (r.origin) headers.origin = r.origin;
        if (r.cookie) headers.cookie = r.cookie;
        if (r.authorization) headers.authorization = r.authorization;
        const { own, fromCold, fromInstance, served } = await threeWays(`${r.path}${r.query}`, { method: r.method, headers });
        const label = JSON.stringify(r);
        expect(fromCold, label).toEqual(own);
        expect(fromInstance, label).toEqual(own);
        const plain = r.method === "GET" && r.path === "/api/auth/jwks" && r.query === "" && !r.authorization;
        expect(served, label).toEqual(plain ? [1, 1] : [0, 0]);
      }),
      { numRuns: 40 },
    );
  });

  it("is blocked by any option or plugin it does not reproduce", async () => {
    const ctx = (await service.auth.$context) as LeanAuthContext;
    const o = ctx.options;
    expect(jwksLeanBlocker(ctx)).toBeUndefined();
    const plugins = o.plugins as { id: string; options?: Record<string, unknown>; keyCache?: unknown }[];
    const withJwks = (change: (jwks: Record<string, unknown>) => Record<string, unknown>) =>
      ({ ...ctx, options: { ...o, plugins: plugins.map((p) => (p.id === "jwt" ? { ...p, options: { ...p.options, jwks: change((p.options?.jwks ?? {}) as Record<string, unknown>) } } : p)) } }) as never;
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: {} } } })).toMatch(/rate limit/);
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: { "/*": { window: 10, max: 1 }, ...o.rateLimit?.customRules } } } })).toMatch(/rate limit/);
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, disabledPaths: ["/jwks"] } })).toMatch(/disabled/);
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, hooks: { after: async () => {} } } as never })).toMatch(/global hooks/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, remoteUrl: "https://keys.example/jwks" })))).toMatch(/remote/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, jwksPath: "/keys" })))).toMatch(/path/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, jwksPath: "/jwks" })))).toBeUndefined();
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, gracePeriod: 3600 })))).toMatch(/gracePeriod/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, gracePeriod: undefined })))).toMatch(/gracePeriod/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } })))).toMatch(/keyPairConfig/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, keyPairConfig: { alg: "RS256", modulusLength: 2048, crv: "P-256" } })))).toMatch(/keyPairConfig/);
    expect(jwksLeanBlocker(withJwks((j) => ({ ...j, keyPairConfig: undefined })))).toMatch(/keyPairConfig/);
    const noCache = { ...ctx, options: { ...o, plugins: plugins.map((p) => (p.id === "jwt" ? { ...p, keyCache: undefined } : p)) } } as never;
    expect(jwksLeanBlocker(noCache)).toMatch(/key cache/);
    const jwksHook = { id: "x-jwks-hook", hooks: { before: [{ matcher: (c: { path?: string }) => c.path === "/jwks", handler: async () => {} }] } };
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, jwksHook] } as never })).toMatch(/x-jwks-hook/);
    const headerHook = { id: "x-origin-hook", hooks: { after: [{ matcher: (c: { headers?: Headers }) => c.headers?.has("origin"), handler: async () => {} }] } };
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, headerHook] } as never })).toMatch(/x-origin-hook/);
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, { id: "x-on-request", onRequest: async () => {} }] } as never })).toMatch(/x-on-request/);
    expect(jwksLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, { id: "x-on-response", onResponse: async () => {} }] } as never })).toMatch(/x-on-response/);
  });

  it("is off with leanReads: false, for a snapshot that blocks it, and once the built instance plans differently", async () => {
    expect(snapshotJwksOf(createApp(service.config, { pool: service.pool, leanReads: false, sessionPlan: snapshot }))).toBeUndefined();
    expect(snapshotJwksOf(createApp(service.config, { pool: service.pool, sessionPlan: { ...snapshot, jwksBlocker: "plugin x hooks /jwks" } }))).toBeUndefined();
    expect(snapshotJwksOf(createApp(service.config, { pool: service.pool, sessionPlan: { ...snapshot, jwksBlocker: undefined } }))).toBeUndefined();
    const wrong: PlanSnapshot = { ...snapshot, plan: { ...snapshot.plan, sessionOutput: snapshot.plan.sessionOutput.filter((k) => k !== "ipAddress") } };
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const app = createApp(service.config, { pool: service.pool, sessionPlan: wrong });
      expect((await app.request(`${AUTH_URL}/api/auth/jwks`)).status).toBe(200);
      expect(snapshotJwksOf(app)!.served).toBe(1);
      // Anything the lean paths refuse builds Better Auth, which checks the snapshot.
      expect((await app.request(`${AUTH_URL}/api/auth/jwks?x=1`)).status).toBe(200);
      await vi.waitFor(() => expect(errors).toHaveBeenCalled());
      const after = await app.request(`${AUTH_URL}/api/auth/jwks`);
      expect(after.status).toBe(200);
      expect(((await after.json()) as JSONWebKeySet).keys.length).toBeGreaterThan(0);
      expect(snapshotJwksOf(app)!.served).toBe(1);
    } finally {
      errors.mockRestore();
    }
  });

  it("serves without a database query while the rows are cached", async () => {
    const before = coldServed();
    await answer(cold);
    const queries = vi.spyOn(service.pool, "query");
    try {
      for (let i = 0; i < 5; i++) expect((await answer(cold)).status).toBe(200);
      expect(queries).not.toHaveBeenCalled();
    } finally {
      queries.mockRestore();
    }
    expect(coldServed()).toBe(before + 6);
  });
});
