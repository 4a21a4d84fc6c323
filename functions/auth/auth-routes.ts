/**
 * Everything of the auth service that needs Better Auth, in one module app.ts loads with a
 * dynamic `import()` on first need: app.ts's own import graph holds no Better Auth code, so a
 * cold instance answers health checks, the revocation feed, the well-known documents and plain
 * session reads (session-read.ts, from the build-time plan) before Better Auth is even parsed.
 */
import { oauthProviderAuthServerMetadata, oauthProviderOpenIdConfigMetadata } from "@better-auth/oauth-provider";
import type pg from "pg";
import { createAuth, type Auth } from "./auth.js";
import { withClientIp } from "./client-ip.js";
import type { AuthConfig } from "./config.js";
import { authHandler } from "./hot-path.js";
import type { OidcMetadata } from "./oidc-pages.js";
import { effectiveHost } from "./request-origin.js";
import { contextPlan, leanSessionRead, plan, planDifference, siblingPath, type LeanAuthContext, type LeanPath, type LeanSessionRead, type Plan } from "./session-read.js";
import { keyCacheOf, type SigningKeyCache } from "./signing-key.js";
import { contextTokenPlan, leanToken, type LeanToken } from "./token-lean.js";
import { jwksLeanBlocker, leanJwks, type LeanJwks } from "./jwks-lean.js";

export interface AuthRoutesOptions {
  /** Use this Better Auth instance (tests that also call `auth.api`). */
  auth?: Auth;
  /** The pool every instance shares (app.ts opens it). */
  pool: pg.Pool;
  /** Answer plain get-session reads and /token mints without Better Auth's machinery (session-read.ts, token-lean.ts). @default true */
  leanReads?: boolean;
  /**
   * The lean reader app.ts already runs from the build-time plan (cold bundles), and that plan:
   * each instance built here is checked against it, and a difference turns the reader off.
   */
  snapshot?: { reader: LeanSessionRead; plan: Plan; token?: LeanToken; jwks?: LeanJwks; keyCache?: SigningKeyCache };
}

export interface AuthRoutes {
  /** Better Auth's share of `/api/auth/*`, after app.ts's middleware (and lean reader) ran. */
  handle: (req: Request) => Promise<Response>;
  metadata: OidcMetadata;
}

/**
 * With an RP ID: one instance, built on the first request that needs it. Without one
 * (single-app local dev): one instance per request host so each app gets passkeys for its own
 * host. The host set is bounded by the host guard, so this map cannot grow without limit.
 */
function authResolver(config: AuthConfig, pool: pg.Pool, given?: Auth, keyCache?: SigningKeyCache): (req: Request) => Auth {
  if (given) return () => given;
  if (config.passkey.rpId) {
    let auth: Auth | undefined;
    return () => (auth ??= createAuth(config, { pool, keyCache }));
  }
  const byRpId = new Map<string, Auth>();
  return (req: Request) => {
    const rpId = (effectiveHost(req, config) ?? "").replace(/:\d+$/, "");
    let auth = byRpId.get(rpId);
    if (!auth) byRpId.set(rpId, (auth = createAuth(config, { pool, rpId, keyCache })));
    return auth;
  };
}

/**
 * Once per instance: does its context plan the lean read exactly as the build-time snapshot
 * did? If not (a plugin, option or Better Auth change the snapshot missed), the snapshot reader,
 * the lean /token and the lean /jwks are turned off for this Lambda instance and one error line
 * says why; Better Auth then answers every read. If it does, the lean /token and /jwks are each
 * checked against the instance too, and turned off alone on a difference. Exported for tests;
 * the promise never rejects.
 */
