/**
 * Better Auth's Redis secondary storage when the service loses Redis without Redis losing its
 * data (a network partition, simulated by a TCP relay we cut): reads miss, writes are skipped,
 * nothing throws, nothing waits out the reconnects, and a delete made meanwhile (a sign-out) is
 * done as soon as the client is back, so the cached session cannot come back to life.
 */
import { Redis } from "ioredis";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lazyRedisStorage } from "../../../functions/auth/lazy/redis-storage.js";
import { disconnectRedisClients } from "../../../functions/auth/secondary-storage.js";
import { freePort } from "../../support/postgres.js";
import { startRedis, type RunningRedis } from "../../support/redis.js";

/** A cuttable wire between the service and Redis. */
function relay(port: number, to: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    url: `redis://127.0.0.1:${port}`,
    open: () =>
      new Promise<void>((done) => {
        server = createServer((inbound) => {
          const outbound = createConnection({ host: to.hostname, port: Number(to.port) });
          for (const s of [inbound, outbound]) {
            sockets.add(s);
            s.on("error", () => {});
            s.on("close", () => sockets.delete(s));
          }
          inbound.pipe(outbound).pipe(inbound);
        });
        server.listen(port, "127.0.0.1", done);
      }),
    cut: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server!.close(() => done());
      }),
  };
}

describe.runIf(!process.env.REDIS_URL || process.env.REDIS_URL.startsWith("redis://127.0.0.1"))("Redis secondary storage during a partition", () => {
  let redis: RunningRedis;
  let inspect: Redis;
  let wire: ReturnType<typeof relay>;

  beforeAll(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    wire = relay(await freePort(), new URL(redis.url));
    await wire.open();
  });
  afterAll(async () => {
    inspect?.disconnect();
    await disconnectRedisClients();
    await wire?.cut().catch(() => {});
    await redis?.stop();
  });

  it("degrades while cut off and replays the sign-out's delete once reconnected", async () => {
    const storage = lazyRedisStorage(wire.url);
    const token = `session-${Date.now()}`;
    await storage.set(token, JSON.stringify({ session: { token } }), 600);
    await storage.set("kept", "cached", 600);
    expect(await storage.get(token)).not.toBeNull();

    await wire.cut();
    // Cut off: a miss, a skipped write, no counter, and no throw for the delete.
    expect(await storage.get(token)).toBeNull();
    await expect(storage.set("written-while-cut", "x", 600)).resolves.toBeUndefined();
    expect(await storage.increment!("counter", 60)).toBe(0);
    await expect(storage.delete(token)).resolves.toBeUndefined();
    // Redis itself still holds the signed-out session's copy: that is what must not survive.
    expect(await inspect.get(`authplane:${token}`)).not.toBeNull();

    await wire.open();
    await expect.poll(() => inspect.get(`authplane:${token}`), { timeout: 10_000 }).toBeNull();
    // Only the pending delete was replayed; the rest of the cache is as it was.
    expect(await inspect.get("authplane:kept")).toBe("cached");
    expect(await inspect.get("authplane:written-while-cut")).toBeNull();
    await expect.poll(() => storage.get("kept"), { timeout: 10_000 }).toBe("cached");
  });
});
