/**
 * With several servers (REDIS_URL), Better Auth reads sessions from Redis first, so ending a
 * session means deleting it there too: the session keys are the tokens, plus one
 * `active-sessions-<userId>` list per user (see better-auth's internal adapter).
 */
import { Redis } from "ioredis";

export async function forgetSessionsInRedis(url: string, userId: string, tokens: string[], prefix = "authplane:"): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const listKey = `${prefix}active-sessions-${userId}`;
    const listed = JSON.parse((await redis.get(listKey)) ?? "[]") as { token: string }[];
    const keys = [...new Set([...tokens, ...listed.map((s) => s.token)])].map((t) => `${prefix}${t}`);
    return await redis.del(listKey, ...keys);
  } finally {
    redis.disconnect();
  }
}
