/**
 * authplane as an OpenID Provider, for the tools an organization runs but did not write
 * (dashboards, wikis, CI). Better Auth's own OAuth 2.1 / OIDC provider plugin does the protocol;
 * this module only decides authplane's policy:
 *
 * - Clients are data (`apps/*.json` → `npm run apps -- apply`), never registered over HTTP:
 *   dynamic registration is off and every client CRUD endpoint is denied.
 * - Each client belongs to one app (its `referenceId` is the app's organization id). A person
 *   who is not a member of that app is refused at /oauth2/authorize with `access_denied`;
 *   ID tokens and userinfo carry their role(s) and permissions in that app.
 * - Codes are short-lived and single-use, PKCE (S256) is required for public clients,
 *   refresh tokens rotate, and the token endpoints have their own rate limits.
 */
import { oauthProvider } from "@better-auth/oauth-provider";
import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { createHash } from "node:crypto";
import type pg from "pg";
import { JWT_TTL_SECONDS } from "../claims.js";
import { recordAudit } from "./audit.js";
import { CLIENT_IP_HEADER } from "./client-ip.js";
import { resolveOrgClaims } from "./org-claims.js";

/** Pages the provider sends a browser to; served by app.ts outside Better Auth's router. */
import { OIDC_CONSENT_PATH, OIDC_SIGN_IN_PATH } from "./oidc-paths.js";
export { OIDC_CONSENT_PATH, OIDC_SIGN_IN_PATH };

/** An authorization code lives one minute: the RP redeems it within seconds of the redirect. */
export const OIDC_CODE_TTL_SECONDS = 60;

/** Claims authplane adds to ID tokens and userinfo, beyond the standard OIDC ones. */
export const OIDC_APP_CLAIMS = ["org_id", "org_slug", "role", "roles", "permissions"] as const;

/**
 * How a client secret is stored: SHA-256, base64url without padding (the plugin's "hashed"
 * format). Secrets are 32 random characters, so a fast hash is enough; the ops tool that
 * creates clients stores with this same function.
 */
export function hashClientSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/**
 * Per client address, per window of 60 s. One RP server redeems every user's codes and
 * refreshes from one address, so the token and userinfo budgets are sized for a busy
 * organization signing in at 9 am, not for a single browser.
 */
export const OIDC_RATE_LIMITS = {
  token: { window: 60, max: 120 },
  authorize: { window: 60, max: 60 },
  userinfo: { window: 60, max: 120 },
  introspect: { window: 60, max: 120 },
  revoke: { window: 60, max: 60 },
  register: { window: 60, max: 5 },
} as const;

interface ClientRow {
  referenceId: string | null;
  redirectUris: string[];
  disabled: boolean;
}

function parseList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  if (typeof raw !== "string") return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === "string") : [];
  } catch {
    return raw.split(",").filter(Boolean);
  }
}

async function clientById(pool: pg.Pool, clientId: string): Promise<ClientRow | undefined> {
  const { rows } = await pool.query<{ referenceId: string | null; redirectUris: unknown; disabled: boolean | null }>(
    `SELECT "referenceId", "redirectUris", disabled FROM "oauthClient" WHERE "clientId" = $1`,
    [clientId],
  );
  return rows[0] ? { referenceId: rows[0].referenceId, redirectUris: parseList(rows[0].redirectUris), disabled: rows[0].disabled === true } : undefined;
}

/**
 * Whether `requested` is one of the client's redirect URIs, as the provider matches them:
 * exactly, or for an http loopback URI (RFC 8252 §7.3, a native tool's local listener) with any port.
 */
function isRegisteredRedirect(registered: string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const portless = (uri: string) => {
    if (!URL.canParse(uri)) return undefined;
    const url = new URL(uri);
    if (url.protocol !== "http:" || !["127.0.0.1", "[::1]", "localhost"].includes(url.hostname) || uri.includes("#") || url.username || url.password) return undefined;
    url.port = "";
    return url.toString();
  };
  const wanted = portless(requested);
  return wanted !== undefined && registered.some((uri) => portless(uri) === wanted);
}

