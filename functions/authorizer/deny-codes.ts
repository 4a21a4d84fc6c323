/**
 * Why a request was denied, as stable codes: logs, dashboards and tests branch on these, never on
 * messages. Where jose has a code for exactly the same condition we use jose's string, so an
 * operator who knows jose reads our logs without a glossary; where jose lumps several conditions
 * under one code (ERR_JWS_INVALID, ERR_JWT_CLAIM_VALIDATION_FAILED) we split it, one code per cause.
 */
export const DENY = {
  // The request
  headerMissing: "ERR_AUTH_HEADER_MISSING",
  headerDuplicate: "ERR_AUTH_HEADER_DUPLICATE",
  schemeNotBearer: "ERR_AUTH_SCHEME",
  schemeCase: "ERR_AUTH_SCHEME_CASE",
  eventShape: "ERR_EVENT_SHAPE",
  // The compact JWS
  tooLarge: "ERR_JWS_TOO_LARGE",
  segments: "ERR_JWS_SEGMENTS",
  base64url: "ERR_JWS_BASE64URL",
  json: "ERR_JWS_JSON",
  crit: "ERR_JWS_CRIT",
  algNotAllowed: "ERR_JOSE_ALG_NOT_ALLOWED",
  kidMissing: "ERR_JWS_KID_MISSING",
  kidInvalid: "ERR_JWS_KID_INVALID",
  noMatchingKey: "ERR_JWKS_NO_MATCHING_KEY",
  keyType: "ERR_JWK_KEY_TYPE",
  signature: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  // The claims
  expired: "ERR_JWT_EXPIRED",
  notYetValid: "ERR_JWT_NBF",
  issuedInFuture: "ERR_JWT_IAT_FUTURE",
  lifetime: "ERR_JWT_LIFETIME",
  issuer: "ERR_JWT_ISS",
  audience: "ERR_JWT_AUD",
  expMissing: "ERR_JWT_EXP_MISSING",
  iatMissing: "ERR_JWT_IAT_MISSING",
  subMissing: "ERR_JWT_SUB_MISSING",
  claimInvalid: "ERR_JWT_CLAIM_INVALID",
  // The backend's attachment (stage variables) and what it asks of the token. Lower-case: these
  // are the contract other parts of authplane (dashboards, alarms, docs) name.
  appNotConfigured: "app_not_configured",
  noApp: "no_app",
  wrongApp: "wrong_app",
  missingPermission: "missing_permission",
  // The revocation feed
  revoked: "revoked",
  revocationsStale: "revocations_stale",
  // The authorizer itself
  config: "ERR_AUTHORIZER_CONFIG",
  internal: "ERR_AUTHORIZER_INTERNAL",
} as const;

export type DenyCode = (typeof DENY)[keyof typeof DENY];

/**
 * Codes that are our fault, not the caller's: one is worth an alarm (modules/monitoring.ts watches
 * their sum as Class=fault). Every other code is Class=client: normal in small numbers.
 */
export const FAULT_CODES: ReadonlySet<string> = new Set([DENY.revocationsStale, DENY.appNotConfigured, DENY.config, DENY.internal]);

/** Thrown inside the authorizer, caught at its edge and turned into a deny; never escapes. */
export class Denied extends Error {
  constructor(
    readonly code: DenyCode,
    /** The claim or header field at fault, when there is one (never its value). */
    readonly field?: string,
  ) {
    super(field ? `${code} (${field})` : code);
    this.name = "Denied";
  }
}
