/**
 * The lean get-session path (functions/auth/session-read.ts), and the session it hands /token,
 * answer exactly as Better Auth's own handler does: random session states (fresh, due for refresh, expired, unknown, banned user),
 * cookies (Better Auth-signed, bad or missing signature, percent-encoded, quoted, unprefixed
 * name, duplicates, junk), other Better Auth cookies, query options, methods and Authorization
 * headers go through both on the real PostgreSQL, from the same database state and the same
 * clock, and must give the same status, headers (Set-Cookie included), body (for /token: the
 * same signed JWT) and database effect (session row, audit rows).
 */
import { randomBytes } from "node:crypto";
import { serializeSignedCookie } from "better-call";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { betterAuth } from "better-auth";
import { createApp } from "../../../functions/auth/app.js";
import { authOptions, type Auth } from "../../../functions/auth/auth.js";
import { leanReadBlocker, leanSessionRead, leanTokenSession, verifiedToken } from "../../../functions/auth/session-read.js";
import { leanTokenOf } from "../../../functions/auth/auth-routes.js";
import { setMetricSink } from "../../../functions/emf.js";
import { APP_ONE, AUTH_URL, startService, testEnv, type Service } from "./harness.js";

const DAY = 24 * 3600 * 1000;
const STATES = ["fresh", "refreshDue", "expired", "unknown", "banned", "justInside"] as const;
const COOKIE_FORMS = ["signed", "badSignature", "noSignature", "shortSignature", "encoded", "quoted", "unprefixedName", "duplicateBadFirst", "duplicateGoodFirst", "none"] as const;
const EXTRAS = ["none", "sessionData", "dontRemember", "junk", "chunkedSessionData"] as const;
const QUERIES = ["", "?disableRefresh=true", "?disableCookieCache=true", "?x=1"] as const;

interface Case {
  endpoint: "get-session" | "token";
  state: (typeof STATES)[number];
  form: (typeof COOKIE_FORMS)[number];
  extra: (typeof EXTRAS)[number];
  query: (typeof QUERIES)[number];
  method: "GET" | "POST";
  authorization: boolean;
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
  row: unknown;
  audit: unknown[];
}

// https origins: Better Auth names the cookie __Secure-better-auth.session_token; plain http: better-auth.session_token.
const VARIANTS = [
  { name: "secure cookies", base: AUTH_URL, origin: APP_ONE, env: {}, runs: 120 },
  { name: "plain http", base: "http://auth.authplane.test", origin: "http://app-one.authplane.test", env: { BETTER_AUTH_URL: "http://auth.authplane.test", TRUSTED_ORIGINS: "http://app-one.authplane.test", JWT_ISSUER: "http://auth.authplane.test" }, runs: 60 },
];

