/**
 * Per-account backoff on sign-in attempts, beside Better Auth's per-client limits (which stay
 * on). A per-client limit alone lets an attacker with many addresses try one account's
 * password without end; this counts failures per account, where every instance shares them
 * (Redis when REDIS_URL is set, as Better Auth's own counters are; PostgreSQL otherwise), and
 * after `FREE_FAILURES` answers 429 with Retry-After, doubling the wait with each further
 * failure up to `MAX_BLOCK_SECONDS`. A success clears the count.
 *
 * What a stranger must not be able to do is lock the owner out. So:
 * - password attempts are counted per email and blocked while in backoff: that slows password
 *   guessing, and slows only password sign-in (passkeys and Google are other doors);
 * - passkey and native-exchange attempts are counted per credential / per user, but never
 *   blocked ahead of verification: their proofs (a WebAuthn signature, a PKCE verifier for a
 *   single-use code) cannot be guessed, so a valid one always succeeds, and only a failure
 *   during backoff is answered with 429 + Retry-After.
 *
 * A Redis outage falls back to PostgreSQL, attempt by attempt, rather than failing open (free
 * guessing for as long as Redis is down) or closed (everyone's password sign-in refused for an
 * outage no attacker caused). Counts made during the outage stay in PostgreSQL and are
 * forgotten by the same rule; the state is back in Redis with its next answer.
 */
import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { Redis } from "ioredis";
import type pg from "pg";
import { parsedJsonBody } from "./input-guard.js";
import { redisFaultName } from "./lazy/redis-storage.js";

/** Failures allowed before any wait. */
export const FREE_FAILURES = 5;
/** The first wait; each further failure doubles it. */
export const BASE_BLOCK_SECONDS = 5;
export const MAX_BLOCK_SECONDS = 15 * 60;
/** Failures older than this are forgotten. */
const FORGET_AFTER_SECONDS = 3600;

type Queryable = Pick<pg.Pool, "query">;

interface Rule {
  kind: "password" | "passkey" | "native";
  /** Blocked before verification while in backoff (only where a valid attempt can be guessed). */
  blocking: boolean;
  /** Statuses that mean "a wrong secret was tried" (and, when given, only with these error codes). */
  failure: ReadonlySet<number>;
  codes?: ReadonlySet<string>;
  account(body: Record<string, unknown>, db: Queryable): Promise<string | null> | string | null;
}

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 && v.length <= 1024 ? v : null);
const sha256 = (v: string, encoding: "hex" | "base64url" = "hex") => createHash("sha256").update(v).digest(encoding);

const RULES: Record<string, Rule> = {
  "/api/auth/sign-in/email": {
    kind: "password",
    blocking: true,
    failure: new Set([401]),
    account: (body) => str(body.email)?.trim().toLowerCase() ?? null,
  },
  "/api/auth/passkey/verify-authentication": {
    kind: "passkey",
    blocking: false,
    failure: new Set([400, 401]),
    // A signature that does not verify; a missing or reused challenge is not a guess.
    codes: new Set(["AUTHENTICATION_FAILED"]),
    account: (body) => str((body.response as { id?: unknown } | undefined)?.id),
  },
  "/api/auth/native/exchange": {
    kind: "native",
    blocking: false,
    failure: new Set([400, 401]),
    // A wrong PKCE verifier; replays, races, expiry and a wrong callback are app mistakes.
    codes: new Set(["INVALID_CODE_VERIFIER"]),
    // The code's owner: the one-time code is stored only as its SHA-256 (native/routes.ts).
    account: async (body, db) => {
      const code = str(body.code);
      if (!code) return null;
      const { rows } = await db.query<{ userId: string }>(`SELECT "userId" FROM "nativeAuthCode" WHERE "codeHash" = $1`, [sha256(code, "base64url")]);
      return rows[0]?.userId ?? null;
    },
  },
};

/** Where failures are counted; every operation is one atomic step, so instances agree. */
export interface BackoffStore {
  /** The current wait for `key`, in whole seconds (0: not blocked). */
  blockedFor(key: string): Promise<number>;
  /** Count one failure and return the wait it set (0 while failures are free). */
  recordFailure(key: string): Promise<number>;
  clear(key: string): Promise<void>;
}

/** The current wait for `key`, in whole seconds (0: not blocked). */
async function blockedFor(db: Queryable, key: string): Promise<number> {
  const { rows } = await db.query<{ wait: number | null }>(
    `SELECT ceil(extract(epoch FROM blocked_until - now()))::int AS wait FROM authplane_attempt_backoff WHERE key = $1 AND blocked_until > now()`,
    [key],
  );
  return rows[0]?.wait ?? 0;
}

// The failure count after this one: restarts at 1 once the last failure is old enough.
const NEXT_FAILURES = `CASE WHEN b.last_failure_at < now() - make_interval(secs => $5::float8) THEN 1 ELSE b.failures + 1 END`;

/** Count one failure atomically (one statement: concurrent instances agree) and return the wait it set. */
async function recordFailure(db: Queryable, key: string): Promise<number> {
  const { rows } = await db.query<{ wait: number }>(
    `INSERT INTO authplane_attempt_backoff AS b (key, failures, last_failure_at) VALUES ($1, 1, now())
     ON CONFLICT (key) DO UPDATE SET
       failures = ${NEXT_FAILURES},
       blocked_until = CASE WHEN ${NEXT_FAILURES} > $2::int
         THEN now() + make_interval(secs => least($4::float8, $3::float8 * power(2, ${NEXT_FAILURES} - $2::int - 1)))
         ELSE NULL END,
       last_failure_at = now()
     RETURNING coalesce(ceil(extract(epoch FROM b.blocked_until - now())), 0)::int AS wait`,
    [key, FREE_FAILURES, BASE_BLOCK_SECONDS, MAX_BLOCK_SECONDS, FORGET_AFTER_SECONDS],
  );
  return rows[0]?.wait ?? 0;
}

