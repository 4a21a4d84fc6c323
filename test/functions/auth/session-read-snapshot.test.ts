/**
 * The lean read's build-time plan (functions/auth/session-read-snapshot.ts, embedded in the
 * bundle by functions/build.ts) is exactly the plan Better Auth's own context gives at run time,
 * so a plugin or Better Auth upgrade that changes the session/user columns, the output fields or
 * the hooks on /get-session fails here; an app running from the snapshot answers as Better Auth
 * does; and a snapshot that does not match the built instance turns the lean path off.
 */
import { parseSessionOutput, parseUserOutput } from "better-auth/db";
import { parseCookies, serializeSignedCookie } from "better-call";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { sessionPlanSnapshot } from "../../../functions/auth/session-read-snapshot.js";
import { contextPlan, parseCookieHeader, planFromSnapshot, snapshotOf, type PlanSnapshot } from "../../../functions/auth/session-read.js";
import { APP_ONE, AUTH_URL, startService, testEnv, type Service } from "./harness.js";

const DAY = 24 * 3600 * 1000;
const VARIANTS = [
  { name: "secure cookies", base: AUTH_URL, origin: APP_ONE, env: {} },
  { name: "plain http", base: "http://auth.authplane.test", origin: "http://app-one.authplane.test", env: { BETTER_AUTH_URL: "http://auth.authplane.test", TRUSTED_ORIGINS: "http://app-one.authplane.test", JWT_ISSUER: "http://auth.authplane.test" } },
];

let snapshot: PlanSnapshot;
beforeAll(async () => {
  snapshot = await sessionPlanSnapshot();
});

describe.each(VARIANTS)("the build-time session read plan ($name)", ({ base, origin, env }) => {
  let service: Service;
  let cookie: string;
  let cookieName: string;

  beforeAll(async () => {
    service = await startService(await testEnv("session_snapshot", env));
    await service.pool.query(
      `INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt", role, banned)
       VALUES ('u_snap', 'Snap', 'snap@example.org', true, NULL, now(), now(), 'user', false)`,
    );
    await service.pool.query(
      `INSERT INTO "session" (id, token, "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent")
       VALUES ('s_snap', 'tok_snapshot_0123456789abcdef', 'u_snap', $1, now(), now(), '10.0.0.1', 'vitest')`,
      [new Date(Date.now() + 7 * DAY - 3600_000)],
    );
    const ctx = (await service.auth.$context) as { secret: string; authCookies: { sessionToken: { name: string } } };
    cookieName = ctx.authCookies.sessionToken.name;
    cookie = (await serializeSignedCookie(cookieName, "tok_snapshot_0123456789abcdef", ctx.secret)).split(";")[0]!;
  });
  afterAll(() => service.close());

  it("equals the plan from Better Auth's context", async () => {
    const ctx = (await service.auth.$context) as Parameters<typeof snapshotOf>[0];
    expect(snapshot.blocker).toBeNull();
    expect(snapshotOf(ctx)).toEqual(snapshot);
    const live = await contextPlan(service.auth);
    expect(live).toBeDefined();
    expect(planFromSnapshot(snapshot, service.config)).toEqual(live);
  });

  it("keeps exactly the fields Better Auth's output parsers keep", async () => {
    const { options } = service.auth;
    const all = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, 1]));
    expect(Object.keys(parseSessionOutput(options as never, all(snapshot.plan.session.map((c) => c.key)) as never))).toEqual(snapshot.plan.sessionOutput);
    expect(Object.keys(parseUserOutput(options as never, all(snapshot.plan.user.map((c) => c.key)) as never))).toEqual(snapshot.plan.userOutput);
  });

  it("takes the first secret version and no lean path with Redis", () => {
    const c = service.config;
    const rotated = { ...c, secrets: [{ version: 2, value: "new-secret-0123456789abcdef0123456789abcdef" }, ...c.secrets] };
    expect(planFromSnapshot(snapshot, rotated)?.secret).toBe("new-secret-0123456789abcdef0123456789abcdef");
    expect(planFromSnapshot(snapshot, { ...c, redisUrl: "redis://127.0.0.1:6379" })).toBeUndefined();
    expect(planFromSnapshot({ ...snapshot, blocker: "plugin x hooks /get-session" }, c)).toBeUndefined();
    expect(planFromSnapshot(undefined, c)).toBeUndefined();
  });

  it("answers from the snapshot as Better Auth does; a repeated session cookie goes to Better Auth", async () => {
    const lean = createApp(service.config, { pool: service.pool, sessionPlan: snapshot });
    const own = createApp(service.config, { pool: service.pool, leanReads: false });
    const ask = async (app: ReturnType<typeof createApp>, cookieHeader: string) => {
      const res = await app.request(`${base}/api/auth/get-session`, { headers: { origin, cookie: cookieHeader } });
      return { status: res.status, body: await res.text() };
    };
    for (const header of [cookie, `${cookie}; ${cookie}`, `${cookieName}=junk; ${cookie}`, `${cookie}; ${cookieName}=junk`, `theme=dark; ${cookie}`, `${cookie.slice(0, -3)}`]) {
      expect(await ask(lean, header), header).toEqual(await ask(own, header));
    }
  });

  it("turns itself off with one error line when the built instance plans differently", async () => {
    // A snapshot that drops a field: while it is on, its answers show it.
    const wrong: PlanSnapshot = { ...snapshot, plan: { ...snapshot.plan, sessionOutput: snapshot.plan.sessionOutput.filter((k) => k !== "ipAddress") } };
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const app = createApp(service.config, { pool: service.pool, sessionPlan: wrong });
      const read = async (query = "") => (await (await app.request(`${base}/api/auth/get-session${query}`, { headers: { origin, cookie } })).json()) as { session: Record<string, unknown> };
      expect((await read()).session).not.toHaveProperty("ipAddress");
      // Anything the lean path refuses builds Better Auth, which checks the snapshot.
      expect((await read("?disableCookieCache=true")).session.ipAddress).toBe("10.0.0.1");
      await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1));
      expect(String(errors.mock.calls[0]![0])).toMatch(/differs from the build-time snapshot.*sessionOutput/);
      expect((await read()).session.ipAddress).toBe("10.0.0.1");
    } finally {
      errors.mockRestore();
    }
  });
});

describe("the lean path's cookie parser", () => {
  it("reads a header as better-call does, and tells which names repeat", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "b", "=", ";", " ", '"', "%", "2", "F", "é", ".") });
    fc.assert(
      fc.property(fc.array(fc.oneof(text, fc.tuple(fc.constantFrom("a", "b", " a"), text).map(([k, v]) => `${k}=${v}`)), { maxLength: 6 }).map((xs) => xs.join(";")), (header) => {
        const { cookies, repeated } = parseCookieHeader(header);
        expect(cookies).toEqual(parseCookies(header));
        for (const name of repeated) expect(header.split(";").filter((p) => p.includes("=") && p.slice(0, p.indexOf("=")).trim() === name).length).toBeGreaterThan(1);
      }),
      { numRuns: 500 },
    );
  });
});
