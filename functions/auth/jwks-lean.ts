/**
 * The lean path for `GET /api/auth/jwks`: the public keys every authorizer and OpenID client
 * polls, answered from the signing key cache Better Auth's jwt plugin reads them from
 * (signing-key-cache.ts, shared), without better-call's context, the router or the hook chain.
 * Like token-lean.ts it is a filter: `serve(req)` returns a Response only when it can show the
 * answer is Better Auth's, and `undefined` (Better Auth answers) for everything else.
 * test/functions/auth/jwks-lean.test.ts compares both byte for byte on one database.
 *
 * What Better Auth 1.7.6's `getJwks` (dist/plugins/jwt/index.mjs) does with authplane's options,
 * and why each is safe here:
 * - request shape: only GET on exactly `{basePath}/jwks`, no query string, no Authorization
 *   header (bearer's before hook would read it); anything else declines.
 * - rate limiter: `customRules["/jwks"] === false` (hot-path.ts) skips it; any other rule declines.
 * - origin/CSRF check: returns at once for GET; nothing to reproduce.
 * - disabledPaths: /jwks listed there declines.
 * - global hooks (options.hooks): any declines.
 * - plugin onRequest/hooks: pluginBlocker with a /jwks probe; oauth-provider's onRequest answers
 *   only its metadata paths, RouterOnce only caches a router, bearer needs an Authorization
 *   header (declined) or a session cookie in the response (none), the audit trail describes no
 *   event for /jwks; anything else declines.
 * - `jwks.remoteUrl` (the endpoint answers 404): declines.
 * - `jwks.jwksPath` other than "/jwks" (the endpoint moves): declines.
 * - `adapter.getAllKeys`: `jwtWithKeyInMemory`'s getJwks, i.e. `cache.rows()` of the same cache
 *   (no jwt plugin with a keyCache, or another cache than this path's, declines).
 * - no rows (Better Auth mints the first key, then answers): declines.
 * - grace filter `!expiresAt || expiresAt + gracePeriod > now`: the same test at request time
 *   with the cache's graceSeconds; a `jwks.gracePeriod` other than that declines. No key left
 *   after it (Better Auth would answer `{"keys":[]}`): declines all the same.
 * - mapping `{alg: row.alg ?? keyPairConfig.alg, crv: row.crv ?? keyPairConfig.crv, ...publicKey,
 *   kid}`: the same spread in the same order; keyPairConfig must be `{alg: RS256, modulusLength}`
 *   (no crv, so an absent crv stays undefined and JSON.stringify drops it); anything else declines.
 * - response: `ctx.json` → 200, `JSON.stringify(body)`, `content-type: application/json`, no cookie.
 * - metrics (metrics.ts), CORS (cors.ts), host guard: the Hono layer runs them around either answer.
 * - any error (database, a publicKey that is not JSON): decline; Better Auth answers (or fails) itself.
 */
import { JWT_ALG } from "../claims.js";
import { endpointProbe, leanGet, pluginBlocker, rateLimited, type LeanAuthContext, type LeanPath } from "./session-read.js";
import { jwtPluginOf, type SigningKeyCache } from "./signing-key-cache.js";

/**
 * Plugins whose hooks match /jwks but do nothing there: bearer (needs an Authorization header,
 * declined, or a session cookie in the response, never set); the audit trail (its `describe`
 * names no event for /jwks, so it writes no row).
 */
const KNOWN_ON_JWKS = new Set(["bearer", "authplane-audit-trail"]);
/** keyPairConfig keys that only shape new keys (never the published form). */
const KEY_PAIR_KEYS = new Set(["alg", "modulusLength"]);

interface JwksPluginOptions {
  jwks?: { keyPairConfig?: Record<string, unknown>; remoteUrl?: string; jwksPath?: string; gracePeriod?: number };
}

/** Why this instance's /jwks cannot take the lean path, or undefined when it can. */
export function jwksLeanBlocker(ctx: Pick<LeanAuthContext, "options" | "authCookies">): string | undefined {
  const o = ctx.options;
  if (rateLimited(o.rateLimit, "/jwks")) return "rate limit on /jwks";
  if (o.disabledPaths?.includes("/jwks")) return "/jwks disabled";
  if (o.hooks?.before || o.hooks?.after) return "global hooks";
  const jwt = jwtPluginOf(o.plugins);
  const cache = jwt?.keyCache;
  if (!cache || typeof cache.graceSeconds !== "number") return "no in-memory signing key cache on the jwt plugin";
  const jo = (jwt.options ?? {}) as JwksPluginOptions;
  if (jo.jwks?.remoteUrl) return "remote JWKS";
  if (jo.jwks?.jwksPath !== undefined && jo.jwks.jwksPath !== "/jwks") return "jwks path moved";
  if (jo.jwks?.gracePeriod !== cache.graceSeconds) return "jwks gracePeriod differs from the key cache's";
  const kp = jo.jwks?.keyPairConfig;
  if (!kp || kp.alg !== JWT_ALG || Object.keys(kp).some((k) => !KEY_PAIR_KEYS.has(k))) return "jwks keyPairConfig";
  const headers = { cookie: "x=y", origin: "https://example.org", "x-forwarded-host": "example.org" };
  return pluginBlocker(o.plugins, endpointProbe("/jwks", headers, ctx.authCookies), (plugin) => KNOWN_ON_JWKS.has(plugin.id));
}

export type LeanJwks = LeanPath;

export interface LeanJwksOptions {
  /** `{basePath}/jwks`, or undefined when this instance has no lean /jwks (asked once). */
  path: () => Promise<string | undefined>;
  keyCache: () => SigningKeyCache | undefined;
}

const HEADERS = { "content-type": "application/json" };

export function leanJwks({ path, keyCache }: LeanJwksOptions): LeanJwks {
  return leanGet(
    () => path().then((p) => (p ? { path: p } : undefined)),
    async (req) => {
      // An Authorization header is bearer's to read: Better Auth answers.
      const cache = req.headers.has("authorization") ? undefined : keyCache();
      if (!cache) return undefined;
      try {
        const rows = await cache.rows();
        const now = Date.now();
        const grace = cache.graceSeconds * 1000;
        const keys = rows.filter((k) => !k.expiresAt || k.expiresAt.getTime() + grace > now);
        if (!keys.length) return undefined;
        const body = JSON.stringify({
          keys: keys.map((k) => ({ alg: k.alg ?? JWT_ALG, crv: k.crv ?? undefined, ...(JSON.parse(k.publicKey) as object), kid: k.id })),
        });
        return new Response(body, { status: 200, headers: HEADERS });
      } catch {
        return undefined;
      }
    },
  );
}

