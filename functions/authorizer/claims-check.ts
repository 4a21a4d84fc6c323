/**
 * The JWT claims checks, with jose's semantics (validateClaimsSet in jose/dist/webapi/lib/
 * jwt_claims_set.js: whole seconds, `exp <= now - tolerance` is expired, `nbf > now + tolerance` is
 * early, `iat` more than the tolerance in the future is refused), plus what authplane requires on
 * top: exp, iat and sub present, a bounded lifetime, and well-typed authplane claims. Re-stated here
 * because jose does not export the checks apart from its WebCrypto-based `jwtVerify`.
 */
import { CLAIM, type AuthplaneClaims, type Permissions } from "../claims.js";
import { DENY, Denied, type DenyCode } from "./deny-codes.js";

export interface ClaimsPolicy {
  issuer: string;
  audiences: readonly string[];
  clockToleranceSeconds: number;
  maxLifetimeSeconds: number;
}

/** Verified claims, as the handler hands them on. */
export interface VerifiedClaims extends AuthplaneClaims {
  /** Expiry, in seconds since the epoch. */
  exp: number;
  /** Issue time, in seconds since the epoch (revocations compare against it). */
  iat: number;
}

function numericDate(payload: Record<string, unknown>, claim: string, missing: DenyCode | undefined): number | undefined {
  const value = payload[claim];
  if (value === undefined) {
    if (missing) throw new Denied(missing, claim);
    return undefined;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Denied(DENY.claimInvalid, claim);
  return value;
}

function optionalString(payload: Record<string, unknown>, claim: string): string | null {
  const value = payload[claim];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new Denied(DENY.claimInvalid, claim);
  return value;
}

/** Resource and action names travel space-separated and colon-joined: neither may hide either. */
const PERMISSION_NAME = /^[^\s:]+$/;

function permissions(value: unknown): Permissions {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new Denied(DENY.claimInvalid, CLAIM.permissions);
  // Checked in place rather than copied: the object is this token's own, fresh from JSON.parse
  // (so "__proto__" is an own key like any other, and look-ups use Object.hasOwn).
  for (const resource in value) {
    const actions = (value as Record<string, unknown>)[resource];
    if (!PERMISSION_NAME.test(resource) || !Array.isArray(actions)) throw new Denied(DENY.claimInvalid, CLAIM.permissions);
    for (const action of actions) {
      if (typeof action !== "string" || !PERMISSION_NAME.test(action)) throw new Denied(DENY.claimInvalid, CLAIM.permissions);
    }
  }
  return value as Permissions;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === "string") return accepted.includes(aud);
  if (Array.isArray(aud)) return aud.some((a) => typeof a === "string" && accepted.includes(a));
  return false;
}

/** Checks a signature-verified payload at time `now` (seconds); throws Denied on the first failure. */
export function checkClaims(payload: Record<string, unknown>, policy: ClaimsPolicy, now: number): VerifiedClaims {
  const tolerance = policy.clockToleranceSeconds;
  const exp = numericDate(payload, "exp", DENY.expMissing)!;
  const iat = numericDate(payload, "iat", DENY.iatMissing)!;
  const nbf = numericDate(payload, "nbf", undefined);
  if (payload.iss !== policy.issuer) throw new Denied(DENY.issuer, "iss");
  if (!audienceMatches(payload.aud, policy.audiences)) throw new Denied(DENY.audience, "aud");
  if (nbf !== undefined && nbf > now + tolerance) throw new Denied(DENY.notYetValid, "nbf");
  if (exp <= now - tolerance) throw new Denied(DENY.expired, "exp");
  if (iat > now + tolerance) throw new Denied(DENY.issuedInFuture, "iat");
  if (exp - iat > policy.maxLifetimeSeconds) throw new Denied(DENY.lifetime, "exp");
  // Tokens are only as old as their lifetime allows (jose's maxTokenAge).
  if (now - iat - tolerance > policy.maxLifetimeSeconds) throw new Denied(DENY.expired, "iat");
  const sub = payload[CLAIM.sub];
  if (sub === undefined || sub === null || sub === "") throw new Denied(DENY.subMissing, CLAIM.sub);
  if (typeof sub !== "string") throw new Denied(DENY.claimInvalid, CLAIM.sub);
  const sid = optionalString(payload, CLAIM.sid);
  return {
    sub,
    sid: sid ?? undefined,
    email: optionalString(payload, CLAIM.email) ?? "",
    org_id: optionalString(payload, CLAIM.orgId),
    org_slug: optionalString(payload, CLAIM.orgSlug),
    role: optionalString(payload, CLAIM.role),
    permissions: permissions(payload[CLAIM.permissions]),
    exp,
    iat,
  };
}
