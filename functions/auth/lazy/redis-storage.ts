/**
 * Better Auth secondary storage backed by Redis, with ioredis loaded on the first storage call.
 * Lambda deployments never set REDIS_URL, so they never pay for the client at cold start;
 * container deployments pay once, on their first request.
 *
 * Redis is a cache here (sessions are stored in PostgreSQL too), so an outage degrades instead of
 * failing requests: a read that fails is a miss (Better Auth then reads the session from
 * PostgreSQL), a write that fails is skipped (the next read misses the same way), a counter that
 * fails counts in `incrementFallback` (PostgreSQL, rate-limit-fallback.ts: Better Auth's
 * per-client limits hold through the outage; the per-account backoff moves to PostgreSQL too,
 * account-limit.ts), or counts nothing without one. A delete that fails is kept and done again as
 * soon as the client reconnects, so a signed-out session's cached copy cannot outlive the outage
 * (Better Auth deletes the PostgreSQL row either way; it only goes on if the storage does not throw).
 */
import type { SecondaryStorage } from "@better-auth/core/db";

type Storage = Required<SecondaryStorage>;

/** Deletes remembered during an outage; past this, the oldest are dropped (their TTL still ends them). */
const MAX_PENDING_DELETES = 10_000;

/** What to log of a Redis failure: its code or class, never its message (it can carry addresses). */
export function redisFaultName(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  if (err instanceof Error) return err.message.startsWith("Stream isn't writeable") ? "offline" : err.name;
  return "unknown";
}

let lastLogged = 0;
function logOutage(op: string, err: unknown): void {
  // One line per 10 s per process is enough to see an outage (ioredis logs its own reconnects).
  if (Date.now() - lastLogged < 10_000) return;
  lastLogged = Date.now();
  console.error(JSON.stringify({ level: "warn", msg: "secondary_storage.redis_unavailable", op, error: redisFaultName(err) }));
}

export interface LazyRedisStorageOptions {
  /** Where a counter counts while Redis fails (Better Auth's rate limiter uses `increment`). */
  incrementFallback?: (key: string, ttlSeconds: number) => Promise<number>;
}

export function lazyRedisStorage(url: string, { incrementFallback }: LazyRedisStorageOptions = {}): SecondaryStorage {
  let storage: Promise<Storage> | undefined;
  const pendingDeletes = new Set<string>();
  const flush = async (s: Storage) => {
    for (const key of [...pendingDeletes]) {
      try {
        await s.delete(key);
        pendingDeletes.delete(key);
      } catch {
        return; // down again: the next reconnect tries the rest
      }
    }
  };
  const real = () =>
    (storage ??= import("../secondary-storage.js").then((m) => {
      const { storage: s, client } = m.redisSecondaryStorage(url);
      client.on("ready", () => void flush(s as Storage));
      return s as Storage;
    }));
  const degrade = async <T>(op: string, run: (s: Storage) => unknown, instead: T): Promise<T> => {
    try {
      return (await run(await real())) as T;
    } catch (err) {
      logOutage(op, err);
      return instead;
    }
  };
  return {
    get: (key) => degrade<unknown>("get", (s) => s.get(key), null),
    // Single-use values (challenges, states) unreadable: treated as absent, never as valid.
    getAndDelete: (key) => degrade<unknown>("getAndDelete", (s) => s.getAndDelete(key), null),
    increment: async (key, ttl) => {
      try {
        return await (await real()).increment(key, ttl);
      } catch (err) {
        logOutage("increment", err);
        // Not degraded to 0 (every attempt allowed): the counter moves, and a failure there throws.
        return incrementFallback ? incrementFallback(key, ttl ?? 60) : 0;
      }
    },
    set: (key, value, ttl) => degrade("set", (s) => s.set(key, value, ttl), undefined),
    delete: (key) =>
      degrade(
        "delete",
        async (s) => {
          try {
            await s.delete(key);
          } catch (err) {
            if (pendingDeletes.size >= MAX_PENDING_DELETES) pendingDeletes.delete(pendingDeletes.values().next().value!);
            pendingDeletes.add(key);
            throw err;
          }
        },
        undefined,
      ),
  };
}
