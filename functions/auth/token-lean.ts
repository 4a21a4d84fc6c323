/**
 * The lean path for `GET /api/auth/token`: a JWT for a plain session, minted without Better
 * Auth's endpoint pipeline (better-call context, every plugin's hook chain, the jwt plugin's
 * getJwtToken), answered where app.ts answers lean get-session, before Better Auth is loaded.
 * Like session-read.ts it is a filter, never a replacement: `mint(req)` returns a Response only
 * when it can show the answer is the one Better Auth would give, and `undefined` (Better Auth
 * answers) for everything else. test/functions/auth/token-lean.test.ts compares the two on
 * random states.
 *
 * What Better Auth 1.7.6 does on GET /token with authplane's options, and why each is safe here:
 * - request shape: only GET on exactly `{basePath}/token`, no query string; anything else declines.
 * - rate limiter (onRequestRateLimit): `customRules["/token"] === false` (hot-path.ts) makes it
 *   skip /token whatever the plugins' rules say; any other rule declines (tokenLeanBlocker).
 * - origin/CSRF check: originCheckMiddleware returns at once for GET; nothing to reproduce.
 * - disabledPaths: /token listed there declines.
 * - global hooks (options.hooks): any declines.
 * - plugin onRequest: oauth-provider's answers only its issuer metadata paths, RouterOnce only
 *   caches a router; any other onRequest or any onResponse declines.
 * - sessionMiddleware: the session comes from session-read.ts `plainSession`, the same
 *   objects the leanTokenSession hook hands Better Auth today; it declines on an Authorization
 *   header (bearer), other/repeated auth cookies, bad HMAC, unknown/revoked (deleted) or expired
 *   sessions, a session due for its sliding refresh, a banned user (admin/userBan).
 * - leanTokenSession before-hook: reproduced (it is that same `plainSession`).
 * - bearer: its before hook needs an Authorization header (declined); its after hook only
 *   copies a session cookie the response sets, and this response sets none.
 * - jwt plugin: its after hook matches /get-session only; getJwtToken's payload is rebuilt in
 *   its key order ({iat, ...definePayload, sub} then exp, iss, aud), with definePayload as
 *   auth.ts defines it (email, sid, resolveOrgClaims for tokenOrganization's app); a
 *   getSubject, a custom expirationTime, another key algorithm, unencrypted private keys, a
 *   remote JWKS or the cookie-cache signer decline; iss/aud must be the config's.
 * - signing key: the SigningKeyCache Better Auth's jwt plugin uses (shared, signing-key-cache.ts):
 *   the same newest live key; no live key cached (first token, rotation due), a legacy
 *   (unversioned) encrypted key or a non-RS256 key declines, so Better Auth mints/rotates/fails.
 * - app-origin (tokenOrganization): the same origin/client-id rules on the same request headers
 *   (Origin, proxy-signed forwarding, x-authplane-client-id), from the same cached directory
 *   (one per pool, app-origin.ts `sharedAppDirectory`).
 * - organization plugin (membership, roles, dynamic access control): resolveOrgClaims, the
 *   function definePayload calls; its hooks match no /token request.
 * - oauth-provider / authplane-oidc-membership / passkey / nativeApp / admin: no hook matches
 *   /token (checked on the live context); nativeApp's rate rule is for its own path.
 * - sessionRevocations, noSelectionChangeOnGet: database hooks on session delete/update; a
 *   plain /token writes neither.
 * - auditTrail: the `token.minted` row its after hook writes (actor, subject, app from the
 *   token's org_slug else the active organization's slug, ip from client-ip.ts, outcome
 *   success, no detail), written before the response as the hook is awaited; a failure is
 *   logged the same way and never fails the request.
 * - googleOidcOverride (when configured): no hook or onRequest of its own reaches /token;
 *   the live check blocks it if one ever does.
 * - base URL (static or per-host `allowedHosts`): it only feeds iss/aud defaults, and both are
 *   set from the config; the host guard (guards.ts) admits exactly auth.ts's allowedHosts.
 * - client-ip.ts (withClientIp): read from the raw headers with the same policy (a proxy's
 *   signed address, else the adapter's source address); forwarding headers count only when
 *   signed, in app-origin's origin rule as in Better Auth's copy of the request.
 * - secrets (rotation): the cookie HMAC uses the first version (session-read.ts); the private
 *   key opens with the version its envelope names, as Better Auth's symmetricDecrypt does.
 * - response: 200, `{"token":…}`, `content-type: application/json`, no Set-Cookie (Better
 *   Auth's `ctx.json` on a read that refreshes nothing); the JWT header is `{alg, kid}`, no typ.
 * - metrics (metrics.ts) and CORS (cors.ts) run at the Hono layer around either answer.
 * - any error before the audit row (database, decrypt, sign): decline; Better Auth answers.
 */
