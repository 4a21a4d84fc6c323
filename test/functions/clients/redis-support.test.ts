import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisSecondaryStorage, disconnectRedisClients } from "../../../functions/auth/secondary-storage.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";

describe("Redis secondary storage", () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await disconnectRedisClients();
    await redis?.stop();
  });

  it("stores, counts and expires through one client and is seen by another", async () => {
    const a = redisSecondaryStorage(redis.url, "t1:");
    const b = redisSecondaryStorage(redis.url, "t1:");
    await a.storage.set("k", "v", 60);
    expect(await b.storage.get("k")).toBe("v");
    expect(await a.storage.increment!("n", 60)).toBe(1);
    expect(await b.storage.increment!("n", 60)).toBe(2);
    expect(await a.client.ttl("t1:n")).toBeGreaterThan(0);
  });

  it.runIf(!process.env.REDIS_URL)("reconnects after the server restarts empty", async () => {
    const a = redisSecondaryStorage(redis.url, "t2:");
    await a.storage.set("k", "v", 60);
    await redis.restart();
    await expect.poll(() => a.storage.get("k").catch(() => "error"), { timeout: 10_000 }).toBeNull();
    await a.storage.set("k", "again", 60);
    expect(await a.storage.get("k")).toBe("again");
  });
});
