/**
 * The per-account backoff with REDIS_URL set: the same limits as with PostgreSQL, counted in
 * Redis (one atomic script per attempt, Redis's clock), shared by every instance, nothing in
 * PostgreSQL; and a Redis outage neither opens the backoff nor turns sign-in into a 500: the
 * count moves to PostgreSQL until Redis answers again.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_BLOCK_SECONDS, FREE_FAILURES, REDIS_BACKOFF_PREFIX } from "../../../functions/auth/account-limit.js";
import { createApp } from "../../../functions/auth/app.js";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { RATE_FALLBACK_TABLE } from "../../../functions/auth/rate-limit-fallback.js";
import { disconnectRedisClients } from "../../../functions/auth/secondary-storage.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";
import { AUTH_ORIGIN, baseEnv, type AuthApp } from "../clients/fixture.js";
import { NATIVE, PASSWORD, startBackoffService } from "./account-limit-support.js";

describe("per-account backoff in Redis", () => {
  let redis: RunningRedis;
  let inspect: Redis;
  let auth: AuthApp;
  let db: pg.Pool;
  let signIn: Awaited<ReturnType<typeof startBackoffService>>["signIn"];
  let passkeySignIn: Awaited<ReturnType<typeof startBackoffService>>["passkeySignIn"];

  beforeAll(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    inspect.on("error", () => {});
    const env: Record<string, string> = { ...(await baseEnv("account_limit_redis")), REDIS_URL: redis.url };
    ({ auth, signIn, passkeySignIn } = await startBackoffService(env, "owner@example.org", "other@example.org", "203.0"));
    db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  }, 60_000);
  afterAll(async () => {
    inspect?.disconnect();
    await disconnectRedisClients();
    await db?.end();
    await redis?.stop();
  });

  const backoffKeys = () => inspect.keys(`${REDIS_BACKOFF_PREFIX}*`);
  /** Move every block into the past (the wait is over), as the PostgreSQL test does with SQL. */
  const endWaits = async () => {
    for (const key of await backoffKeys()) if (await inspect.hexists(key, "u")) await inspect.hset(key, "u", "1");
  };
  const pgRows = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM authplane_attempt_backoff`)).rows[0]!.n;
  const fallbackRows = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${RATE_FALLBACK_TABLE}`)).rows[0]!.n;
  /** Sign-in attempts for strangers' emails (no account backoff) from one address: Better Auth's per-client rule alone. */
  const fromOneAddress = async (address: string, n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await auth.app.request(new URL("/api/auth/sign-in/email", AUTH_ORIGIN).toString(), {
        method: "POST",
        headers: { ...NATIVE, [SOURCE_IP_HEADER]: address },
        body: JSON.stringify({ email: `stranger-${address}-${i}@example.org`, password: "not-the-password" }),
      });
      statuses.push(res.status);
    }
    return statuses;
  };

  it("slows password guessing from many addresses to 429 + Retry-After, counting in Redis only", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FREE_FAILURES + 4; i++) statuses.push((await signIn("Owner@Example.org", `guess-${i}`)).status);
    expect(statuses).toEqual([...Array(FREE_FAILURES + 1).fill(401), 429, 429, 429]);
    const right = await signIn("owner@example.org", PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await right.json()).toMatchObject({ error: "account_rate_limited" });

    const keys = await backoffKeys();
    expect(keys).toHaveLength(1);
    // The account key is a hash, its failures counted, and it forgets itself after an hour.
    expect(keys[0]).toMatch(new RegExp(`^${REDIS_BACKOFF_PREFIX}[0-9a-f]{64}$`));
    expect(await inspect.hget(keys[0]!, "f")).toBe(String(FREE_FAILURES + 1));
    const ttl = await inspect.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
    expect(await pgRows()).toBe(0);
  });

  it("another instance sees the same backoff; other accounts and the owner's passkey are untouched", async () => {
    const other = createApp(auth.config);
    expect((await signIn("owner@example.org", PASSWORD, other)).status).toBe(429);
    expect((await signIn("other@example.org", PASSWORD, other)).status).toBe(200);
    const passkey = await passkeySignIn();
    expect(passkey.status, await passkey.clone().text()).toBe(200);
  });

  it("after the wait one attempt is checked; a wrong one doubles the wait, a right one clears the key", async () => {
    await endWaits();
    expect((await signIn("owner@example.org", "still-wrong")).status).toBe(401);
    const blocked = await signIn("owner@example.org", PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(BASE_BLOCK_SECONDS);
    await endWaits();
    expect((await signIn("owner@example.org", PASSWORD)).status).toBe(200);
    for (const key of await backoffKeys()) expect(await inspect.hget(key, "f")).not.toBe(String(FREE_FAILURES + 2));
    for (let i = 0; i < FREE_FAILURES; i++) expect((await signIn("owner@example.org", `wrong-again-${i}`)).status).toBe(401);
    expect((await signIn("owner@example.org", PASSWORD)).status).toBe(200);
  });

  it("forged passkey assertions get 429 once in backoff, a valid one still succeeds", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FREE_FAILURES + 2; i++) statuses.push((await passkeySignIn(true)).status);
    expect(statuses.slice(0, FREE_FAILURES).every((s) => s === 400 || s === 401)).toBe(true);
    expect(statuses.slice(FREE_FAILURES)).toEqual([429, 429]);
    expect((await passkeySignIn()).status).toBe(200);
    expect(await pgRows()).toBe(0);
  });

  it("Better Auth's per-client sign-in limit counts in Redis while it is up", async () => {
    // Better Auth's rule for /sign-in: 3 per 10 s per client address.
    expect(await fromOneAddress("198.51.100.20", 5)).toEqual([401, 401, 401, 429, 429]);
    expect(await fallbackRows()).toBe(0);
  });

  it.runIf(!process.env.REDIS_URL)("a Redis outage is no 500 and no free guessing: the count moves to PostgreSQL, then back", async () => {
    await redis.stop();
    const statuses: number[] = [];
    for (let i = 0; i < FREE_FAILURES + 2; i++) statuses.push((await signIn("other@example.org", `outage-guess-${i}`)).status);
    expect(statuses).toEqual([...Array(FREE_FAILURES + 1).fill(401), 429]);
    expect(await pgRows()).toBe(1);
    // Better Auth's per-client limit holds too: its counter moves to PostgreSQL instead of counting nothing.
    expect(await fromOneAddress("198.51.100.21", 5)).toEqual([401, 401, 401, 429, 429]);
    expect(await fallbackRows()).toBeGreaterThan(0);
    // The owner of another account signs in as usual.
    const owner = await signIn("owner@example.org", PASSWORD);
    expect(owner.status, await owner.clone().text()).toBe(200);
    // Their session reads from PostgreSQL meanwhile, and signing out ends it there.
    const bearer = { authorization: `Bearer ${((await owner.json()) as { token: string }).token}`, ...NATIVE };
    const session = await auth.request("/api/auth/get-session", { headers: bearer });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe("owner@example.org");
    expect((await auth.request("/api/auth/sign-out", { method: "POST", headers: { ...bearer, origin: AUTH_ORIGIN }, body: "{}" })).status).toBe(200);
    expect(await (await auth.request("/api/auth/get-session", { headers: bearer })).json()).toBeNull();

    await redis.restart();
    await inspect.connect().catch(() => {});
    // Back in Redis (empty after the restart): new failures are counted there again.
    await expect
      .poll(
        async () => {
          await signIn("owner@example.org", "after-the-outage");
          return (await backoffKeys()).length;
        },
        { timeout: 10_000 },
      )
      .toBe(1);
  });
});
