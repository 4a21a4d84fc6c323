/**
 * The auth service as a plain Hono app. It knows nothing of Lambda or node: `lambda.ts` and
 * `server.ts` adapt it, tests call `app.request()` directly.
 */
import { Hono } from "hono";
import type pg from "pg";
import { bodyLimit } from "hono/body-limit";
// Type-only: Better Auth and everything built on it load on first need (auth-routes.ts).
import type { Auth } from "./auth.js";
import type { AuthRoutes } from "./auth-routes.js";
import type { AuthConfig } from "./config.js";
import { spaCors } from "./cors.js";
import { hostGuard, jsonError, passkeyOriginGuard } from "./guards.js";
import { accountLimit } from "./account-limit.js";
import { dbFaultGuard } from "./db-faults.js";
import { createPool } from "./db-pool.js";
import { serverErrorLog } from "./error-log.js";
import { inputGuard } from "./input-guard.js";
import { authMetrics } from "./metrics.js";
import { oidcRoutes } from "./oidc-pages.js";
import { revocationFeedRoute } from "./revocations.js";
import { EMBEDDED_SNAPSHOT, planFromSnapshot, siblingPath, snapshotSessionRead, type PlanSnapshot } from "./session-read.js";
import { JWT_ALG } from "../claims.js";
import { KEY_GRACE_SECONDS, SigningKeyCache } from "./signing-key-cache.js";
import { leanToken, snapshotTokenPlan, type LeanToken } from "./token-lean.js";
import { leanJwks, type LeanJwks } from "./jwks-lean.js";
import { appLinkPathsFor, wellKnownRoutes } from "./well-known.js";

export interface CreateAppOptions {
  /** Use this Better Auth instance (tests that also call `auth.api`); built from config otherwise. */
  auth?: Auth;
  /** Use this pool (the Lambda adapter opens it while the service loads); created from config otherwise. */
  pool?: pg.Pool;
  /** Answer plain get-session reads and /token mints without Better Auth's machinery (session-read.ts, token-lean.ts). @default true */
  leanReads?: boolean;
  /**
   * The build-time plan of the lean read (session-read.ts); the bundle's embedded one by default,
   * none from source (the plan then comes from Better Auth's context, after it is built).
   */
  sessionPlan?: PlanSnapshot;
}

const snapshotTokens = new WeakMap<Hono, LeanToken>();

/** The cold-bundle lean /token of an app built here (tests, benchmarks: its `served` count). */
export function snapshotTokenOf(app: Hono): LeanToken | undefined {
  return snapshotTokens.get(app);
}

const snapshotJwksPaths = new WeakMap<Hono, LeanJwks>();

/** The cold-bundle lean /jwks of an app built here (tests, benchmarks: its `served` count). */
export function snapshotJwksOf(app: Hono): LeanJwks | undefined {
  return snapshotJwksPaths.get(app);
}

export function createApp(config: AuthConfig, options: CreateAppOptions = {}): Hono {
  const pool = options.auth ? (options.auth.options.database as pg.Pool) : (options.pool ?? createPool(config));
  // Cold bundles: plain session reads from the build-time plan, with no Better Auth loaded.
  const snapshotPlan = options.auth || options.leanReads === false ? undefined : planFromSnapshot(options.sessionPlan ?? EMBEDDED_SNAPSHOT, config);
  const snapshot = snapshotPlan && { plan: snapshotPlan, reader: snapshotSessionRead(snapshotPlan, pool), ...snapshotToken(snapshotPlan) };
  // Cold bundles: /token from the same plan when the build-time context allowed it, signing with
  // the key cache the Better Auth instance built later gets too (auth-routes.ts checks both).
  function snapshotToken(plan: NonNullable<typeof snapshotPlan>) {
    const built = options.sessionPlan ?? EMBEDDED_SNAPSHOT;
    const tokenAllowed = built?.tokenBlocker === null;
    // /jwks from the same key cache when the build-time context allowed it (jwks-lean.ts).
    const jwksAllowed = built?.jwksBlocker === null;
    if (!tokenAllowed && !jwksAllowed) return {};
    const keyCache = new SigningKeyCache({ pool, alg: JWT_ALG, graceSeconds: KEY_GRACE_SECONDS });
    const jwksPath = siblingPath(plan.path, "/jwks");
    const jwks = jwksAllowed ? leanJwks({ path: () => Promise.resolve(jwksPath), keyCache: () => keyCache }) : undefined;
    if (!tokenAllowed) return { keyCache, jwks };
    const tokenPlan = snapshotTokenPlan(plan, config);
    return { keyCache, jwks, token: leanToken({ plan: () => Promise.resolve(tokenPlan), pool, keyCache: () => keyCache, config }) };
  }
  let routes: Promise<AuthRoutes> | undefined;
  // A failed load is retried by the next request, not replayed.
  const authRoutes = () =>
    (routes ??= import("./auth-routes.js").then(
      (m) => m.authRoutes(config, { auth: options.auth, pool, leanReads: options.leanReads, snapshot }),
      (err: unknown) => {
        routes = undefined;
        throw err;
      },
    ));
  const app = new Hono();
  if (snapshot?.token) snapshotTokens.set(app, snapshot.token);
  if (snapshot?.jwks) snapshotJwksPaths.set(app, snapshot.jwks);
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
  app.route("/", oidcRoutes(config, async (document, req) => (await authRoutes()).metadata(document, req)));

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
  app.on(["GET", "POST"], "/api/auth/*", async (c) => {
    // A plain session read is answered before the request is copied for Better Auth.
    const lean = snapshot ? ((await snapshot.reader(c.req.raw)) ?? (await snapshot.token?.(c.req.raw)) ?? (await snapshot.jwks?.(c.req.raw))) : undefined;
    return lean ?? (await authRoutes()).handle(c.req.raw);
  });

  app.notFound((c) => c.json({ error: "not_found" }, 404));
  app.onError((err, c) => {
    // Never echo internals (or anything a request carried) to the caller; serverErrorLog logs
    // the stable line (a database outage becomes a 503 in dbFaultGuard).
    return c.json({ error: "internal_error", message: "internal error" }, 500);
  });
  return app;
}
