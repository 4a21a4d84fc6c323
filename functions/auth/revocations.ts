/**
 * The revocation feed (contract 3 in the platform brief): who and which sessions were revoked
 * recently, so every authorizer can refuse tokens minted before that moment without a call per
 * request. A token is revoked when `subjects[sub] >= iat` or `sessions[sid] >= iat`.
 *
 * Writers: `apps offboard` (subject, in its own transaction), and Better Auth deleting a
 * session (sign-out, revoke-session(s), expiry clean-up) through the `sessionRevocations`
 * plugin's database hook. Reader: `GET /revocations`, served by app.ts outside Better Auth's
 * router, polled by the authorizers with If-None-Match.
 */
import type { BetterAuthPlugin } from "@better-auth/core";
import { createHash } from "node:crypto";
import type { Context } from "hono";
import { JWT_TTL_SECONDS } from "../claims.js";
import { DB_RETRY_AFTER_SECONDS } from "./db-faults.js";

export type RevocationKind = "subject" | "session";

/** Anything that runs SQL: a pool, or a client inside a caller's transaction. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** For own-tables.ts (created by `migrate` after Better Auth's tables). */
export const REVOCATION_TABLE_SQL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS authplane_revocation (
    kind text NOT NULL CHECK (kind IN ('subject', 'session')),
    id text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
  )`,
  `CREATE INDEX IF NOT EXISTS authplane_revocation_revoked_at ON authplane_revocation (revoked_at)`,
];

/**
 * Entries older than this are left out: every token issued before them has expired. The 5
 * minutes cover clock skew between the service and the authorizers.
 */
export const REVOCATION_WINDOW_SECONDS = JWT_TTL_SECONDS + 5 * 60;

/** Rows are kept a day (for whoever investigates an incident), then pruned on a later write. */
const RETENTION = "1 day";

/** Record that `ids` were revoked now; a repeat keeps the latest time. */
export async function recordRevocation(db: Queryable, kind: RevocationKind, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `INSERT INTO authplane_revocation (kind, id, revoked_at) SELECT $1, unnest($2::text[]), now()
     ON CONFLICT (kind, id) DO UPDATE SET revoked_at = GREATEST(authplane_revocation.revoked_at, EXCLUDED.revoked_at)`,
    [kind, [...new Set(ids)]],
  );
  await db.query(`DELETE FROM authplane_revocation WHERE revoked_at < now() - interval '${RETENTION}'`);
}

export interface RevocationFeed {
  version: 1;
  generated_at: number;
  subjects: Record<string, number>;
  sessions: Record<string, number>;
}

/** The current feed and its ETag. The ETag names the entry set (generated_at is informational). */
export async function readRevocationFeed(db: Queryable, now = new Date()): Promise<{ feed: RevocationFeed; etag: string }> {
  // Seconds, rounded down: with iat also whole seconds, a token minted in the second of the
  // revocation counts as revoked (the safe side).
  const { rows } = await db.query<{ kind: RevocationKind; id: string; at: string }>(
    `SELECT kind, id, floor(extract(epoch FROM revoked_at))::bigint AS at FROM authplane_revocation
      WHERE revoked_at > $1::timestamptz - make_interval(secs => $2) ORDER BY kind, id`,
    [now.toISOString(), REVOCATION_WINDOW_SECONDS],
  );
  const subjects: Record<string, number> = {};
  const sessions: Record<string, number> = {};
  for (const row of rows) (row.kind === "subject" ? subjects : sessions)[row.id] = Number(row.at);
  const etag = `"${createHash("sha256").update(JSON.stringify([subjects, sessions])).digest("base64url").slice(0, 32)}"`;
  return { feed: { version: 1, generated_at: Math.floor(now.getTime() / 1000), subjects, sessions }, etag };
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; `*` matches any current feed. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === etag;
  });
}

/** GET /revocations: 200 with the feed, 304 when the caller's copy is current, 503 without a database. */
export function revocationFeedRoute(db: () => Queryable) {
  return async (c: Context): Promise<Response> => {
    let current: Awaited<ReturnType<typeof readRevocationFeed>>;
    try {
      current = await readRevocationFeed(db());
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "revocation feed unavailable", error: (err as Error).message }));
      return c.json({ error: "database_unavailable", message: "the revocation feed cannot be read right now; retry shortly" }, 503, { "retry-after": String(DB_RETRY_AFTER_SECONDS) });
    }
    // Caches may keep a copy but must ask again each time: a stale feed is the one thing to avoid.
    const headers = { etag: current.etag, "cache-control": "no-cache" };
    if (matches(c.req.header("if-none-match"), current.etag)) return c.body(null, 304, headers);
    return c.json(current.feed, 200, headers);
  };
}

/**
 * Better Auth plugin: every session Better Auth deletes is recorded as revoked before the row
 * goes, so a failed write fails the sign-out (and can be retried) instead of losing the entry.
 */
export const sessionRevocations = (db: Queryable) =>
  ({
    id: "authplane-session-revocations",
    init() {
      return {
        options: {
          databaseHooks: {
            session: {
              delete: {
                async before(session: { id: string }) {
                  await recordRevocation(db, "session", [session.id]);
                },
              },
            },
          },
        },
      };
    },
  }) satisfies BetterAuthPlugin;
