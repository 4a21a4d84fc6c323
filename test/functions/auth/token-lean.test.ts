/**
 * The lean /token (functions/auth/token-lean.ts) answers exactly as Better Auth's own /token:
 * random people (no app, a built-in role, a custom role, several roles, a removed membership,
 * banned), sessions (fresh, due for refresh, expired, revoked), active apps, request sources (a
 * listed app's Origin, another app's, a foreign one, none, a signed proxy, a native client id),
 * cookies (signed, tampered, with another Better Auth cookie, none), bearer headers and query
 * strings go to a cold-bundle app (the build-time plan), to an app built around a Better Auth
 * instance, and to one with `leanReads: false`, on one real PostgreSQL with one clock. Status,
 * headers, the JWT (protected header and payload; same key, so the same bytes) and the audit
 * rows must match, and the lean path must have served exactly the plain cases.
 */
import { randomBytes } from "node:crypto";
import { serializeSignedCookie } from "better-call";
import fc from "fast-check";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { JWT_TTL_SECONDS } from "../../../functions/claims.js";
import { APP_CLIENT_HEADER, writeAppBinding } from "../../../functions/auth/app-origin.js";
import { createApp, snapshotTokenOf } from "../../../functions/auth/app.js";
import { checkSnapshot, leanTokenOf } from "../../../functions/auth/auth-routes.js";
import { keyCacheOf, SigningKeyCache } from "../../../functions/auth/signing-key.js";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { setMetricSink } from "../../../functions/emf.js";
import { sessionPlanSnapshot } from "../../../functions/auth/session-read-snapshot.js";
import { contextPlan as contextPlanOf, type LeanAuthContext, type PlanSnapshot } from "../../../functions/auth/session-read.js";
import { contextTokenPlan, tokenLeanBlocker } from "../../../functions/auth/token-lean.js";
import { plan } from "../../../functions/auth/session-read.js";
import { configFromEnv, type Env } from "../../../functions/auth/config.js";
import { APP_ONE, APP_TWO, AUDIENCE, AUTH_URL, Browser, proxiedHeaders, startService, testEnv, type Service } from "./harness.js";

const DAY = 24 * 3600 * 1000;
const FOREIGN = "https://evil.example";
const MEMBERSHIPS = ["none", "builtin", "custom", "several", "removed"] as const;
const ACTIVE = [null, "app-one", "app-two", "solo"] as const;
const SOURCES = ["app-one", "app-two", "foreign", "none", "proxied-app-two", "native-two"] as const;
const STATES = ["fresh", "refreshDue", "expired", "revoked", "banned"] as const;
const COOKIES = ["signed", "tampered", "extraCookie", "none"] as const;

interface Case {
  membership: (typeof MEMBERSHIPS)[number];
  alsoAppTwo: boolean;
  active: (typeof ACTIVE)[number];
  source: (typeof SOURCES)[number];
  state: (typeof STATES)[number];
  cookie: (typeof COOKIES)[number];
  bearer: boolean;
  query: "" | "?x=1";
  sourceIp: boolean;
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: unknown;
  jwt?: { header: unknown; payload: Record<string, unknown>; raw: string };
  audit: unknown[];
}

const plain = (c: Case) => c.state === "fresh" && c.cookie === "signed" && !c.bearer && c.query === "";