import type pg from "pg";
import { JWT_ALG, JWT_TTL_SECONDS } from "../claims.js";
// Type-only: app-origin.ts and org-claims.ts import small parts of Better Auth (the endpoint
// context's AsyncLocalStorage, the built-in role statements); they load on the first /token,
// never in the startup chunk.
import type { AppDirectory } from "./app-origin.js";
import { recordAudit } from "./audit.js";
import { clientIp } from "./client-ip.js";
import type { AuthConfig } from "./config.js";
import { requestOrigin, type ForwardingPolicy } from "./request-origin.js";
import { endpointProbe, leanGet, leanReadBlocker, siblingPath, plainSession, pluginBlocker, rateLimited, type LeanAuthContext, type Plan, type LeanPath } from "./session-read.js";
import { jwtPluginOf, signCompact, type SigningKeyCache } from "./signing-key-cache.js";

/** Plugin hooks that match `/token` and whose effect this path reproduces or that do nothing on a plain mint. */
const KNOWN_ON_TOKEN = new Set(["authplane-lean-token-session", "authplane-audit-trail", "bearer"]);

interface JwtPluginOptions {
  jwt?: { issuer?: string; audience?: string | string[]; expirationTime?: unknown; getSubject?: unknown; definePayload?: unknown; sign?: unknown };
  jwks?: { keyPairConfig?: { alg?: string }; remoteUrl?: string; disablePrivateKeyEncryption?: boolean };
  sessionCookieCache?: boolean;
}

/** Why this instance's /token cannot take the lean path, or undefined when it can. */
export function tokenLeanBlocker(ctx: LeanAuthContext): string | undefined {
  const session = leanReadBlocker(ctx, { hooks: false });
  if (session) return session;
  const o = ctx.options;
  if (rateLimited(o.rateLimit, "/token")) return "rate limit on /token";
  if (o.disabledPaths?.includes("/token")) return "/token disabled";
  if (o.hooks?.before || o.hooks?.after) return "global hooks";
  const jwt = jwtPluginOf(o.plugins);
  if (!jwt?.keyCache) return "no in-memory signing key cache on the jwt plugin";
  const jo = (jwt.options ?? {}) as JwtPluginOptions;
  if (jo.jwt?.getSubject) return "jwt getSubject";
  if (!jo.jwt?.definePayload) return "jwt without authplane's definePayload";
  if (jo.jwt?.expirationTime !== `${JWT_TTL_SECONDS}s`) return "jwt expirationTime";
  if (jo.jwks?.keyPairConfig?.alg !== JWT_ALG) return "jwks key algorithm";
  if (jo.jwks?.remoteUrl) return "remote JWKS";
  if (jo.jwks?.disablePrivateKeyEncryption) return "unencrypted private keys";
  if (jo.sessionCookieCache) return "jwt session cookie cache";
  if (typeof jo.jwt?.issuer !== "string" || typeof jo.jwt?.audience !== "string") return "jwt issuer/audience not plain strings";
  // Every header a request the lean path serves may carry (an Authorization header it never
  // serves, but a hook keyed on it is bearer's or unknown; unknown blocks).
  const headers = { cookie: "x=y", origin: "https://example.org", authorization: "Bearer x", "x-authplane-client-id": "x", "x-forwarded-host": "example.org" };
  return pluginBlocker(o.plugins, endpointProbe("/token", headers, ctx.authCookies), (plugin) => KNOWN_ON_TOKEN.has(plugin.id));
}

/** What the lean mint needs beyond the session read's plan. */
export interface TokenPlan {
  session: Plan;
  path: string;
  issuer: string;
  audience: string;
  /** Decrypts the private key (Better Auth's `ctx.secretConfig`, or the same built from the config). */
  secretConfig: unknown;
}

/**
 * Better Auth's `buildSecretConfig` for the configured versions. Without the legacy secret: the
 * lean path only opens versioned envelopes, which never use it.
 */
export function secretConfigOf(config: Pick<AuthConfig, "secrets">): unknown {
  return {
    keys: new Map(config.secrets.map((s) => [Number.parseInt(String(s.version), 10), s.value])),
    currentVersion: Number.parseInt(String(config.secrets[0]!.version), 10),
    legacySecret: undefined,
  };
}

/** The claims definePayload (auth.ts) gives, in its key order, for the org claims resolved. */
function definedClaims(user: Record<string, unknown>, session: Record<string, unknown>, org: Record<string, unknown>): Record<string, unknown> {
  return { email: user.email, sid: session.id, ...org };
}

const NO_ORG = { org_id: null, org_slug: null, role: null, permissions: {} };

/**
 * The plan from Better Auth's initialised context (source runs, tests, the snapshot check).
 * definePayload is a function the blocker cannot read, so it is asked once: for a session with
 * no app it must give exactly what this path builds (same keys, order and values), or no lean
 * /token. (Its org resolution is the functions this path calls; the differential test covers it.)
 */
