/**
 * Better Auth secondary storage backed by Redis, with ioredis loaded on the first storage call.
 * Lambda deployments never set REDIS_URL, so they never pay for the client at cold start;
 * container deployments pay once, on their first request.
 */
import type { SecondaryStorage } from "@better-auth/core/db";

type Storage = Required<SecondaryStorage>;

export function lazyRedisStorage(url: string): SecondaryStorage {
  let storage: Promise<Storage> | undefined;
  const real = () =>
    (storage ??= import("../secondary-storage.js").then((m) => m.redisSecondaryStorage(url).storage as Storage));
  return {
    get: async (key) => (await real()).get(key),
    getAndDelete: async (key) => (await real()).getAndDelete(key),
    increment: async (key, ttl) => (await real()).increment(key, ttl),
    set: async (key, value, ttl) => (await real()).set(key, value, ttl),
    delete: async (key) => (await real()).delete(key),
  };
}
