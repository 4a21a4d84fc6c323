/**
 * Several servers: two app instances built from the same config share sessions and
 * rate-limit counters through a real Redis; PostgreSQL stays the source of truth, so a Redis
 * that restarts empty loses no session.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnectRedisClients } from "../../../functions/auth/secondary-storage.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";
import { baseEnv, signUpNative, startAuth, type AuthApp } from "./fixture.js";

describe("several servers sharing Redis", () => {
  let redis: RunningRedis;
  let inspect: Redis;
  let a: AuthApp;
  let b: AuthApp;

  beforeAll(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const env = { ...(await baseEnv("several")), REDIS_URL: redis.url };
    a = await startAuth(env);
    b = await startAuth(env, { migrateFirst: false });
  });
  afterAll(async () => {
    inspect?.disconnect();
    await disconnectRedisClients();
    await redis?.stop();
  });

  const getSession = (app: AuthApp, token: string) =>
    app.request("/api/auth/get-session", { headers: { authorization: `Bearer ${token}` } });

  it("a session created on one server is valid on the other, and lives in Redis", async () => {
    const { token, user } = await signUpNative(a, "lin@example.org");
    const onB = (await (await getSession(b, token)).json()) as { user: { id: string } };
    expect(onB.user.id).toBe(user.id);
    const rawToken = token.split(".")[0]!;
    expect(await inspect.exists(`authplane:${rawToken}`)).toBe(1);
  });

  it("signing out on one server ends the session on the other", async () => {
    const { token } = await signUpNative(a, "mo@example.org");
    const out = await b.request("/api/auth/sign-out", { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(200);
    expect(await (await getSession(a, token)).json()).toBeNull();
  });

  it("rate-limit counters are shared through Redis, not kept per process", async () => {
    const attempt = (app: AuthApp) =>
      app.request("/api/auth/sign-in/email", {
        method: "POST",
        headers: { "content-type": "application/json", "x-authplane-source-ip": "192.0.2.44" },
        body: JSON.stringify({ email: "nobody@example.org", password: "wrong-password-123" }),
      });
    // Better Auth allows 3 sign-in attempts per 10 s per client; alternate servers.
    const statuses = [];
    for (const app of [a, b, a, b]) statuses.push((await attempt(app)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const keys = await inspect.keys("authplane:*sign-in*");
    expect(keys.length).toBeGreaterThan(0);
    // Wiping Redis resets the counter: it was never in process memory.
    await inspect.del(...keys);
    expect((await attempt(b)).status).toBe(401);
  });

  it.runIf(!process.env.REDIS_URL)("a Redis restart loses no session stored in PostgreSQL and the service recovers", async () => {
    const { token, user } = await signUpNative(a, "rio@example.org");
    await redis.restart();
    // The new server is empty: the copy of the session in Redis is gone.
    await expect.poll(() => inspect.exists(`authplane:${token.split(".")[0]}`).catch(() => -1), { timeout: 5_000 }).toBe(0);
    // Both servers reconnect on their own and find the session in PostgreSQL.
    for (const app of [a, b]) {
      await expect
        .poll(async () => ((await (await getSession(app, token)).json().catch(() => null)) as { user?: { id: string } } | null)?.user?.id, {
          timeout: 10_000,
        })
        .toBe(user.id);
    }
    // And new sign-ins work again.
    const fresh = await signUpNative(b, "rio2@example.org");
    expect(((await (await getSession(a, fresh.token)).json()) as { user: { email: string } }).user.email).toBe("rio2@example.org");
  });
});
