/**
 * Tables authplane keeps beside Better Auth's (revocations, audit, …). Better Auth's migrator
 * knows only its own schema, so `migrate.ts` runs these after it. Each statement must be
 * idempotent (`IF NOT EXISTS`): a second migrate changes nothing.
 */
import { REVOCATION_TABLE_SQL } from "./revocations.js";

export const OWN_TABLES: readonly string[] = [
  ...REVOCATION_TABLE_SQL,
];
