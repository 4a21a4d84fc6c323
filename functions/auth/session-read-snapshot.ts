/**
 * The lean read path's build-time plan (session-read.ts `PlanSnapshot`): Better Auth's own
 * context for a schema-only config (migrate.ts `schemaConfig`: the same plugins, hence the same
 * session/user columns, output fields and hooks as any deployed config), reduced to plain data.
 * functions/build.ts embeds it in the auth bundle; nothing here runs in the Lambda.
 */
import { createAuth, createPool } from "./auth.js";
import { schemaConfig } from "./migrate.js";
import { snapshotOf, type PlanSnapshot } from "./session-read.js";

export async function sessionPlanSnapshot(): Promise<PlanSnapshot> {
  // Never connected: building Better Auth's context reads no rows (validateSchema is off).
  const schemaOnly = schemaConfig({ connectionString: "postgres://schema-only@127.0.0.1:1/schema-only" });
  // The provider's init parses the issuer as a URL (the schema-only one is a placeholder name).
  const config = { ...schemaOnly, jwt: { ...schemaOnly.jwt, issuer: schemaOnly.baseURL } };
  const pool = createPool(config);
  try {
    return snapshotOf((await createAuth(config, { pool }).$context) as Parameters<typeof snapshotOf>[0]);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