export async function contextTokenPlan(ctx: LeanAuthContext & { secretConfig?: unknown }, session: Plan, config: Pick<AuthConfig, "jwt">): Promise<TokenPlan | undefined> {
  if (tokenLeanBlocker(ctx)) return undefined;
  const jo = jwtPluginOf(ctx.options.plugins)?.options as JwtPluginOptions | undefined;
  // The instance was built from this config; a mismatch means something else built it.
  if (jo?.jwt?.issuer !== config.jwt.issuer || jo?.jwt?.audience !== config.jwt.audience) return undefined;
  const user = { id: "authplane-probe-user", email: "probe@authplane.invalid" };
  const probeSession = { id: "authplane-probe-session", userId: user.id, activeOrganizationId: null };
  try {
    const defined = await (jo.jwt.definePayload as (s: unknown) => Promise<unknown>)({ user, session: probeSession });
    if (JSON.stringify(defined) !== JSON.stringify(definedClaims(user, probeSession, NO_ORG))) return undefined;
  } catch {
    return undefined;
  }
  return { session, path: siblingPath(session.path, "/token"), issuer: config.jwt.issuer, audience: config.jwt.audience, secretConfig: ctx.secretConfig };
}

/** The plan for a cold bundle: the snapshot's session plan, the config's issuer, audience and secrets. */
export function snapshotTokenPlan(session: Plan, config: Pick<AuthConfig, "jwt" | "secrets">): TokenPlan {
  return { session, path: siblingPath(session.path, "/token"), issuer: config.jwt.issuer, audience: config.jwt.audience, secretConfig: secretConfigOf(config) };
}


const HEADERS = { "content-type": "application/json" };

export type LeanToken = LeanPath;

export interface LeanTokenOptions {
  plan: () => Promise<TokenPlan | undefined>;
  pool: pg.Pool;
  keyCache: () => SigningKeyCache | undefined;
  /** Whose forwarding headers count (the config): for the app's origin and the audit row's address. */
  config: ForwardingPolicy;
}

export function leanToken({ plan, pool, keyCache, config }: LeanTokenOptions): LeanToken {
  let deps: Promise<MintDeps> | undefined;
  return leanGet(plan, async (req, p) => {
    const cache = keyCache();
    if (!cache) return undefined;
    let token: string;
    let user: Record<string, unknown>;
    let session: Record<string, unknown>;
    let orgSlug: string | null;
    try {
      const { directory, organizationForToken, resolveOrgClaims, APP_CLIENT_HEADER } = await (deps ??= mintDeps(pool).catch((err: unknown) => {
        deps = undefined;
        throw err;
      }));
      const found = await plainSession(p.session, req.headers, pool);
      if (!found) return undefined;
      ({ user, session } = found);
      const key = await cache.current(p.secretConfig);
      if (!key || key.alg !== JWT_ALG) return undefined;
      const activeOrganizationId = session.activeOrganizationId as string | null | undefined;
      const source = { origin: requestOrigin(req, config), clientId: req.headers.get(APP_CLIENT_HEADER)?.trim() || null };
      const claims = await resolveOrgClaims(pool, user.id as string, organizationForToken(await directory(), source, activeOrganizationId));
      const iat = Math.floor(Date.now() / 1000);
      // Better Auth's order: getJwtToken's {iat, ...definePayload, sub}, then signJWT's exp, iss, aud.
      const payload = { iat, ...definedClaims(user, session, claims), sub: user.id, exp: iat + JWT_TTL_SECONDS, iss: p.issuer, aud: p.audience };
      token = await signCompact(payload, undefined, key);
      orgSlug = typeof claims.org_slug === "string" && claims.org_slug ? claims.org_slug : null;
    } catch {
      return undefined;
    }
    // audit-trail.ts `describe` for /token, then its hook's recordAudit with the client address.
    try {
      const app = orgSlug ?? (await activeSlug(pool, session.activeOrganizationId));
      await recordAudit(pool, { action: "token.minted", actor: user.id as string, subject: user.email as string, app, ip: clientIp(req.headers, config), outcome: "success", detail: null });
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "audit hook failed", path: "/token", error: err instanceof Error ? err.message : String(err) }));
    }
    return new Response(JSON.stringify({ token }), { status: 200, headers: HEADERS });
  });
}

interface MintDeps {
  directory: () => Promise<AppDirectory>;
  organizationForToken: typeof import("./app-origin.js").organizationForToken;
  resolveOrgClaims: typeof import("./org-claims.js").resolveOrgClaims;
  APP_CLIENT_HEADER: string;
}

/** definePayload's helpers (auth.ts), loaded once; a failed load is retried by the next token. */
function mintDeps(pool: pg.Pool): Promise<MintDeps> {
  return Promise.all([import("./app-origin.js"), import("./org-claims.js")]).then(([origin, claims]) => ({
    // The copy Better Auth's tokenOrganization reads too (one per pool).
    directory: origin.sharedAppDirectory(pool),
    organizationForToken: origin.organizationForToken,
    resolveOrgClaims: claims.resolveOrgClaims,
    APP_CLIENT_HEADER: origin.APP_CLIENT_HEADER,
  }));
}

/** audit-trail.ts `orgSlug`: the active organization's slug when the token names no app. */
async function activeSlug(pool: pg.Pool, orgId: unknown): Promise<string | null> {
  if (typeof orgId !== "string" || !orgId) return null;
  const r = await pool.query<{ slug: string }>(`SELECT slug FROM "organization" WHERE id = $1`, [orgId]);
  return r.rows[0]?.slug ?? null;
}
