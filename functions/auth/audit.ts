/**
 * The audit trail: one append-only table (`authplane_audit`, created from own-tables.ts) for
 * operator actions (ops/ CLIs, in the same transaction as their change) and the service's
 * security events (the `auditTrail` plugin below). Rows carry who, about whom, which app,
 * from where and how it ended; never secrets, tokens, codes or passwords.
 *
 * This module stays free of Better Auth so operator tools (and their memory) do not load it;
 * the service's plugin is audit-trail.ts.
 */

export interface AuditEvent {
  /** Dotted verb, e.g. "sign_in", "apps.grant", "migrate.supabase". */
  action: string;
  /** Who did it: an operator ("ops:alice@host") or a user id; absent for anonymous requests. */
  actor?: string | null;
  /** Whom it is about: an email (lower-cased) when known, else a user id. */
  subject?: string | null;
  /** App (organization) slug. */
  app?: string | null;
  ip?: string | null;
  /** "success", "failure" or "blocked". */
  outcome: string;
  detail?: Record<string, unknown> | null;
}

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Keys whose values must never reach the table, whatever a caller passes in `detail`. Counts and
 * flags under such names ("passwords_kept") are harmless and kept; strings and objects are not.
 */
const SECRET_KEY = /token|secret|passw|hash|^code$|_code$|cookie|authorization|credential|private_?key|api_?key|otp|challenge/i;
const harmless = (v: unknown) => typeof v === "number" || typeof v === "boolean" || v === null;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== "object") return typeof value === "string" && value.length > 500 ? `${value.slice(0, 500)}…` : value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => !SECRET_KEY.test(k) || harmless(v)).map(([k, v]) => [k, scrub(v, depth + 1)]));
}

const INSERT = `INSERT INTO authplane_audit (action, actor, subject, app, ip, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`;

function params(e: AuditEvent): unknown[] {
  return [e.action, e.actor ?? null, e.subject?.trim().toLowerCase() ?? null, e.app ?? null, e.ip ?? null, e.outcome, e.detail ? JSON.stringify(scrub(e.detail)) : null];
}

/**
 * Append one event; throws if it cannot be written. For a caller's transaction that must not
 * commit without its audit row (operator commands, migrations).
 */
export async function writeAudit(db: Queryable, event: AuditEvent): Promise<void> {
  await db.query(INSERT, params(event));
}

/**
 * Append one event and never throw (a request must not fail because its audit row did); a
 * failure is logged as a structured line and reported as `false`. Inside a transaction prefer
 * `writeAudit`: a failed insert aborts the transaction either way.
 */
export async function recordAudit(db: Queryable, event: AuditEvent): Promise<boolean> {
  try {
    await writeAudit(db, event);
    return true;
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "audit event not recorded", action: event.action, error: err instanceof Error ? err.message : String(err) }));
    return false;
  }
}