describe("lean GET /api/auth/token", () => {
  let service: Service;
  let snapshot: PlanSnapshot;
  let cold: ReturnType<typeof createApp>;
  let reference: ReturnType<typeof createApp>;
  let secret: string;
  let cookieName: string;
  let jwks: JSONWebKeySet;
  const orgs: Record<string, string> = {};
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  let n = 0;

  beforeAll(async () => {
    setMetricSink(() => {});
    service = await startService(await testEnv("token_lean"));
    snapshot = await sessionPlanSnapshot();
    expect(snapshot.tokenBlocker).toBeNull();
    cold = createApp(service.config, { pool: service.pool, sessionPlan: snapshot });
    reference = createApp(service.config, { pool: service.pool, leanReads: false });
    expect(snapshotTokenOf(cold)).toBeDefined();
    expect(snapshotTokenOf(reference)).toBeUndefined();
    const q = (sql: string, params: unknown[]) => service.pool.query(sql, params);
    for (const [slug, metadata] of [
      ["app-one", writeAppBinding(null, { origins: [APP_ONE], nativeClientIds: [] })],
      ["app-two", writeAppBinding(null, { origins: [APP_TWO], nativeClientIds: ["org.example.two"] })],
      ["solo", null],
    ] as const) {
      orgs[slug] = `org_${slug}`;
      await q(`INSERT INTO "organization" (id, name, slug, metadata, "createdAt") VALUES ($1, $2, $2, $3, now())`, [orgs[slug], slug, metadata]);
    }
    await q(`INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt") VALUES ('r1', $1, 'recruiter', $2, now()), ('r2', $1, 'reviewer', $3, now())`, [
      orgs["app-one"],
      JSON.stringify({ candidate: ["write", "read"] }),
      JSON.stringify({ candidate: ["read"], job: ["read"] }),
    ]);
    const ctx = (await service.auth.$context) as { secret: string; authCookies: { sessionToken: { name: string } } };
    secret = ctx.secret;
    cookieName = ctx.authCookies.sessionToken.name;
    // The first key is Better Auth's to mint (the lean path declines without one).
    jwks = (await (await reference.request(`${AUTH_URL}/api/auth/jwks`)).json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
  });
  afterAll(() => service.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  async function person(c: Case): Promise<{ userId: string; email: string; token: string }> {
    const id = `u_${++n}`;
    const email = `person${n}@example.org`;
    const q = (sql: string, params: unknown[]) => service.pool.query(sql, params);
    await q(`INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt", role, banned) VALUES ($1, $1, $2, true, now(), now(), 'user', $3)`, [id, email, c.state === "banned"]);
    const role = { none: null, builtin: "member", custom: "recruiter", several: "reviewer, recruiter,admin", removed: null }[c.membership];
    if (role) await q(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ($1, $2, $3, $4, now())`, [`m1_${id}`, orgs["app-one"], id, role]);
    if (c.alsoAppTwo) await q(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ($1, $2, $3, 'owner', now())`, [`m2_${id}`, orgs["app-two"], id]);
    return { userId: id, email, token: randomBytes(24).toString("base64url") };
  }

  /** The session as the case says, again before each app answers (Better Auth may refresh or delete it). */
  async function putSession(c: Case, who: { userId: string; token: string }): Promise<void> {
    await service.pool.query(`DELETE FROM "session" WHERE token = $1`, [who.token]);
    if (c.state === "revoked") return;
    const t = now.getTime();
    const expiresAt = { fresh: t + 7 * DAY - 3600_000, banned: t + 7 * DAY - 3600_000, refreshDue: t + 5 * DAY, expired: t - 60_000 }[c.state];
    const active = c.membership === "removed" && c.active === null ? orgs["app-one"] : c.active && orgs[c.active];
    await service.pool.query(
      `INSERT INTO "session" (id, token, "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent", "activeOrganizationId")
       VALUES ($1, $2, $3, $4, $5, $5, '10.0.0.1', 'vitest', $6)`,
      [`s_${who.userId}`, who.token, who.userId, new Date(expiresAt), new Date(t - 3600_000), active ?? null],
    );
  }

  async function requestHeaders(c: Case, token: string): Promise<Record<string, string>> {
    const signed = (await serializeSignedCookie(cookieName, token, secret)).split(";")[0]!;
    const headers: Record<string, string> = {};
    const prefix = cookieName.replace(/session_token$/, "");
    if (c.cookie === "signed") headers.cookie = `theme=dark; ${signed}`;
    if (c.cookie === "tampered") headers.cookie = signed.replace(/.(%3D)$/, (m, pad) => `${m[0] === "A" ? "B" : "A"}${pad}`);
    if (c.cookie === "extraCookie") headers.cookie = `${signed}; ${prefix}session_data=eyJzZXNzaW9uIjp7fX0`;
    if (c.bearer) headers.authorization = "Bearer not-a-session";
    if (c.sourceIp) headers[SOURCE_IP_HEADER] = "192.0.2.10";
    if (c.source === "app-one") headers.origin = APP_ONE;
    if (c.source === "app-two") headers.origin = APP_TWO;
    if (c.source === "foreign") headers.origin = FOREIGN;
    if (c.source === "proxied-app-two") Object.assign(headers, proxiedHeaders(APP_TWO, "198.51.100.20"));
    if (c.source === "native-two") headers[APP_CLIENT_HEADER] = "org.example.two";
    return headers;
  }

  async function answer(app: ReturnType<typeof createApp>, c: Case, who: { userId: string; token: string }): Promise<Answer> {
    await putSession(c, who);
    const auditFrom = (await service.pool.query(`SELECT coalesce(max(id), 0) AS id FROM authplane_audit`)).rows[0].id;
    const res = await app.request(`${AUTH_URL}/api/auth/token${c.query}`, { headers: await requestHeaders(c, who.token) });
    const audit = (await service.pool.query(`SELECT action, actor, subject, app, ip, outcome, detail FROM authplane_audit WHERE id > $1 ORDER BY id`, [auditFrom])).rows;
    const text = await res.text();
    const body = res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as unknown) : text;
    const raw = (body as { token?: unknown } | null)?.token;
    const jwt = typeof raw === "string" ? { header: decodeProtectedHeader(raw), payload: decodeJwt(raw) as Record<string, unknown>, raw } : undefined;
    return { status: res.status, headers: [...res.headers].sort(([a], [b]) => a.localeCompare(b)), body: jwt ? Object.keys(body as object) : body, jwt, audit };
  }

  const coldServed = () => snapshotTokenOf(cold)!.served;
  const ownServed = () => leanTokenOf(service.auth)?.served ?? 0;

  /** The three answers to one case, the lean ones with whether their lean path served them. */
  async function threeWays(c: Case) {
    vi.useFakeTimers({ toFake: ["Date"], now });
    const who = await person(c);
    const own = await answer(reference, c, who);
    const before = [coldServed(), ownServed()];
    const fromCold = await answer(cold, c, who);
    const fromInstance = await answer(service.app, c, who);
    vi.useRealTimers();
    return { who, own, fromCold, fromInstance, served: [coldServed() - before[0]!, ownServed() - before[1]!] };
  }

  async function expectSame(c: Case, lean: Answer, own: Answer): Promise<void> {
    const label = JSON.stringify(c);
    expect(lean.status, label).toBe(own.status);
    expect(lean.headers, label).toEqual(own.headers);
    expect(lean.body, label).toEqual(own.body);
    expect(lean.audit, label).toEqual(own.audit);
    expect(Boolean(lean.jwt), label).toBe(Boolean(own.jwt));
    if (!lean.jwt || !own.jwt) return;
    expect(lean.jwt.header, label).toEqual(own.jwt.header);
    const { iat, exp, ...claims } = lean.jwt.payload;
    const { iat: ownIat, exp: ownExp, ...ownClaims } = own.jwt.payload;
    expect(claims, label).toEqual(ownClaims);
    expect(Object.keys(lean.jwt.payload), label).toEqual(Object.keys(own.jwt.payload));
    expect((exp as number) - (iat as number), label).toBe((ownExp as number) - (ownIat as number));
    // One clock and one key (RS256 signatures are deterministic): the very same token.
    if (iat === ownIat) expect(lean.jwt.raw, label).toBe(own.jwt.raw);
    await expect(jwtVerify(lean.jwt.raw, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE, currentDate: new Date((iat as number) * 1000) })).resolves.toBeDefined();
  }

  const PLAIN: Case = { membership: "builtin", alsoAppTwo: false, active: "app-one", source: "app-one", state: "fresh", cookie: "signed", bearer: false, query: "", sourceIp: true };

  it("mints a plain token itself, before Better Auth: the same JWT, headers and audit row", async () => {
    const { who, own, fromCold, fromInstance, served } = await threeWays(PLAIN);
    expect(served).toEqual([1, 1]);
    expect(own.status).toBe(200);
    expect(own.jwt!.payload).toMatchObject({ sub: who.userId, sid: `s_${who.userId}`, org_slug: "app-one", role: "member", iss: AUTH_URL, aud: AUDIENCE });
    expect(own.jwt!.payload.exp).toBe((own.jwt!.payload.iat as number) + JWT_TTL_SECONDS);
    expect(own.audit).toEqual([{ action: "token.minted", actor: who.userId, subject: (await service.pool.query(`SELECT email FROM "user" WHERE id = $1`, [who.userId])).rows[0].email, app: "app-one", ip: "192.0.2.10", outcome: "success", detail: null }]);
    await expectSame(PLAIN, fromCold, own);
    await expectSame(PLAIN, fromInstance, own);
  });

  it("hands every case that is not plain to Better Auth, which answers as without the lean path", async () => {
    for (const change of [
      { state: "refreshDue" },
      { state: "expired" },
      { state: "revoked" },
      { state: "banned" },
      { cookie: "tampered" },
      { cookie: "extraCookie" },
      { cookie: "none" },
      { bearer: true },
      { query: "?x=1" },
    ] as Partial<Case>[]) {
      const c = { ...PLAIN, ...change };
      const { own, fromCold, fromInstance, served } = await threeWays(c);
      expect(served, JSON.stringify(change)).toEqual([0, 0]);
      await expectSame(c, fromCold, own);
      await expectSame(c, fromInstance, own);
    }
  });

  it("matches Better Auth for random people, apps, sources, sessions and cookies", async () => {
    let servedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          membership: fc.constantFrom(...MEMBERSHIPS),
          alsoAppTwo: fc.boolean(),
          active: fc.constantFrom(...ACTIVE),
          source: fc.constantFrom(...SOURCES),
          // Weighted towards the plain case, so a good share of the runs takes the lean path.
          state: fc.oneof({ weight: 3, arbitrary: fc.constant("fresh" as const) }, { weight: 2, arbitrary: fc.constantFrom(...STATES) }),
          cookie: fc.oneof({ weight: 3, arbitrary: fc.constant("signed" as const) }, { weight: 2, arbitrary: fc.constantFrom(...COOKIES) }),
          bearer: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
          query: fc.constantFrom("" as const, "" as const, "" as const, "" as const, "?x=1" as const),
          sourceIp: fc.boolean(),
        }),
        async (c) => {
          const { own, fromCold, fromInstance, served } = await threeWays(c);
          const expected = plain(c) ? 1 : 0;
          expect(served, JSON.stringify(c)).toEqual([expected, expected]);
          servedRuns += expected;
          await expectSame(c, fromCold, own);
          await expectSame(c, fromInstance, own);
        },
      ),
      { numRuns: 60 },
    );
    expect(servedRuns).toBeGreaterThan(0);
  });

  it("reads at most 3 queries per plain token once the key and app directory are cached", async () => {
    const c = { ...PLAIN, membership: "several" as const };
    const who = await person(c);
    await putSession(c, who);
    await service.pool.query(`UPDATE "session" SET "expiresAt" = now() + interval '6 days 23 hours' WHERE token = $1`, [who.token]);
    // Warm, on the real clock: key rows and the app directory are read on their own schedule.
    expect((await cold.request(`${AUTH_URL}/api/auth/token`, { headers: await requestHeaders(c, who.token) })).status).toBe(200);
    const spy = vi.spyOn(service.pool, "query");
    try {
      const before = coldServed();
      const res = await cold.request(`${AUTH_URL}/api/auth/token`, { headers: await requestHeaders(c, who.token) });
      expect(res.status).toBe(200);
      expect(coldServed()).toBe(before + 1);
      expect(spy.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      spy.mockRestore();
    }
  });

  it("declines while no live key is cached, lets Better Auth rotate, then signs with the new key it shares", async () => {
    await service.pool.query(`UPDATE "jwks" SET "expiresAt" = now() - interval '1 second' WHERE "expiresAt" IS NULL OR "expiresAt" > now()`);
    // A new cold instance: its key cache reads the rows afresh and finds no live key.
    const fresh = createApp(service.config, { pool: service.pool, sessionPlan: snapshot });
    const who = await person(PLAIN);
    await putSession({ ...PLAIN, state: "fresh" }, who);
    // Real clock from here: the rotated key's lifetime starts now.
    await service.pool.query(`UPDATE "session" SET "expiresAt" = now() + interval '6 days 23 hours' WHERE token = $1`, [who.token]);
    const ask = async () => {
      const res = await fresh.request(`${AUTH_URL}/api/auth/token`, { headers: await requestHeaders(PLAIN, who.token) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };
    const first = await ask();
    expect(snapshotTokenOf(fresh)!.served).toBe(0);
    const second = await ask();
    expect(snapshotTokenOf(fresh)!.served).toBe(1);
    const kid = decodeProtectedHeader(first).kid;
    expect(kid).not.toBe(jwks.keys[0]!.kid);
    expect(decodeProtectedHeader(second).kid).toBe(kid);
    // This instance's /jwks is served from the cache it signs from (the reference's is up to 30 s behind).
    const published = (await (await fresh.request(`${AUTH_URL}/api/auth/jwks`)).json()) as JSONWebKeySet;
    expect(published.keys.map((k) => k.kid)).toContain(kid);
    for (const token of [first, second]) await expect(jwtVerify(token, createLocalJWKSet(published), { issuer: AUTH_URL, audience: AUDIENCE })).resolves.toBeDefined();
    jwks = published;
  });

  it("is off with leanReads: false, for a snapshot that blocks it, and once the built instance plans differently", async () => {
    expect(snapshotTokenOf(createApp(service.config, { pool: service.pool, leanReads: false, sessionPlan: snapshot }))).toBeUndefined();
    expect(snapshotTokenOf(createApp(service.config, { pool: service.pool, sessionPlan: { ...snapshot, tokenBlocker: "plugin x hooks /token" } }))).toBeUndefined();
    const wrong: PlanSnapshot = { ...snapshot, plan: { ...snapshot.plan, sessionOutput: snapshot.plan.sessionOutput.filter((k) => k !== "ipAddress") } };
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const app = createApp(service.config, { pool: service.pool, sessionPlan: wrong });
      const who = await person(PLAIN);
      await putSession(PLAIN, who);
      await service.pool.query(`UPDATE "session" SET "expiresAt" = now() + interval '6 days 23 hours' WHERE token = $1`, [who.token]);
      const headers = await requestHeaders(PLAIN, who.token);
      expect((await app.request(`${AUTH_URL}/api/auth/token`, { headers })).status).toBe(200);
      expect(snapshotTokenOf(app)!.served).toBe(1);
      // Anything the lean paths refuse builds Better Auth, which checks the snapshot.
      expect((await app.request(`${AUTH_URL}/api/auth/token?x=1`, { headers })).status).toBe(200);
      await vi.waitFor(() => expect(errors).toHaveBeenCalled());
      expect((await app.request(`${AUTH_URL}/api/auth/token`, { headers })).status).toBe(200);
      expect(snapshotTokenOf(app)!.served).toBe(1);
    } finally {
      errors.mockRestore();
    }
  });

  it("once Better Auth is built, a lean /token and /jwks that would sign or publish from another key cache are turned off alone", async () => {
    const live = (await contextPlanOf(service.auth))!;
    const paths = () => ({ reader: { disable: vi.fn() }, token: { disable: vi.fn() }, jwks: { disable: vi.fn() } });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      // The instance's own key cache: nothing differs, everything stays on.
      const same = paths();
      await checkSnapshot(service.auth, { plan: live, ...same, keyCache: keyCacheOf(service.auth) } as never, service.config);
      expect([same.reader.disable, same.token.disable, same.jwks.disable].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
      // Another cache (a snapshot wired to a cache the instance does not use): /token and /jwks off, the session read stays.
      const other = paths();
      await checkSnapshot(service.auth, { plan: live, ...other, keyCache: new SigningKeyCache({ pool: service.pool, alg: "RS256", graceSeconds: 60 }) } as never, service.config);
      expect([other.reader.disable, other.token.disable, other.jwks.disable].map((f) => f.mock.calls.length)).toEqual([0, 1, 1]);
      expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/lean \/jwks off.*another key cache/), expect.stringMatching(/lean \/token off.*another key cache/)]);
      // A session plan that differs: all three off.
      const drift = paths();
      await checkSnapshot(service.auth, { plan: { ...live, sessionOutput: [] }, ...drift, keyCache: keyCacheOf(service.auth) } as never, service.config);
      expect([drift.reader.disable, drift.token.disable, drift.jwks.disable].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);
    } finally {
      errors.mockRestore();
    }
  });

  it("is blocked by any option or plugin it does not reproduce", async () => {
    const ctx = (await service.auth.$context) as LeanAuthContext;
    const o = ctx.options;
    expect(tokenLeanBlocker(ctx)).toBeUndefined();
    const plugins = o.plugins as { id: string; options?: Record<string, unknown> }[];
    const withJwt = (change: (jwtOptions: Record<string, unknown>) => Record<string, unknown>) =>
      ({ ...ctx, options: { ...o, plugins: plugins.map((p) => (p.id === "jwt" ? { ...p, options: change(p.options ?? {}) } : p)) } }) as never;
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: {} } } })).toMatch(/rate limit/);
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, disabledPaths: ["/token"] } })).toMatch(/disabled/);
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, hooks: { before: async () => {} } } as never })).toMatch(/global hooks/);
    const tokenHook = { id: "x-token-hook", hooks: { after: [{ matcher: (c: { path?: string }) => c.path === "/token", handler: async () => {} }] } };
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, tokenHook] } as never })).toMatch(/x-token-hook/);
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, plugins: [...plugins, { id: "x-on-request", onRequest: async () => {} }] } as never })).toMatch(/x-on-request/);
    expect(tokenLeanBlocker(withJwt((j) => ({ ...j, jwt: { ...(j.jwt as object), getSubject: () => "x" } })))).toMatch(/getSubject/);
    expect(tokenLeanBlocker(withJwt((j) => ({ ...j, jwt: { ...(j.jwt as object), expirationTime: "1h" } })))).toMatch(/expirationTime/);
    expect(tokenLeanBlocker(withJwt((j) => ({ ...j, jwks: { ...(j.jwks as object), keyPairConfig: { alg: "EdDSA" } } })))).toMatch(/algorithm/);
    expect(tokenLeanBlocker(withJwt((j) => ({ ...j, jwks: { ...(j.jwks as object), disablePrivateKeyEncryption: true } })))).toMatch(/unencrypted/);
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, session: { ...o.session, cookieCache: { enabled: true } } } })).toMatch(/cookie cache/);
    // Better Auth takes the first matching rule key: a wildcard before "/token" could win.
    expect(tokenLeanBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: { "/*": { window: 10, max: 1 }, ...o.rateLimit?.customRules } } } })).toMatch(/rate limit/);
    // definePayload is asked once: anything but the claims this path builds turns it off.
    expect(await contextTokenPlan(ctx, plan(ctx), service.config)).toBeDefined();
    const extraClaim = withJwt((j) => ({ ...j, jwt: { ...(j.jwt as object), definePayload: async (s: { user: { email: string }; session: { id: string } }) => ({ email: s.user.email, sid: s.session.id, org_id: null, org_slug: null, role: null, permissions: {}, extra: 1 }) } }));
    expect(await contextTokenPlan(extraClaim, plan(ctx), service.config)).toBeUndefined();
    const reordered = withJwt((j) => ({ ...j, jwt: { ...(j.jwt as object), definePayload: async (s: { user: { email: string }; session: { id: string } }) => ({ sid: s.session.id, email: s.user.email, org_id: null, org_slug: null, role: null, permissions: {} }) } }));
    expect(await contextTokenPlan(reordered, plan(ctx), service.config)).toBeUndefined();
    expect(await contextTokenPlan(ctx, plan(ctx), { jwt: { ...service.config.jwt, audience: "someone-else" } })).toBeUndefined();
  });

  it("still counts TokensMinted at the Hono layer for a lean token", async () => {
    const lines: string[] = [];
    const previous = setMetricSink((line) => lines.push(line));
    try {
      const who = await person(PLAIN);
      await putSession(PLAIN, who);
      await service.pool.query(`UPDATE "session" SET "expiresAt" = now() + interval '6 days 23 hours' WHERE token = $1`, [who.token]);
      const before = coldServed();
      expect((await cold.request(`${AUTH_URL}/api/auth/token`, { headers: await requestHeaders(PLAIN, who.token) })).status).toBe(200);
      expect(coldServed()).toBe(before + 1);
      expect(lines.filter((l) => l.includes('"TokensMinted"'))).toHaveLength(1);
    } finally {
      setMetricSink(previous);
    }
  });

  it("hostile headers on a live session: never a 5xx, and a token only with the signed cookie intact", async () => {
    const who = await person(PLAIN);
    await putSession(PLAIN, who);
    const signed = (await serializeSignedCookie(cookieName, who.token, secret)).split(";")[0]!;
    let minted = 0;
    const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    const nasty = fc.oneof(ascii, fc.constantFrom("%", "%00", "%E0%A4%A", "null", "https://", "https://evil.example:99999", "http://[::1", `${APP_ONE}/`, `${APP_ONE}.evil.example`, "a".repeat(2000)));
    const cookiePart = fc.oneof(
      { weight: 3, arbitrary: fc.constant(signed) },
      { weight: 1, arbitrary: fc.constant(`${signed}x`) },
      { weight: 1, arbitrary: fc.constant(signed.replace(/.$/, "")) },
      { weight: 2, arbitrary: nasty.map((v) => `${cookieName}=${v}`) },
      { weight: 2, arbitrary: fc.tuple(ascii, nasty).map(([k, v]) => `${k.replace(/[=;\s]/g, "") || "k"}=${v}`) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            cookie: fc.array(cookiePart, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("; ")),
            origin: nasty,
            [APP_CLIENT_HEADER]: nasty,
            "x-forwarded-host": nasty,
            "x-forwarded-proto": nasty,
            "x-forwarded-for": nasty,
          },
          { requiredKeys: ["cookie"] },
        ),
        async (headers) => {
          const res = await cold.request(`${AUTH_URL}/api/auth/token`, { headers: { ...headers, [SOURCE_IP_HEADER]: "203.0.113.50" } });
          expect(res.status, JSON.stringify(headers)).toBeLessThan(500);
          if (res.status !== 200) return;
          const { token } = (await res.json()) as { token: string };
          // Whatever else came along, the session cookie that counts (the first, as better-call reads it) was exactly the signed one.
          expect(headers.cookie.split("; ").find((c) => c.startsWith(`${cookieName}=`))).toBe(signed);
          expect(decodeJwt(token).sub).toBe(who.userId);
          minted++;
        },
      ),
      { numRuns: 60 },
    );
    // Not only refusals: with the signed cookie weighted in, many runs must have got their token.
    expect(minted).toBeGreaterThan(5);
  });
});

