/**
 * The contract between the auth service (which signs JWTs) and the authorizer (which checks
 * them and hands the claims to backends). Both import this file and nothing else of each other,
 * so the authorizer bundle stays tiny.
 */

/** Signing algorithm. RS256: verifying RSA is several times cheaper than EdDSA in node:crypto,
 * and every request pays a verify while only a sign-in pays a sign. */
export const JWT_ALG = "RS256" as const;

/** Token lifetime in seconds (15 minutes): revocation = kill the session, wait ≤ this. */
export const JWT_TTL_SECONDS = 15 * 60;

/** Path of the public key set on the auth service. */
export const JWKS_PATH = "/api/auth/jwks";

/** resource → allowed actions, as Better Auth access-control statements. */
export type Permissions = Record<string, string[]>;

/** Claims authplane puts in every access token, beyond iss/aud/exp/iat/sub. */
export interface AuthplaneClaims {
  sub: string;
  email: string;
  /** Active organization (= app) id, or null when none is active. */
  org_id: string | null;
  org_slug: string | null;
  /** Role(s) of the user in the active org, comma-joined as Better Auth stores them. */
  role: string | null;
  permissions: Permissions;
  /**
   * The Better Auth session the token was minted from; the revocation feed lists ended
   * sessions by this id. Optional only because tokens minted before it existed lack it.
   */
  sid?: string;
}

/** Names of the claim keys, so neither side spells them twice. */
export const CLAIM = {
  sub: "sub",
  email: "email",
  orgId: "org_id",
  orgSlug: "org_slug",
  role: "role",
  permissions: "permissions",
  sid: "sid",
} as const;

/**
 * API Gateway authorizer context takes only strings, numbers and booleans: permissions travel
 * as `resource:action` pairs joined by spaces (e.g. "candidate:read candidate:write").
 */
export function flattenPermissions(permissions: Permissions): string {
  const out: string[] = [];
  for (const [resource, actions] of Object.entries(permissions)) {
    for (const action of actions) out.push(`${resource}:${action}`);
  }
  return out.sort().join(" ");
}