async function appOf(pool: pg.Pool, orgId: string): Promise<{ name: string; slug: string | null }> {
  const { rows } = await pool.query<{ name: string; slug: string }>(`SELECT name, slug FROM "organization" WHERE id = $1`, [orgId]);
  return rows[0] ?? { name: "this app", slug: null };
}

/** The app's claims for the person, or a refusal when they are not (or no longer) a member. */
async function appClaims(pool: pg.Pool, userId: string, orgId: string | null | undefined, refuse: () => never) {
  if (!orgId) refuse();
  const claims = await resolveOrgClaims(pool, userId, orgId);
  if (!claims.org_id) refuse();
  return { ...claims, roles: (claims.role ?? "").split(",").filter(Boolean) };
}

/**
 * Refuses a signed-in non-member before the provider issues a code. It runs on every entry
 * into /oauth2/authorize: the browser's own request, the resumption right after sign-in and
 * the one after consent (the provider re-enters authorize through the hook pipeline). Without
 * a session it does nothing: the provider sends the browser to sign in first.
 */
function membershipGate(pool: pg.Pool, issuer: string): BetterAuthPlugin {
  return {
    id: "authplane-oidc-membership",
    hooks: {
      before: [
        {
          // The provider's own hook hands any truthy `oauth_query` (on every endpoint) to its
          // signature check, which throws on a non-string: a 500 for `{"oauth_query":[0]}`. Runs
          // first (this plugin is listed before the provider) and makes it a 400.
          matcher: (ctx) => {
            const body = ctx.body as Record<string, unknown> | undefined;
            return typeof body === "object" && body !== null && body.oauth_query !== undefined && typeof body.oauth_query !== "string";
          },
          handler: createAuthMiddleware(async () => {
            throw new APIError("BAD_REQUEST", { error: "invalid_request", error_description: "oauth_query must be a string", message: "oauth_query must be a string" });
          }),
        },
        {
          matcher: (ctx) => ctx.path === "/oauth2/authorize",
          handler: createAuthMiddleware(async (ctx) => {
            // Same parameter source as the provider: a POSTed form on the browser's own request,
            // the query on the internal re-entries (which carry `authorizeSettings`).
            const fromBody = ctx.method === "POST" && !(ctx as { authorizeSettings?: unknown }).authorizeSettings;
            const params = ((fromBody ? ctx.body : ctx.query) ?? {}) as Record<string, unknown>;
            const clientId = typeof params.client_id === "string" ? params.client_id : undefined;
            if (!clientId) return;
            const client = await clientById(pool, clientId);
            // Unknown, unowned or disabled clients are the provider's to refuse, with its own errors.
            if (!client?.referenceId || client.disabled) return;
            const session = ctx.context.session ?? (await getSessionFromCtx(ctx));
            if (!session) return;
            const member = await pool.query(`SELECT 1 FROM "member" WHERE "userId" = $1 AND "organizationId" = $2`, [session.user.id, client.referenceId]);
            if (member.rowCount) return;

            const app = await appOf(pool, client.referenceId);
            const description = `${session.user.email} is not a member of ${app.name}; ask its administrator for access`;
            const redirectUri = typeof params.redirect_uri === "string" ? params.redirect_uri : undefined;
            // Only an exactly registered redirect URI may receive the error (RFC 6749 §4.1.2.1);
            // anything else gets the provider's error page on the auth domain.
            let target: string;
            if (redirectUri && isRegisteredRedirect(client.redirectUris, redirectUri)) {
              const url = new URL(redirectUri);
              url.searchParams.set("error", "access_denied");
              url.searchParams.set("error_description", description);
              if (typeof params.state === "string") url.searchParams.set("state", params.state);
              url.searchParams.set("iss", issuer);
              target = url.toString();
            } else {
              const url = new URL(`${ctx.context.baseURL}/error`);
              url.searchParams.set("error", "access_denied");
              url.searchParams.set("error_description", description);
              target = url.toString();
            }
            await recordAudit(pool, {
              action: "oidc.authorize",
              actor: session.user.id,
              subject: session.user.email.toLowerCase(),
              app: app.slug,
              ip: ctx.request?.headers.get(CLIENT_IP_HEADER) ?? null,
              outcome: "blocked",
              detail: { client_id: clientId, reason: "not_a_member" },
            });
            // A fetch from the sign-in page follows `url` itself; a navigation gets a 302.
            const fromFetch = ctx.request?.headers.get("sec-fetch-mode") === "cors" || ctx.headers?.get("accept")?.includes("application/json");
            if (fromFetch) return ctx.json({ redirect: true, url: target });
            throw ctx.redirect(target);
          }),
        },
      ],
      after: [
        {
          // RFC 7636 §4.6: a verifier that does not match the code's challenge is `invalid_grant`
          // (400); the plugin answers `invalid_request` (401). Same refusal, the code a relying
          // party expects. (A missing verifier stays `invalid_request`: a missing parameter.)
          matcher: (ctx) => ctx.path === "/oauth2/token",
          handler: createAuthMiddleware(async (ctx) => {
            const returned = ctx.context.returned;
            if (!(returned instanceof APIError)) return;
            const body = returned.body as { error?: string; error_description?: string } | undefined;
            if (body?.error === "invalid_request" && body.error_description === "code verification failed") {
              throw new APIError("BAD_REQUEST", { error: "invalid_grant", error_description: body.error_description });
            }
          }),
        },
      ],
    },
  };
}