describe("lean /token on a cold bundle across auth-secret rotation", () => {
  const OLD = "old-secret-0123456789abcdef0123456789abcdef";
  const NEW = "new-secret-fedcba9876543210fedcba9876543210";
  let env: Env;
  let first: Service;
  let snapshot: PlanSnapshot;
  let kid: string;

  beforeAll(async () => {
    setMetricSink(() => {});
    env = await testEnv("token_lean_secrets", { BETTER_AUTH_SECRET: OLD });
    first = await startService(env);
    snapshot = await sessionPlanSnapshot();
    const browser = new Browser(first, APP_ONE);
    await browser.signUp("first@example.org");
    kid = decodeProtectedHeader((await browser.json<{ token: string }>("/api/auth/token")).token).kid!;
  });
  afterAll(() => first.close());

  /** A cold app on the same database with another secret configuration, and a browser on it. */
  const coldWith = (extra: Env) => {
    const config = configFromEnv({ ...env, ...extra });
    const app = createApp(config, { pool: first.pool, sessionPlan: snapshot });
    return { app, browser: new Browser({ ...first, config, app }, APP_ONE) };
  };

  it("with a new version and the old one kept, it opens the key the old version encrypted", async () => {
    const { app, browser } = coldWith({ BETTER_AUTH_SECRET: undefined, BETTER_AUTH_SECRETS: `2:${NEW},1:${OLD}` });
    await browser.signUp("rotated@example.org");
    const { token } = await browser.json<{ token: string }>("/api/auth/token");
    expect(snapshotTokenOf(app)!.served).toBe(1);
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    const jwks = await browser.json<JSONWebKeySet>("/api/auth/jwks");
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("with the secret replaced outright, it declines and Better Auth fails closed", async () => {
    const { app, browser } = coldWith({ BETTER_AUTH_SECRET: NEW });
    await browser.signUp("replaced@example.org");
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await browser.fetch("/api/auth/token");
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(await res.text()).not.toContain(NEW);
    } finally {
      errors.mockRestore();
    }
    expect(snapshotTokenOf(app)!.served).toBe(0);
  });
});
