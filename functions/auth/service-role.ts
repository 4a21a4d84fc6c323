/**
 * The service's own database role, created by the migrate function (which runs as the master
 * user): it may log in with an IAM token (`rds_iam`, on Aurora) and use rows in the tables
 * migrate manages as far as the service needs, and nothing else: no DDL, no TRUNCATE, no other
 * database. Re-run after every migration, so tables a new Better Auth version adds are granted
 * too, and a privilege an older version granted is taken back.
 */

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Tables the service uses less than read-write-delete, with the privileges it keeps. Every other
 * table gets SELECT, INSERT, UPDATE, DELETE: Better Auth's own (it reads, updates and deletes
 * users, sessions, verifications …), `authplane_revocation` (upsert with GREATEST over the stored
 * time, prune, feed reads) and `authplane_attempt_backoff` (upsert, read the wait, delete on a
 * success).
 */
export const NARROWER_GRANTS: Readonly<Record<string, readonly string[]>> = {
  // Append-only (functions/auth/audit.ts only inserts, without RETURNING): a compromised service
  // cannot rewrite or erase the trail. Reads (`npm run audit`) and retention deletes run as the
  // operator/migrator.
  authplane_audit: ["INSERT"],
};

/** The statements, in order; each is idempotent. */
export function serviceRoleStatements(role: string): string[] {
  if (!ROLE.test(role)) throw new Error(`service role ${JSON.stringify(role)}: expected a lower-case PostgreSQL role name`);
  return [
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE "${role}" LOGIN; END IF;
  -- Aurora/RDS only: this role then signs in with IAM tokens and has no password at all.
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN GRANT rds_iam TO "${role}"; END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), '${role}');
END $$`,
    `GRANT USAGE ON SCHEMA public TO "${role}"`,
    `REVOKE CREATE ON SCHEMA public FROM "${role}"`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`,
    // REVOKE ALL first: the line above (and any earlier migrate) granted more.
    ...Object.entries(NARROWER_GRANTS).flatMap(([table, privileges]) => [
      `REVOKE ALL ON TABLE "${table}" FROM "${role}"`,
      `GRANT ${privileges.join(", ")} ON TABLE "${table}" TO "${role}"`,
    ]),
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "${role}"`,
  ];
}

/** Create (if missing) and grant the service role. */
export async function grantServiceRole(db: { query(sql: string): Promise<unknown> }, role: string): Promise<void> {
  for (const statement of serviceRoleStatements(role)) await db.query(statement);
}
