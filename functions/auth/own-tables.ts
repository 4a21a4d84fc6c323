/**
 * Tables authplane keeps beside Better Auth's (revocations, audit, …). Better Auth's migrator
 * knows only its own schema, so `migrate.ts` runs these after it. Each statement must be
 * idempotent (`IF NOT EXISTS`): a second migrate changes nothing.
 */
import { RATE_FALLBACK_TABLE_SQL } from "./rate-limit-fallback.js";
import { REVOCATION_TABLE_SQL } from "./revocations.js";

export const OWN_TABLES: readonly string[] = [
  ...REVOCATION_TABLE_SQL,
  // Better Auth's per-client rate-limit counters while Redis is unreachable (rate-limit-fallback.ts).
  ...RATE_FALLBACK_TABLE_SQL,
  // Per-account backoff after failed sign-in attempts (account-limit.ts), shared by every
  // instance. `key` is a SHA-256 of kind + account, so no address or email is kept in clear.
  `CREATE TABLE IF NOT EXISTS authplane_attempt_backoff (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    blocked_until timestamptz,
    last_failure_at timestamptz NOT NULL
  )`,
  // Audit trail (functions/auth/audit.ts): append-only, never secrets or tokens.
  `CREATE TABLE IF NOT EXISTS authplane_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    actor text,
    subject text,
    app text,
    ip text,
    outcome text NOT NULL,
    detail jsonb
  )`,
  // The queries `npm run audit` runs (by person, by app, by time) and retention pruning by time.
  `CREATE INDEX IF NOT EXISTS authplane_audit_at_idx ON authplane_audit (at)`,
  `CREATE INDEX IF NOT EXISTS authplane_audit_subject_idx ON authplane_audit (subject, at)`,
  `CREATE INDEX IF NOT EXISTS authplane_audit_app_idx ON authplane_audit (app, at)`,
];