export function checkSnapshot(auth: Auth, snapshot: NonNullable<AuthRoutesOptions["snapshot"]>, config: AuthConfig): Promise<void> {
  const off = (path: LeanPath | undefined, msg: string, reason: string | undefined) => {
    if (!path || !reason) return;
    path.disable();
    console.error(JSON.stringify({ level: "error", msg, reason }));
  };
  const check = async () => {
    const live = await contextPlan(auth);
    const diff = live ? planDifference(live, snapshot.plan) : "Better Auth's context blocks the lean read (or did not build)";
    if (diff) {
      for (const path of [snapshot.reader, snapshot.token, snapshot.jwks]) path?.disable();
      console.error(JSON.stringify({ level: "error", msg: "session read plan differs from the build-time snapshot; lean reads off", field: diff }));
      return;
    }
    if (!snapshot.token && !snapshot.jwks) return;
    // The lean /token and /jwks also need this instance to mint and publish as the snapshot said,
    // from the key cache they share with it.
    const ctx = (await auth.$context) as LeanAuthContext;
    const otherCache = keyCacheOf(auth) !== snapshot.keyCache ? "the jwt plugin uses another key cache" : undefined;
    off(snapshot.jwks, "lean /jwks off", jwksLeanBlocker(ctx) ?? otherCache);
    off(snapshot.token, "lean /token off", (await contextTokenPlan(ctx, plan(ctx), config)) ? otherCache : "Better Auth's context blocks the lean /token");
  };
  return check().catch(() => {
    // Could not tell: the lean /token and /jwks stay off (Better Auth answers them).
    for (const path of [snapshot.token, snapshot.jwks]) path?.disable();
  });
}

const tokens = new WeakMap<Auth, LeanToken>();

/** The lean /token built for `auth` without a snapshot, once a request reached it (tests: its `served` count). */
export function leanTokenOf(auth: Auth): LeanToken | undefined {
  return tokens.get(auth);
}

/** The lean /token for `auth` when there is no snapshot (source runs, tests): plan and key cache from its context. */
function contextLeanToken(auth: Auth, config: AuthConfig): LeanToken {
  let token = tokens.get(auth);
  if (!token) {
    const plan_ = async () => {
      const ctx = (await auth.$context) as LeanAuthContext;
      return contextTokenPlan(ctx, plan(ctx), config);
    };
    token = leanToken({ plan: plan_, pool: auth.options.database as pg.Pool, keyCache: () => keyCacheOf(auth), config });
    tokens.set(auth, token);
  }
  return token;
}

const jwksPaths = new WeakMap<Auth, LeanJwks>();

/** The lean /jwks built for `auth` without a snapshot, once a request reached it (tests: its `served` count). */
export function leanJwksOf(auth: Auth): LeanJwks | undefined {
  return jwksPaths.get(auth);
}

/** The lean /jwks for `auth` when there is no snapshot (source runs, tests): verdict and key cache from its context. */
function contextLeanJwks(auth: Auth): LeanJwks {
  let jwks = jwksPaths.get(auth);
  if (!jwks) {
    const path = async () => {
      const ctx = (await auth.$context) as LeanAuthContext;
      return jwksLeanBlocker(ctx) ? undefined : siblingPath(plan(ctx).path, "/jwks");
    };
    jwks = leanJwks({ path, keyCache: () => keyCacheOf(auth) });
    jwksPaths.set(auth, jwks);
  }
  return jwks;
}

export function authRoutes(config: AuthConfig, options: AuthRoutesOptions): AuthRoutes {
  const { pool, snapshot } = options;
  const authFor = authResolver(config, pool, options.auth, snapshot?.keyCache);
  const handlers = new WeakMap<Auth, (req: Request) => Promise<Response>>();
  const checked = new WeakSet<Auth>();
  const handlerOf = (auth: Auth): ((req: Request) => Promise<Response>) => handlers.get(auth) ?? handlers.set(auth, authHandler(auth)).get(auth)!;
  const instanceFor = (req: Request) => {
    const auth = authFor(req);
    if (snapshot && !checked.has(auth)) {
      checked.add(auth);
      void checkSnapshot(auth, snapshot, config);
    }
    return auth;
  };
  return {
    async handle(req) {
      const auth = instanceFor(req);
      // With a snapshot, app.ts's reader already had its say; otherwise the plan comes from the context.
      const lean =
        snapshot || options.leanReads === false
          ? undefined
          : ((await leanSessionRead(auth, auth.options.database as pg.Pool)(req)) ?? (await contextLeanToken(auth, config)(req)) ?? (await contextLeanJwks(auth)(req)));
      return lean ?? handlerOf(auth)(withClientIp(req, config));
    },
    metadata: (document, req) =>
      document === "openid-configuration" ? oauthProviderOpenIdConfigMetadata(instanceFor(req))(req) : oauthProviderAuthServerMetadata(instanceFor(req))(req),
  };
}
