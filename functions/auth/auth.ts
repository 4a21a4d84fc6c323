/**
 * THE Better Auth factory. The Lambda, the node server, `make dev`, the ops tools and the tests
 * all build their instance here from an `AuthConfig`, so what is tested is what runs.
 */
import { passkey } from "@better-auth/passkey";
import { betterAuth, type BetterAuthOptions } from "better-auth";
// Deep imports: the plugins barrel would pull every Better Auth plugin into the bundle.
import { admin } from "better-auth/plugins/admin";
import { bearer } from "better-auth/plugins/bearer";
import { organization } from "better-auth/plugins/organization";
import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements } from "better-auth/plugins/organization/access";
import type pg from "pg";
import { JWT_ALG, JWT_TTL_SECONDS } from "../claims.js";
import { CLIENT_IP_HEADER } from "./client-ip.js";
import type { AuthConfig } from "./config.js";
import { createPool } from "./db-pool.js";
import { googleOidcOverride } from "./google-override.js";
import { nativeApp } from "./native/index.js";
import { tokenOrganizationResolver } from "./app-origin.js";
import { oidcProviderPlugins } from "./oidc-provider.js";
import { resolveOrgClaims } from "./org-claims.js";
import { sessionRevocations } from "./revocations.js";
import { noSelectionChangeOnGet } from "./safe-methods.js";
import { verifyPassword } from "./password.js";
import { lazyRedisStorage } from "./lazy/redis-storage.js";
import { postgresCounter } from "./rate-limit-fallback.js";
import { jwtWithKeyInMemory, SigningKeyCache } from "./signing-key.js";
import { KEY_GRACE_SECONDS, KEY_ROTATION_SECONDS } from "./signing-key-cache.js";
import { READ_ONLY_RATE_RULES, RouterOnce, staticBaseURL } from "./hot-path.js";
import { leanTokenSession } from "./session-read.js";
import { auditTrail, membershipAudit } from "./audit-trail.js";
import { secureCookies, SESSION_EXPIRES_IN, SESSION_UPDATE_AGE } from "./session-policy.js";

// The pool lives in its own module so the Lambda adapter can open it before Better Auth loads.
export { createPool };

// Defined beside the key cache, which the lean /token path builds before Better Auth loads.
export { KEY_GRACE_SECONDS, KEY_ROTATION_SECONDS };

/** Sessions last a week and slide daily (session-policy.ts); JWTs minted from them last 15 minutes. */
const SESSION_SECONDS = SESSION_EXPIRES_IN;

/** What a blocked (offboarded) person sees on every sign-in attempt (error code BANNED_USER). */
export const BANNED_MESSAGE = "This account is blocked from signing in (offboarded). Ask an administrator to reinstate it.";

/** Hosts Better Auth may build its base URL from: the service's own and every app's (proxy pattern). */
function allowedHosts(config: AuthConfig): string[] {
  return [...new Set([config.baseURL, ...config.trustedOrigins].map((o) => new URL(o).host))];
}

export interface CreateAuthOptions {
  /** Share one pool between several instances (one per RP ID in single-app dev). */
  pool?: pg.Pool;
  /** RP ID for this instance when the config has none (derived from the request's host). */
  rpId?: string;
  /** The signing key cache the lean /token path (token-lean.ts) shares; a new one otherwise. */
  keyCache?: SigningKeyCache;
}

