/**
 * Read (and prune) the audit trail.
 *
 *   npm run audit -- [--email x] [--app y] [--since 2026-01-01|7d] [--limit 100] [--json]
 *   npm run audit -- --prune-older-than 365d      # or AUDIT_RETENTION_DAYS=365 npm run audit -- --prune
 *
 * Newest first. The database is --database-url, DATABASE_URL or the `make dev` one.
 */
import type pg from "pg";
import { writeAudit, type AuditEvent, type Queryable } from "../functions/auth/audit.js";
import { CliError, UsageError, connectDatabase, isMain, parseCli, resolveDatabase, runCli } from "./cli.js";
import { operatorActor } from "./operator.js";

const USAGE = `usage: npm run audit -- [--email <email>] [--app <slug>] [--since <time>] [--limit N] [--json]
       npm run audit -- --prune-older-than <age>   (or --prune with AUDIT_RETENTION_DAYS)

  --email <email>          events about this person
  --app <slug>             events in this app
  --since <time>           an ISO date/time, or an age: 30m, 12h, 7d
  --limit N                at most N events, newest first (default 100)
  --json                   one JSON object per line instead of a table
  --prune-older-than <age> delete events older than this age (e.g. 365d); the deletion is itself audited
  --prune                  prune with AUDIT_RETENTION_DAYS (default 365)
  --database-url <url>     default: DATABASE_URL, else .dev/database-url (make dev)
  -h, --help`;

/** An operator action recorded in the caller's transaction (throws: the change must not commit without it). */
export function recordOperatorAudit(db: Queryable, event: AuditEvent): Promise<void> {
  return writeAudit(db, { actor: operatorActor(), ...event });
}

const AGE = /^(\d+)\s*(m|h|d)$/i;

/** "7d" → milliseconds, or null when it is not an age. */
export function parseAge(s: string): number | null {
  const m = AGE.exec(s.trim());
  if (!m) return null;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!.toLowerCase() as "m" | "h" | "d"];
}

export function parseSince(s: string, now = Date.now()): Date {
  const age = parseAge(s);
  if (age !== null) return new Date(now - age);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--since ${JSON.stringify(s)}: not a date/time (2026-01-31, 2026-01-31T12:00Z) or an age (30m, 12h, 7d)\n\n${USAGE}`);
  return new Date(t);
}

export interface AuditRow {
  at: Date;
  action: string;
  actor: string | null;
  subject: string | null;
  app: string | null;
  ip: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  email?: string;
  app?: string;
  since?: Date;
  limit?: number;
}

export async function queryAudit(db: Queryable, q: AuditQuery): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.email) where.push(`subject = $${params.push(q.email.trim().toLowerCase())}`);
  if (q.app) where.push(`app = $${params.push(q.app)}`);
  if (q.since) where.push(`at >= $${params.push(q.since)}`);
  const sql = `SELECT at, action, actor, subject, app, ip, outcome, detail FROM authplane_audit
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, id DESC LIMIT $${params.push(q.limit ?? 100)}`;
  return ((await db.query(sql, params)) as { rows: AuditRow[] }).rows;
}

/** Delete events older than `olderThanMs`, recording the pruning itself (same transaction). */
export async function pruneAudit(pool: pg.Pool, olderThanMs: number): Promise<number> {
  const db = await pool.connect();
  try {
    await db.query("BEGIN");
    const cutoff = new Date(Date.now() - olderThanMs);
    const deleted = await db.query(`DELETE FROM authplane_audit WHERE at < $1`, [cutoff]);
    await recordOperatorAudit(db, { action: "audit.prune", outcome: "success", detail: { older_than: cutoff.toISOString(), deleted: deleted.rowCount ?? 0 } });
    await db.query("COMMIT");
    return deleted.rowCount ?? 0;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    db.release();
  }
}

function table(rows: AuditRow[]): string {
  if (!rows.length) return "no audit events match";
  return rows
    .map((r) =>
      [r.at.toISOString(), r.action, r.outcome, r.subject ?? "-", r.app ?? "-", r.actor ?? "-", r.ip ?? "-", r.detail ? JSON.stringify(r.detail) : ""].join("\t"),
    )
    .join("\n");
}

export async function runAudit(argv: string[], env: Record<string, string | undefined> = process.env, out = (s: string) => console.log(s)): Promise<void> {
  const { values: v } = parseCli(
    argv,
    {
      email: { type: "string" },
      app: { type: "string" },
      since: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean", default: false },
      "prune-older-than": { type: "string" },
      prune: { type: "boolean", default: false },
      "database-url": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    USAGE,
  );
  if (v.help) return out(USAGE);
  const limit = v.limit === undefined ? 100 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got ${v.limit}\n\n${USAGE}`);
  let pruneMs: number | null = null;
  if (v["prune-older-than"] !== undefined) {
    pruneMs = parseAge(v["prune-older-than"]);
    if (pruneMs === null) throw new UsageError(`--prune-older-than ${JSON.stringify(v["prune-older-than"])}: give an age like 365d\n\n${USAGE}`);
  } else if (v.prune) {
    const days = Number(env.AUDIT_RETENTION_DAYS ?? 365);
    if (!Number.isFinite(days) || days <= 0) throw new CliError(`AUDIT_RETENTION_DAYS must be a positive number of days, got ${env.AUDIT_RETENTION_DAYS}`);
    pruneMs = days * 86_400_000;
  }
  const since = v.since ? parseSince(v.since) : undefined;
  const pool = await connectDatabase(resolveDatabase(v["database-url"], env));
  try {
    if (pruneMs !== null) return out(`pruned ${await pruneAudit(pool, pruneMs)} audit event(s) older than ${new Date(Date.now() - pruneMs).toISOString()}`);
    const rows = await queryAudit(pool, { email: v.email, app: v.app, since, limit });
    out(v.json ? rows.map((r) => JSON.stringify(r)).join("\n") : table(rows));
  } finally {
    await pool.end();
  }
}

if (isMain(import.meta)) runCli("audit", () => runAudit(process.argv.slice(2)));
