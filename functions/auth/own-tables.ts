/**
 * Tables authplane keeps beside Better Auth's (revocations, audit, …). Better Auth's migrator
 * knows only its own schema, so `migrate.ts` runs these after it. Each statement must be
 * idempotent (`IF NOT EXISTS`): a second migrate changes nothing.
 */
import { REVOCATION_TABLE_SQL } from "./revocations.js";

export const OWN_TABLES: readonly string[] = [
  ...REVOCATION_TABLE_SQL,
  // Per-account backoff after failed sign-in attempts (account-limit.ts), shared by every
  // instance. `key` is a SHA-256 of kind + account, so no address or email is kept in clear.
  `CREATE TABLE IF NOT EXISTS authplane_attempt_backoff (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    blocked_until timestamptz,
    last_failure_at timestamptz NOT NULL
  )`,
];
