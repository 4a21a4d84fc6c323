/**
 * The auth service as a plain Hono app. It knows nothing of Lambda or node: `lambda.ts` and
 * `server.ts` adapt it, tests call `app.request()` directly.
 */
import { Hono } from "hono";
import type pg from "pg";
import { bodyLimit } from "hono/body-limit";
import { betterAuth } from "better-auth";
import { createAuth, createPool, sessionReadOptions, type Auth } from "./auth.js";
import { deferSessionDeletes, isSessionRead, readOrDefer } from "./session-read-instance.js";
import type { AuthConfig } from "./config.js";
import { spaCors } from "./cors.js";
import { hostGuard, jsonError, passkeyOriginGuard } from "./guards.js";
import { withClientIp } from "./client-ip.js";
import { accountLimit } from "./account-limit.js";
import { dbFaultGuard } from "./db-faults.js";
import { serverErrorLog } from "./error-log.js";
import { authHandler } from "./hot-path.js";
import { inputGuard } from "./input-guard.js";
import { authMetrics } from "./metrics.js";
import { oidcRoutes } from "./oidc-pages.js";
import { effectiveHost } from "./request-origin.js";
import { revocationFeedRoute } from "./revocations.js";
import { leanSessionRead } from "./session-read.js";
import { appLinkPathsFor, wellKnownRoutes } from "./well-known.js";

export interface CreateAppOptions {
  /** Use this Better Auth instance (tests that also call `auth.api`); built from config otherwise. */
  auth?: Auth;
  /** Use this pool (the Lambda adapter opens it while the service loads); created from config otherwise. */
  pool?: pg.Pool;
  /** Answer plain get-session reads without Better Auth's machinery (session-read.ts). @default true */
  leanReads?: boolean;
}

/**
 * With an RP ID: session reads first come from an instance without the OpenID Provider, and the
 * first other request builds the full instance, which then answers everything. Without one
 * (single-app local dev): one instance per
 * request host so each app gets passkeys for its own host. The host set is bounded by the
 * host guard, so this map cannot grow without limit.
 */
function authResolver(
  config: AuthConfig,
  given?: Auth,
  givenPool?: pg.Pool,
): { authFor: (req: Request) => Auth; pool: Auth["options"]["database"]; readsFirst?: { isReads: (auth: Auth) => boolean; full: () => Auth } } {
  if (given) return { authFor: () => given, pool: given.options.database };
  if (config.passkey.rpId) {
    // Session reads first come from an instance without the OpenID Provider (session-read-instance.ts).
    const pool = givenPool ?? createPool(config);
    let full: Auth | undefined;
    let reads: Auth | undefined;
    const fullAuth = () => (full ??= createAuth(config, { pool }));
    const authFor = (req: Request) => full ?? (isSessionRead(req) ? (reads ??= createSessionReadAuth(config, pool)) : fullAuth());
    return { authFor, pool, readsFirst: { isReads: (auth) => auth === reads, full: fullAuth } };
  }
  const pool = givenPool ?? createPool(config);
  const byRpId = new Map<string, Auth>();
  const authFor = (req: Request) => {
    const rpId = (effectiveHost(req, config) ?? "").replace(/:\d+$/, "");
    let auth = byRpId.get(rpId);
    if (!auth) byRpId.set(rpId, (auth = createAuth(config, { pool, rpId })));
    return auth;
  };
  return { authFor, pool };
}

/** The session-read instance (session-read-instance.ts); typed as the full one, whose endpoints are a superset. */
function createSessionReadAuth(config: AuthConfig, pool: pg.Pool): Auth {
  return betterAuth(sessionReadOptions(config, pool, [deferSessionDeletes])) as unknown as Auth;
}

export function createApp(config: AuthConfig, options: CreateAppOptions = {}): Hono {
  const { authFor, pool, readsFirst } = authResolver(config, options.auth, options.pool);
  const app = new Hono();
  // Outermost: every 5xx is logged once, after the database fault guard has had its say.
  app.use("*", serverErrorLog());
  app.use("*", dbFaultGuard());

  app.get("/healthz", (c) => c.json({ ok: true }));
  // Contract 3: polled by every authorizer; outside /api/auth/* so Better Auth never routes it.
  app.get("/revocations", revocationFeedRoute(() => pool));
  app.route(
    "/",
    wellKnownRoutes({
      ...config.appAssociation,
      appLinkPaths: appLinkPathsFor(config.nativeAppCallbacks, config.baseURL),
      relatedOrigins: config.relatedOrigins,
    }),
  );

  app.use("/api/auth/*", authMetrics());
  // OpenID Provider: discovery at the issuer root and the provider's sign-in/consent pages.
  app.route("/", oidcRoutes(config, authFor));

  app.use("/api/auth/*", hostGuard(config));
  // Pattern 2 (SPA on a sibling subdomain calling directly): credentials only for listed origins.
  app.use("/api/auth/*", spaCors({ origins: config.trustedOrigins }));
  app.use(
    "/api/auth/*",
    bodyLimit({ maxSize: config.maxBodyBytes, onError: () => jsonError(413, "body_too_large", `request bodies are limited to ${config.maxBodyBytes} bytes`) }),
  );
  app.use("/api/auth/passkey/*", passkeyOriginGuard(config));
  // NUL, invalid UTF-8, malformed JSON and untyped required fields: a 400 before Better Auth.
  app.use("/api/auth/*", inputGuard());
  // Backoff per account on password, passkey and native-exchange failures (Better Auth's
  // per-client limits stay on); state in Redis when configured, else the service's database.
  app.use("/api/auth/*", accountLimit({ db: () => pool as pg.Pool, redisUrl: config.redisUrl }));
  const handlers = new WeakMap<Auth, (req: Request) => Promise<Response>>();
  const handlerOf = (auth: Auth): ((req: Request) => Promise<Response>) => handlers.get(auth) ?? handlers.set(auth, newHandler(auth)).get(auth)!;
  const newHandler = (auth: Auth) => {
    if (!readsFirst?.isReads(auth)) return authHandler(auth);
    const read = authHandler(auth);
    return (req: Request) => readOrDefer(read, () => handlerOf(readsFirst.full()), req);
  };
  app.on(["GET", "POST"], "/api/auth/*", async (c) => {
    const auth = authFor(c.req.raw);
    // A plain session read is answered before the request is copied for Better Auth.
    const lean = options.leanReads === false ? undefined : await leanSessionRead(auth, auth.options.database as pg.Pool)(c.req.raw);
    return lean ?? handlerOf(auth)(withClientIp(c.req.raw, config));
  });

  app.notFound((c) => c.json({ error: "not_found" }, 404));
  app.onError((err, c) => {
    // Never echo internals (or anything a request carried) to the caller; serverErrorLog logs
    // the stable line (a database outage becomes a 503 in dbFaultGuard).
    return c.json({ error: "internal_error", message: "internal error" }, 500);
  });
  return app;
}