export function authOptions(config: AuthConfig, pool: pg.Pool, rpId = config.passkey.rpId, keyCache = new SigningKeyCache({ pool, alg: JWT_ALG, graceSeconds: KEY_GRACE_SECONDS })) {
  // Secure cookies whenever the browser-facing origins are https, even if the service itself is
  // reached over plain http behind the apps' proxies (as in `make dev`).
  const secure = secureCookies(config);
  const redis = config.redisUrl ? lazyRedisStorage(config.redisUrl, { incrementFallback: postgresCounter(pool) }) : undefined;
  const google = config.google;
  const tokenOrganization = tokenOrganizationResolver(pool, config);
  // Only for the ban: operators block and reinstate people with `npm run apps` (their own SQL),
  // so none of the plugin's HTTP endpoints is served, whatever role a user might hold.
  const userBan = admin({ defaultRole: "user", bannedUserMessage: BANNED_MESSAGE });
  return {
    appName: config.passkey.rpName,
    // One host: a plain string, so Better Auth skips per-request base URL resolution.
    baseURL: staticBaseURL(config.baseURL, allowedHosts(config)) ?? { allowedHosts: allowedHosts(config), fallback: config.baseURL },
    basePath: "/api/auth",
    secrets: config.secrets,
    database: pool,
    secondaryStorage: redis,
    trustedOrigins: [...new Set([config.baseURL, ...config.trustedOrigins])],
    telemetry: { enabled: false },
    disabledPaths: Object.values(userBan.endpoints).map((e) => e.path),
    session: {
      expiresIn: SESSION_SECONDS,
      updateAge: SESSION_UPDATE_AGE,
      // With Redis, sessions live there first; PostgreSQL keeps them too so a Redis loss logs no one out.
      storeSessionInDatabase: true,
    },
    emailAndPassword: {
      enabled: config.emailPassword,
      autoSignIn: true,
      // Accepts the bcrypt hashes migrated from Supabase as well as Better Auth's own scrypt.
      password: { verify: verifyPassword },
    },
    socialProviders:
      google && !google.discoveryUrl
        ? { google: { clientId: google.clientId, clientSecret: google.clientSecret, prompt: "select_account" } }
        : undefined,
    rateLimit: {
      enabled: config.rateLimit.enabled,
      window: config.rateLimit.window,
      max: config.rateLimit.max,
      // Lambda instances come and go, so in-memory counters would reset with each; Redis when
      // there is one, otherwise the database every instance shares.
      storage: redis ? "secondary-storage" : "database",
      // Session/token/JWKS reads write no counter rows (see hot-path.ts); sign-in, sign-up,
      // password, passkey and native exchange keep Better Auth's and our plugins' strict rules.
      customRules: READ_ONLY_RATE_RULES,
    },
    advanced: {
      // Explicit, because Better Auth turns origin checks off by itself under NODE_ENV=test:
      // the tests must exercise the same CSRF defence production runs.
      disableOriginCheck: false,
      disableCSRFCheck: false,
      useSecureCookies: secure,
      trustedProxyHeaders: config.trustProxyHeaders,
      // joins: session + user in one query (findSession joins user) instead of two.
      database: { validateSchema: config.validateSchema, joins: true },
      defaultCookieAttributes: { httpOnly: true, secure, sameSite: "lax" },
      crossSubDomainCookies: config.cookieDomain ? { enabled: true, domain: config.cookieDomain } : undefined,
      // One header, written by app.ts from the forwarded chain (see client-ip.ts).
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    plugins: [
      ...(google?.discoveryUrl ? [googleOidcOverride({ discoveryUrl: google.discoveryUrl, clientId: google.clientId, clientSecret: google.clientSecret })] : []),
      passkey({
        rpID: rpId,
        rpName: config.passkey.rpName,
        // The explicit list: a ceremony from any other origin fails verification.
        origin: config.trustedOrigins,
      }),
      organization({
        // Apps are onboarded as data by operators (`npm run apps`), not created by end users.
        allowUserToCreateOrganization: false,
        ac: createAccessControl(defaultStatements),
        dynamicAccessControl: { enabled: true },
        organizationHooks: membershipAudit(pool),
      }),
      jwtWithKeyInMemory({
        jwks: {
          keyPairConfig: { alg: JWT_ALG, modulusLength: 2048 },
          // Without an interval Better Auth keeps one key forever; with it, keys rotate and
          // the previous one stays published for the grace period.
          rotationInterval: KEY_ROTATION_SECONDS,
          gracePeriod: KEY_GRACE_SECONDS,
        },
        jwt: {
          issuer: config.jwt.issuer,
          audience: config.jwt.audience,
          expirationTime: `${JWT_TTL_SECONDS}s`,
          // The app comes from the request when it names one (app-origin.ts), else the session.
          definePayload: async ({ user, session }) => ({
            email: user.email,
            sid: session.id,
            ...(await resolveOrgClaims(pool, user.id, await tokenOrganization(session.activeOrganizationId as string | null | undefined))),
          }),
        },
        // A JWT is minted on request (/token), not on every session read.
        disableSettingJwtHeader: true,
      }, keyCache),
      // authplane as an OpenID Provider for tools the org did not write (needs jwt() above).
      ...oidcProviderPlugins({ pool, issuer: config.jwt.issuer }),
      bearer({ requireSignature: true }),
      // Builds Better Auth's router once per base URL instead of per request (hot-path.ts).
      new RouterOnce().plugin,
      // /token's session from the lean read path when it is a plain one (session-read.ts).
      leanTokenSession(pool),
      // Always on: bearer-shaped sign-in for native clients needs no configuration; the OAuth
      // one-time-code flow accepts only NATIVE_APP_CALLBACKS (none by default).
      nativeApp({ callbacks: config.nativeAppCallbacks }),
      userBan,
      sessionRevocations(pool),
      noSelectionChangeOnGet(),
      auditTrail(pool),
    ],
  } satisfies BetterAuthOptions;
}

export function createAuth(config: AuthConfig, { pool, rpId, keyCache }: CreateAuthOptions = {}) {
  return betterAuth(authOptions(config, pool ?? createPool(config), rpId, keyCache));
}

export type Auth = ReturnType<typeof createAuth>;
