/**
 * The service's PostgreSQL pool. Apart from auth.ts (which re-exports it) so that the Lambda
 * adapter can open the pool, and its first connection, while Better Auth is still loading.
 */
import pg from "pg";
import type { AuthConfig } from "./config.js";
import { instrumentPool } from "./db-faults.js";
import { iamAuthPassword } from "./db-iam.js";

export function createPool(config: AuthConfig): pg.Pool {
  const db = config.database;
  const common = {
    // A Lambda instance serves one request at a time: a couple of connections is plenty, and
    // Aurora's connection budget is shared by every instance.
    max: config.databasePoolMax,
    idleTimeoutMillis: 30_000,
    // Aurora paused at 0 ACU takes ~15 s to resume on the first connection; wait for it.
    connectionTimeoutMillis: 25_000,
  };
  const pool =
    "connectionString" in db
      ? new pg.Pool({ connectionString: db.connectionString, ...common })
      : new pg.Pool({
          host: db.host,
          port: db.port,
          database: db.database,
          user: db.user,
          password: "iamAuth" in db ? iamAuthPassword({ host: db.host, port: db.port, user: db.user }) : db.password,
          // Verified TLS: the AuthService construct points NODE_EXTRA_CA_CERTS at the Amazon RDS
          // CAs Lambda's Node.js runtime ships (/var/runtime/ca-cert.pem).
          ssl: db.ssl ? { rejectUnauthorized: true } : false,
          ...common,
        });
  // A connection dropped by the server (Aurora pausing at 0 ACU, a failover, a restart), idle
  // or checked out, must not crash the process; requests it fails answer 503 (db-faults.ts).
  return instrumentPool(pool);
}

/**
 * Open one connection now and return it to the pool idle, so the first request finds it ready:
 * the TCP, TLS and authentication round trips (and Aurora's resume from 0 ACU) overlap the
 * cold start's module loading instead of following it. A failure is left to that request,
 * which connects again and answers 503 if the database is still unreachable.
 */
export function warmPool(pool: pg.Pool): void {
  pool.connect().then(
    (client) => client.release(),
    () => undefined,
  );
}
