/**
 * The PostgreSQL counter Better Auth's per-client limits use while Redis is away keeps Redis's
 * rule (@better-auth/redis-storage's INCR, EXPIRE on the first hit): the same counts for the same
 * hits, none lost to concurrent instances, a fresh count once the window has passed.
 */
import { redisStorage } from "@better-auth/redis-storage";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWN_TABLES } from "../../../functions/auth/own-tables.js";
import { postgresCounter, RATE_FALLBACK_TABLE } from "../../../functions/auth/rate-limit-fallback.js";
import { freshDatabaseUrl } from "../../support/database.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";

describe("rate-limit counter in PostgreSQL (Redis outage fallback)", () => {
  let redis: RunningRedis;
  let client: Redis;
  let db: pg.Pool;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    db = new pg.Pool({ connectionString: await freshDatabaseUrl("rate_fallback"), max: 6 });
    for (const sql of OWN_TABLES) await db.query(sql);
  });
  afterAll(async () => {
    client?.disconnect();
    await db?.end();
    await redis?.stop();
  });

  it("counts as Redis does, and starts over after the window", async () => {
    const inPostgres = postgresCounter(db);
    const inRedis = redisStorage({ client, keyPrefix: "rate-fallback-test:" });
    const pgCounts: number[] = [];
    const redisCounts: number[] = [];
    for (let i = 0; i < 5; i++) {
      pgCounts.push(await inPostgres("203.0.113.9/sign-in/email", 10));
      redisCounts.push(await inRedis.increment!("203.0.113.9/sign-in/email", 10));
    }
    expect(pgCounts).toEqual([1, 2, 3, 4, 5]);
    expect(pgCounts).toEqual(redisCounts);
    // Another key is another counter.
    expect(await inPostgres("203.0.113.10/sign-in/email", 10)).toBe(1);
    // The window has passed (as Redis's EXPIRE would end the key): the next hit counts 1 again.
    await db.query(`UPDATE ${RATE_FALLBACK_TABLE} SET expires_at = now() - interval '1 second' WHERE key = $1`, ["203.0.113.9/sign-in/email"]);
    expect(await inPostgres("203.0.113.9/sign-in/email", 10)).toBe(1);
    const { rows } = await db.query<{ ttl: number }>(`SELECT extract(epoch FROM expires_at - now())::float AS ttl FROM ${RATE_FALLBACK_TABLE} WHERE key = $1`, ["203.0.113.9/sign-in/email"]);
    expect(rows[0]!.ttl).toBeGreaterThan(8);
    expect(rows[0]!.ttl).toBeLessThanOrEqual(10);
  });

  it("loses no hit to concurrent instances", async () => {
    const instances = [postgresCounter(db), postgresCounter(db), postgresCounter(db)];
    const counts = await Promise.all(Array.from({ length: 30 }, (_, i) => instances[i % 3]!("198.51.100.30/sign-in/email", 60)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