export interface OidcProviderOptions {
  pool: pg.Pool;
  /** The issuer (the JWT plugin's): the service URL, the custom domain when one is set. */
  issuer: string;
}

/** The plugins that make the service an OpenID Provider; spread into Better Auth's list after jwt(). */
export function oidcProviderPlugins({ pool, issuer }: OidcProviderOptions) {
  const refuseGrant = (): never => {
    throw new APIError("BAD_REQUEST", { error: "invalid_grant", error_description: "the user is not a member of this client's app" });
  };
  const refuseToken = (): never => {
    throw new APIError(
      "UNAUTHORIZED",
      { error: "invalid_token", error_description: "the user is not a member of this client's app" },
      // RFC 6750 §3: a resource refusing a bearer token says why in the challenge.
      { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="the user is not a member of this client\'s app"' },
    );
  };
  const provider = oauthProvider({
    loginPage: OIDC_SIGN_IN_PATH,
    consentPage: OIDC_CONSENT_PATH,
    scopes: ["openid", "profile", "email", "offline_access"],
    // Clients are data: no registration over HTTP, and no client CRUD for signed-in users
    // (the plugin's default lets any session create clients).
    allowDynamicClientRegistration: false,
    allowUnauthenticatedClientRegistration: false,
    clientPrivileges: () => false,
    // No machine-to-machine grant: every token here stands for a person in an app.
    grantTypes: ["authorization_code", "refresh_token"],
    codeExpiresIn: OIDC_CODE_TTL_SECONDS,
    accessTokenExpiresIn: JWT_TTL_SECONDS,
    idTokenExpiresIn: 3600,
    refreshTokenExpiresIn: 30 * 24 * 3600,
    // A rotated refresh token presented again is a replay, never a retry.
    refreshTokenReuseInterval: 0,
    storeClientSecret: { hash: async (secret: string) => hashClientSecret(secret) },
    storeTokens: "hashed",
    rateLimit: OIDC_RATE_LIMITS,
    advertisedMetadata: {
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "sid", "scope", "azp", "auth_time", "nonce", "name", "email", "email_verified", "picture", ...OIDC_APP_CLAIMS],
    },
    // The plugin keeps profile claims to userinfo; many tools read them from the ID token only.
    customIdTokenClaims: ({ user, scopes }) => ({
      ...(scopes.includes("email") ? { email: user.email, email_verified: user.emailVerified } : {}),
      ...(scopes.includes("profile") ? { name: user.name } : {}),
    }),
    extensions: [
      {
        claims: {
          // The client's app decides the claims: role(s) and permissions there, nothing of other apps.
          idToken: async ({ user, client }) => (user ? appClaims(pool, user.id, client.referenceId, refuseGrant) : {}),
          userInfo: async ({ user, client }) => appClaims(pool, user.id, client?.referenceId, refuseToken),
        },
      },
    ],
  });
  // A tuple, so the provider's endpoints stay typed on `auth.api`; the gate first, so its input
  // check runs before the provider's hooks.
  return [membershipGate(pool, issuer), provider] as const;
}
