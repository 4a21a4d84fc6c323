/**
 * Better Auth's per-client rate-limit counters in PostgreSQL while Redis is unreachable. With
 * REDIS_URL the limiter counts with the secondary storage's `increment` (a counter that expires
 * `ttl` seconds after its first hit); when Redis fails, a count of 0 would let every attempt
 * through (sign-in guessing unlimited for the outage), so the same counter is kept here until
 * Redis answers again. Fail closed: if PostgreSQL fails too, the error reaches the database fault
 * guard (a 503), never a free pass.
 */
import type { Queryable } from "./audit.js";

export const RATE_FALLBACK_TABLE = "authplane_rate_fallback";

export const RATE_FALLBACK_TABLE_SQL = [
  // `key` is Better Auth's rate-limit key (client address + path), as Redis would hold it.
  `CREATE TABLE IF NOT EXISTS ${RATE_FALLBACK_TABLE} (
    key text PRIMARY KEY,
    count integer NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS ${RATE_FALLBACK_TABLE}_expires_idx ON ${RATE_FALLBACK_TABLE} (expires_at)`,
];

/** INCR + EXPIRE-on-first-hit, in one statement (concurrent instances cannot lose a count). */
const INCREMENT_SQL = `INSERT INTO ${RATE_FALLBACK_TABLE} AS c (key, count, expires_at)
  VALUES ($1, 1, now() + make_interval(secs => $2))
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
    expires_at = CASE WHEN c.expires_at <= now() THEN EXCLUDED.expires_at ELSE c.expires_at END
  RETURNING count`;

/** Expired counters go now and then, not on every hit: an outage is short, the table small. */
const PRUNE_EVERY = 100;

export function postgresCounter(db: Queryable): (key: string, ttlSeconds: number) => Promise<number> {
  let calls = 0;
  return async (key, ttlSeconds) => {
    const { rows } = (await db.query(INCREMENT_SQL, [key, ttlSeconds])) as { rows: { count: number }[] };
    if (++calls % PRUNE_EVERY === 0) {
      db.query(`DELETE FROM ${RATE_FALLBACK_TABLE} WHERE expires_at < now()`, []).catch(() => undefined);
    }
    return rows[0]!.count;
  };
}