export function postgresBackoff(db: Queryable): BackoffStore {
  return {
    blockedFor: (key) => blockedFor(db, key),
    recordFailure: (key) => recordFailure(db, key),
    clear: async (key) => void (await db.query(`DELETE FROM authplane_attempt_backoff WHERE key = $1`, [key])),
  };
}

/** Redis keys of the backoff: a hash of failures (`f`) and blocked-until in ms (`u`), per account key. */
export const REDIS_BACKOFF_PREFIX = "authplane:backoff:";

// Redis's clock, not each instance's, like now() in PostgreSQL: instances with skewed clocks agree.
const REDIS_NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** One failure: count it, set the wait, and forget the key FORGET_AFTER_SECONDS after the last failure. */
const RECORD_FAILURE = `${REDIS_NOW}
local n = redis.call('HINCRBY', KEYS[1], 'f', 1)
local wait = 0
if n > tonumber(ARGV[1]) then
  wait = math.floor(math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (n - tonumber(ARGV[1]) - 1)) * 1000)
  redis.call('HSET', KEYS[1], 'u', now + wait)
else
  redis.call('HDEL', KEYS[1], 'u')
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 1000)
return math.ceil(wait / 1000)`;

const BLOCKED_FOR = `${REDIS_NOW}
local u = tonumber(redis.call('HGET', KEYS[1], 'u'))
if not u or u <= now then return 0 end
return math.ceil((u - now) / 1000)`;

export function redisBackoff(client: Pick<Redis, "eval" | "del">): BackoffStore {
  const k = (key: string) => `${REDIS_BACKOFF_PREFIX}${key}`;
  return {
    blockedFor: async (key) => Number(await client.eval(BLOCKED_FOR, 1, k(key))),
    recordFailure: async (key) => Number(await client.eval(RECORD_FAILURE, 1, k(key), FREE_FAILURES, BASE_BLOCK_SECONDS, MAX_BLOCK_SECONDS, FORGET_AFTER_SECONDS)),
    clear: async (key) => void (await client.del(k(key))),
  };
}

let fallbackLogged = 0;

/** `primary`, and `fallback` for any operation the primary fails (logged at most every 10 s per process). */
function withFallback(primary: () => Promise<BackoffStore>, fallback: BackoffStore): BackoffStore {
  const run = async <T>(op: (s: BackoffStore) => Promise<T>): Promise<T> => {
    try {
      return await op(await primary());
    } catch (err) {
      if (Date.now() - fallbackLogged > 10_000) {
        fallbackLogged = Date.now();
        console.error(JSON.stringify({ level: "warn", msg: "account_limit.redis_unavailable", fallback: "postgresql", error: redisFaultName(err) }));
      }
      return op(fallback);
    }
  };
  return {
    blockedFor: (key) => run((s) => s.blockedFor(key)),
    recordFailure: (key) => run((s) => s.recordFailure(key)),
    clear: (key) => run((s) => s.clear(key)),
  };
}

async function errorCode(res: Response): Promise<string> {
  try {
    const body = (await res.clone().json()) as { code?: unknown } | null;
    return typeof body?.code === "string" ? body.code : "";
  } catch {
    return "";
  }
}

function tooMany(kind: Rule["kind"], wait: number): Response {
  return new Response(
    JSON.stringify({ error: "account_rate_limited", message: `too many failed ${kind} attempts for this account; retry in ${wait} s` }),
    { status: 429, headers: { "content-type": "application/json", "retry-after": String(wait) } },
  );
}

export interface AccountLimitOptions {
  /** The database the service uses (its Better Auth pool). */
  db: (c: Context) => Promise<Queryable> | Queryable;
  /**
   * Count in this Redis (the service's REDIS_URL), PostgreSQL when it fails. Its client is
   * loaded on first use, so deployments without Redis (Lambda) never load ioredis.
   * @default undefined (PostgreSQL only)
   */
  redisUrl?: string;
}

export function accountLimit({ db: dbFor, redisUrl }: AccountLimitOptions): MiddlewareHandler {
  let redis: Promise<BackoffStore> | undefined;
  const redisStore = () => (redis ??= import("./secondary-storage.js").then((m) => redisBackoff(m.redisClient(redisUrl!))));
  return async (c, next) => {
    const rule = c.req.method === "POST" ? RULES[c.req.path] : undefined;
    const body = rule ? parsedJsonBody(c.req.raw) : undefined;
    if (!rule || !body || typeof body !== "object" || Array.isArray(body)) return next();
    const db = await dbFor(c);
    const account = await rule.account(body as Record<string, unknown>, db);
    if (!account) return next();
    const key = sha256(`${rule.kind}:${account}`);
    const store = redisUrl ? withFallback(redisStore, postgresBackoff(db)) : postgresBackoff(db);
    if (rule.blocking) {
      const wait = await store.blockedFor(key);
      if (wait > 0) return tooMany(rule.kind, wait);
    }
    await next();
    const status = c.res.status;
    if (status >= 200 && status < 400) {
      await store.clear(key);
    } else if (rule.failure.has(status) && (!rule.codes || rule.codes.has(await errorCode(c.res)))) {
      const wait = await store.recordFailure(key);
      if (!rule.blocking && wait > 0) {
        c.res = undefined as unknown as Response;
        c.res = tooMany(rule.kind, wait);
      }
    }
  };
}
