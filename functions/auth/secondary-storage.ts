/**
 * Redis as Better Auth's secondary storage (sessions, rate-limit counters, verification
 * values) so several servers share them. The storage itself is @better-auth/redis-storage;
 * this module only owns the ioredis client: its failure behaviour and its shutdown.
 */
import { redisStorage } from "@better-auth/redis-storage";
import { Redis } from "ioredis";

export interface RedisSecondaryStorage {
  /** Pass as Better Auth's `secondaryStorage`. */
  storage: ReturnType<typeof redisStorage>;
  client: Redis;
}

const clients = new Set<Redis>();

/**
 * One ioredis client per auth instance. Before the first connection a request waits for at most
 * one reconnect attempt; after it, a command while Redis is away fails at once. Either way an
 * outage turns into errors (which lazy/redis-storage.ts degrades), not hung requests.
 */
export function redisSecondaryStorage(url: string, keyPrefix = "authplane:"): RedisSecondaryStorage {
  const client = redisClient(url);
  return { storage: redisStorage({ client, keyPrefix }), client };
}

/** A client with the failure behaviour above, closed by `disconnectRedisClients` (also the account backoff's). */
export function redisClient(url: string): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Redis going away is expected (restarts, failovers); ioredis reconnects on its own.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  let lastLogged = 0;
  client.on("error", (err: Error) => {
    // ioredis emits on every failed reconnect; one line per 10 s is enough to see an outage.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      console.error(`[authplane] redis: ${err.message}`);
    }
  });
  // Queue commands only until the first connection: once Redis has been up, a command while it
  // is away fails at once (callers degrade or fall back) instead of waiting out each reconnect.
  client.once("ready", () => {
    client.options.enableOfflineQueue = false;
  });
  clients.add(client);
  client.once("end", () => clients.delete(client));
  return client;
}

/** Close every client this process opened (tests, dev server shutdown). */
export async function disconnectRedisClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.quit().catch(() => c.disconnect())));
  clients.clear();
}