describe.each(VARIANTS)("lean get-session path ($name)", ({ base, origin, env, runs }) => {
  let service: Service;
  let baOnly: ReturnType<typeof createApp>;
  let tokenHook: ReturnType<typeof leanTokenSession>;
  let userId: string;
  let bannedId: string;
  let secret: string;
  let cookieName: string;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  beforeAll(async () => {
    setMetricSink(() => {}); // one TokensMinted line per /token: not wanted on the test's stdout
    service = await startService(await testEnv("session_read", env));
    // Better Auth on its own: a second instance on the same database without the /token hook.
    const own = authOptions(service.config, service.pool);
    const ownAuth = betterAuth({ ...own, plugins: own.plugins.filter((p) => p.id !== "authplane-lean-token-session") }) as unknown as Auth;
    baOnly = createApp(service.config, { auth: ownAuth, leanReads: false });
    tokenHook = service.auth.options.plugins.find((p) => p.id === "authplane-lean-token-session") as ReturnType<typeof leanTokenSession>;
    userId = "u_lean";
    bannedId = "u_banned";
    await service.pool.query(
      `INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt", role, banned, "banReason")
       VALUES ('u_lean', 'Lean', 'lean@example.org', true, NULL, now(), now(), 'user', false, NULL),
              ('u_banned', 'Banned', 'banned@example.org', false, 'https://example.org/a.png', now(), now(), 'user', true, 'offboarded')`,
    );
    const ctx = (await service.auth.$context) as { secret: string; authCookies: { sessionToken: { name: string } } };
    secret = ctx.secret;
    cookieName = ctx.authCookies.sessionToken.name;
    expect(cookieName).toBe(base.startsWith("https:") ? "__Secure-better-auth.session_token" : "better-auth.session_token");
  });
  afterAll(() => service.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  async function putSession(token: string, state: Case["state"]): Promise<void> {
    await service.pool.query(`DELETE FROM "session" WHERE token = $1`, [token]);
    if (state === "unknown") return;
    const t = now.getTime();
    // expiresIn 7 days, updateAge 1 day: due for refresh once expiresAt - 7d + 1d <= now.
    const expiresAt = { fresh: t + 7 * DAY - 3600_000, refreshDue: t + 5 * DAY, expired: t - 60_000, banned: t + 7 * DAY - 3600_000, justInside: t + 6 * DAY + 1 }[state];
    await service.pool.query(
      `INSERT INTO "session" (id, token, "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent", "activeOrganizationId")
       VALUES ($1, $2, $3, $4, $5, $5, '10.0.0.1', 'vitest', NULL)`,
      [`s_${token.slice(0, 12)}`, token, state === "banned" ? bannedId : userId, new Date(expiresAt), new Date(t - 3600_000)],
    );
  }

  async function cookieHeader(c: Case, token: string): Promise<string | undefined> {
    // Better Auth's own signer (better-call) makes the cookie a browser would hold.
    const signed = (await serializeSignedCookie(cookieName, token, secret)).split(";")[0]!.slice(cookieName.length + 1);
    const raw = decodeURIComponent(signed);
    const value = {
      signed,
      badSignature: encodeURIComponent(`${token}.${randomBytes(32).toString("base64")}`),
      noSignature: token,
      shortSignature: encodeURIComponent(raw.slice(0, -2)),
      encoded: encodeURIComponent(raw).replace(/\./g, "%2E"),
      quoted: `"${signed}"`,
      unprefixedName: signed,
      duplicateBadFirst: signed,
      duplicateGoodFirst: signed,
      none: "",
    }[c.form];
    const base = cookieName.replace(/^__Secure-/, "");
    const parts: string[] = [];
    if (c.form === "duplicateBadFirst") parts.push(`${cookieName}=${encodeURIComponent(`${token}.${randomBytes(32).toString("base64")}`)}`);
    if (c.form === "unprefixedName") parts.push(`${base}=${value}`);
    else if (c.form !== "none") parts.push(`${cookieName}=${value}`);
    if (c.form === "duplicateGoodFirst") parts.push(`${cookieName}=garbage`);
    const prefix = cookieName.replace(/session_token$/, "");
    if (c.extra === "sessionData") parts.push(`${prefix}session_data=eyJzZXNzaW9uIjp7fX0`);
    if (c.extra === "chunkedSessionData") parts.push(`${prefix}session_data.0=eyJzZXNz`);
    if (c.extra === "dontRemember") parts.push(`${prefix}dont_remember=${(await serializeSignedCookie("x", "true", secret)).split(";")[0]!.slice(2)}`);
    if (c.extra === "junk") parts.push("theme=dark", "_ga=GA1.2.3");
    return parts.length ? parts.join("; ") : undefined;
  }

  async function answer(app: ReturnType<typeof createApp>, c: Case, token: string, cookie: string | undefined): Promise<Answer> {
    const headers: Record<string, string> = { origin };
    if (cookie) headers.cookie = cookie;
    if (c.authorization) headers.authorization = "Bearer not-a-session";
    if (c.method === "POST") headers["content-type"] = "application/json";
    const auditFrom = (await service.pool.query(`SELECT coalesce(max(id), 0) AS id FROM authplane_audit`)).rows[0].id;
    const res = await app.request(`${base}/api/auth/${c.endpoint}${c.query}`, { method: c.method, headers, ...(c.method === "POST" ? { body: "{}" } : {}) });
    const { rows } = await service.pool.query(`SELECT "expiresAt", "updatedAt" FROM "session" WHERE token = $1`, [token]);
    const audit = (await service.pool.query(`SELECT action, actor, subject, app, ip, outcome, detail FROM authplane_audit WHERE id > $1 ORDER BY id`, [auditFrom])).rows;
    return { status: res.status, headers: [...res.headers].sort(([a], [b]) => a.localeCompare(b)), body: await res.text(), row: rows[0] ?? null, audit };
  }

  async function bothWays(c: Case): Promise<{ lean: Answer; own: Answer; served: boolean }> {
    vi.useFakeTimers({ toFake: ["Date"], now });
    const token = randomBytes(24).toString("base64url");
    const cookie = await cookieHeader(c, token);
    const reader = leanSessionRead(service.auth, service.pool);
    await putSession(token, c.state);
    // A plain /token is minted by token-lean.ts before Better Auth, else its session comes from the hook.
    const count = () => reader.served + tokenHook.served + (leanTokenOf(service.auth)?.served ?? 0);
    const before = count();
    const lean = await answer(service.app, c, token, cookie);
    const served = count() > before;
    await putSession(token, c.state); // the same state again: the first answer may have refreshed or deleted it
    const own = await answer(baOnly, c, token, cookie);
    await service.pool.query(`DELETE FROM "session" WHERE token = $1`, [token]);
    return { lean, own, served };
  }

  it("answers a plain read itself, in one query, with Better Auth's exact response", async () => {
    const { lean, own, served } = await bothWays({ endpoint: "get-session", state: "fresh", form: "signed", extra: "none", query: "", method: "GET", authorization: false });
    expect(served).toBe(true);
    expect(lean.status).toBe(200);
    expect(JSON.parse(lean.body).user.email).toBe("lean@example.org");
    expect(lean).toEqual(own);
  });

  it("hands /token the plain session: the same JWT and the same audit row as Better Auth's own read", async () => {
    const { lean, own, served } = await bothWays({ endpoint: "token", state: "fresh", form: "signed", extra: "none", query: "", method: "GET", authorization: false });
    expect(served).toBe(true);
    expect(lean.status).toBe(200);
    const claims = JSON.parse(Buffer.from((JSON.parse(lean.body) as { token: string }).token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ sub: userId, email: "lean@example.org", iat: Math.floor(now.getTime() / 1000) });
    expect(lean.audit).toMatchObject([{ action: "token.minted", actor: userId }]);
    expect(lean).toEqual(own);
  });

  it("hands every other state to Better Auth", async () => {
    for (const c of [
      { state: "refreshDue", form: "signed" },
      { state: "expired", form: "signed" },
      { state: "unknown", form: "signed" },
      { state: "banned", form: "signed" },
      { state: "fresh", form: "badSignature" },
      { state: "fresh", form: "signed", extra: "dontRemember" },
      { state: "fresh", form: "signed", query: "?disableRefresh=true" },
      { state: "fresh", form: "signed", authorization: true },
    ] as Partial<Case>[]) {
      for (const endpoint of ["get-session", "token"] as const) {
      const full: Case = { endpoint, state: "fresh", form: "signed", extra: "none", query: "", method: "GET", authorization: false, ...c };
      const { lean, own, served } = await bothWays(full);
      expect(served, JSON.stringify(c)).toBe(false);
      expect(lean, JSON.stringify(c)).toEqual(own);
      }
    }
  });

  it("matches Better Auth's own handler for random sessions, cookies and requests", async () => {
    let servedCount = 0;
    await fc.assert(
      fc.asyncProperty(
        // Weighted towards the plain read, so a good share of the runs takes the lean path.
        fc.record({
          endpoint: fc.constantFrom("get-session" as const, "token" as const),
          state: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("fresh" as const, "justInside" as const) }, { weight: 3, arbitrary: fc.constantFrom(...STATES) }),
          form: fc.oneof({ weight: 2, arbitrary: fc.constant("signed" as const) }, { weight: 3, arbitrary: fc.constantFrom(...COOKIE_FORMS) }),
          extra: fc.oneof({ weight: 2, arbitrary: fc.constantFrom("none" as const, "junk" as const) }, { weight: 1, arbitrary: fc.constantFrom(...EXTRAS) }),
          query: fc.oneof({ weight: 2, arbitrary: fc.constant("" as const) }, { weight: 1, arbitrary: fc.constantFrom(...QUERIES) }),
          method: fc.constantFrom("GET" as const, "GET" as const, "GET" as const, "POST" as const),
          authorization: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
        }),
        async (c) => {
          const { lean, own, served } = await bothWays(c);
          if (served) servedCount++;
          expect(lean).toEqual(own);
        },
      ),
      { numRuns: runs },
    );
    // The property is not vacuous: some random cases took the lean path.
    expect(servedCount).toBeGreaterThan(0);
  });

  it("is off for the whole instance when Better Auth would do more than read (Redis, cookie cache, a limit, a hook)", async () => {
    const ctx = (await service.auth.$context) as Parameters<typeof leanReadBlocker>[0];
    const o = ctx.options;
    expect(leanReadBlocker(ctx)).toBeUndefined();
    const storage = { get: async () => null, set: async () => {}, delete: async () => {} } as never;
    expect(leanReadBlocker({ ...ctx, options: { ...o, secondaryStorage: storage } })).toMatch(/secondary storage/);
    expect(leanReadBlocker({ ...ctx, options: { ...o, session: { ...o.session, cookieCache: { enabled: true } } } })).toMatch(/cookie cache/);
    expect(leanReadBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: {} } } })).toMatch(/rate limit/);
    // Better Auth takes the first matching rule key: a wildcard listed before "/get-session" could win.
    expect(leanReadBlocker({ ...ctx, options: { ...o, rateLimit: { ...o.rateLimit, customRules: { "/get-*": { window: 10, max: 1 }, ...o.rateLimit?.customRules } } } })).toMatch(/rate limit/);
    expect(leanReadBlocker({ ...ctx, options: { ...o, rateLimit: { enabled: false } } })).toBeUndefined();
    expect(leanReadBlocker({ ...ctx, options: { ...o, hooks: { after: async () => {} } } as never })).toMatch(/global hooks/);
    const sessionHook = { id: "x-session-hook", hooks: { after: [{ matcher: (c: { path?: string }) => c.path === "/get-session", handler: async () => {} }] } };
    expect(leanReadBlocker({ ...ctx, options: { ...o, plugins: [...(o.plugins ?? []), sessionHook] } as never })).toMatch(/x-session-hook/);
  });

  it("verifies the signature as better-call does: 44 padded base64 characters of HMAC-SHA256", async () => {
    const signed = decodeURIComponent((await serializeSignedCookie("n", "tok", secret)).split(";")[0]!.slice(2));
    expect(verifiedToken(signed, secret)).toBe("tok");
    expect(verifiedToken(signed, `${secret}x`)).toBeUndefined();
    expect(verifiedToken(signed.slice(0, -1), secret)).toBeUndefined();
    expect(verifiedToken(`.${signed.split(".")[1]}`, secret)).toBeUndefined();
    expect(verifiedToken(signed.replace(/.=$/, "é="), secret)).toBeUndefined();
    expect(verifiedToken(undefined, secret)).toBeUndefined();
  });
});
