/**
 * The two backoff stores are one rule: fed the same failures, the PostgreSQL statement and the
 * Redis script set the same waits (free failures, then doubling from BASE_BLOCK_SECONDS up to
 * MAX_BLOCK_SECONDS), report the same remaining wait, and a clear starts over in both. Atomic
 * too: concurrent failures from several "instances" are all counted.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_BLOCK_SECONDS, FREE_FAILURES, MAX_BLOCK_SECONDS, postgresBackoff, redisBackoff, REDIS_BACKOFF_PREFIX, type BackoffStore } from "../../../functions/auth/account-limit.js";
import { OWN_TABLES } from "../../../functions/auth/own-tables.js";
import { freshDatabaseUrl } from "../../support/database.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";

describe("backoff stores (PostgreSQL, Redis)", () => {
  let redis: RunningRedis;
  let client: Redis;
  let db: pg.Pool;
  let stores: Record<"postgresql" | "redis", BackoffStore>;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    db = new pg.Pool({ connectionString: await freshDatabaseUrl("backoff_stores"), max: 4 });
    for (const sql of OWN_TABLES) await db.query(sql);
    stores = { postgresql: postgresBackoff(db), redis: redisBackoff(client) };
  });
  afterAll(async () => {
    client?.disconnect();
    await db?.end();
    await redis?.stop();
  });

  const waitsFor = async (store: BackoffStore, key: string, failures: number) => {
    const waits: number[] = [];
    for (let i = 0; i < failures; i++) waits.push(await store.recordFailure(key));
    return waits;
  };

  it("set the same waits for the same failures, capped", async () => {
    const expected = Array.from({ length: 20 }, (_, i) => (i < FREE_FAILURES ? 0 : Math.min(MAX_BLOCK_SECONDS, BASE_BLOCK_SECONDS * 2 ** (i - FREE_FAILURES))));
    expect(expected.slice(FREE_FAILURES, FREE_FAILURES + 3)).toEqual([5, 10, 20]);
    expect(expected.at(-1)).toBe(MAX_BLOCK_SECONDS);
    for (const store of Object.values(stores)) expect(await waitsFor(store, `same-${Math.random()}`, 20)).toEqual(expected);
  });

  it("report the remaining wait, and forget everything on clear", async () => {
    for (const [name, store] of Object.entries(stores)) {
      const key = `clear-${name}`;
      expect(await store.blockedFor(key)).toBe(0);
      await waitsFor(store, key, FREE_FAILURES);
      expect(await store.blockedFor(key), name).toBe(0);
      await store.recordFailure(key);
      const left = await store.blockedFor(key);
      expect(left, name).toBeGreaterThan(0);
      expect(left, name).toBeLessThanOrEqual(BASE_BLOCK_SECONDS);
      await store.clear(key);
      expect(await store.blockedFor(key), name).toBe(0);
      expect(await store.recordFailure(key), name).toBe(0);
    }
    // Redis forgets a key an hour after its last failure, by itself.
    const ttl = await client.pttl(`${REDIS_BACKOFF_PREFIX}clear-redis`);
    expect(ttl).toBeGreaterThan(3590_000);
  });

  it("count every one of many concurrent failures (one atomic step each)", async () => {
    for (const [name, store] of Object.entries(stores)) {
      const key = `race-${name}`;
      await Promise.all(Array.from({ length: 40 }, () => store.recordFailure(key)));
      // The 41st failure is the 41st: its wait is the capped one, as for 41 sequential failures.
      expect(await store.recordFailure(key), name).toBe(MAX_BLOCK_SECONDS);
    }
    expect(await client.hget(`${REDIS_BACKOFF_PREFIX}race-redis`, "f")).toBe("41");
    const { rows } = await db.query<{ failures: number }>(`SELECT failures FROM authplane_attempt_backoff WHERE key = 'race-postgresql'`);
    expect(rows[0]!.failures).toBe(41);
  });
});
