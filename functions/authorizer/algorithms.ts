/**
 * Which signature algorithms the authorizer speaks, and how each one checks a signature with
 * node:crypto directly. A public JWK is imported once into a KeyObject and bound, per allowed
 * algorithm it is fit for, to a ready-made check; the hot path then costs one `crypto.verify`.
 * Symmetric (HS*) algorithms are absent on purpose: a verifier holding only public keys must never
 * accept a MAC keyed with one (the classic alg-confusion attack).
 */
import { constants, createPublicKey, verify, type KeyObject } from "node:crypto";

export const SUPPORTED_ALGORITHMS = [
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
] as const;
export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** Returns true when `signature` over `data` is valid. */
export type SignatureCheck = (data: Buffer, signature: Buffer) => boolean;

/** RSA keys shorter than this are refused, as jose refuses them. */
const MIN_RSA_BITS = 2048;

const EC_CURVES: Record<string, { curve: string; bytes: number }> = {
  ES256: { curve: "prime256v1", bytes: 64 },
  ES384: { curve: "secp384r1", bytes: 96 },
  ES512: { curve: "secp521r1", bytes: 132 },
};

function digestOf(alg: string): string {
  return `sha${alg.slice(2)}`;
}

/** The check for `alg` with `key`, or undefined when the key is not of the kind `alg` needs. */
function checkFor(alg: JwsAlgorithm, key: KeyObject): SignatureCheck | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case "RS256":
    case "RS384":
    case "RS512": {
      if (type !== "rsa" || (details.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
      const digest = digestOf(alg);
      return (data, sig) => verify(digest, data, key, sig);
    }
    case "PS256":
    case "PS384":
    case "PS512": {
      if (type !== "rsa" || (details.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
      const digest = digestOf(alg);
      const opts = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
      return (data, sig) => verify(digest, data, opts, sig);
    }
    case "ES256":
    case "ES384":
    case "ES512": {
      const { curve, bytes } = EC_CURVES[alg]!;
      if (type !== "ec" || details.namedCurve !== curve) return undefined;
      const digest = digestOf(alg);
      const opts = { key, dsaEncoding: "ieee-p1363" as const };
      // JWS fixes the raw r||s length; anything else is not a signature of this curve.
      return (data, sig) => sig.length === bytes && verify(digest, data, opts, sig);
    }
    case "EdDSA":
    case "Ed25519":
      if (type !== "ed25519") return undefined;
      return (data, sig) => verify(null, data, key, sig);
  }
}

/** A key from the JWKS, ready to verify with. */
export interface VerificationKey {
  kid: string;
  /** One check per allowed algorithm this key is fit for. */
  checks: Partial<Record<JwsAlgorithm, SignatureCheck>>;
}

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["kty", "n", "e"],
  EC: ["kty", "crv", "x", "y"],
  OKP: ["kty", "crv", "x"],
};

/**
 * Imports one JWK, or returns undefined when it is unusable here: no kid, not a signing key, a
 * symmetric or unknown key type, malformed, or fit for none of the allowed algorithms. Only the
 * public members are handed to OpenSSL, so a JWKS that leaks private parts still yields public keys.
 */
export function importVerificationKey(jwk: unknown, allowed: readonly JwsAlgorithm[]): VerificationKey | undefined {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return undefined;
  const j = jwk as Record<string, unknown>;
  if (typeof j.kid !== "string" || j.kid === "") return undefined;
  if (j.use !== undefined && j.use !== "sig") return undefined;
  if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes("verify"))) return undefined;
  const members = PUBLIC_MEMBERS[j.kty as string];
  if (!members) return undefined;
  const publicJwk: Record<string, unknown> = {};
  for (const m of members) {
    if (typeof j[m] !== "string") return undefined;
    publicJwk[m] = j[m];
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk as never, format: "jwk" });
  } catch {
    return undefined;
  }
  const checks: VerificationKey["checks"] = {};
  let usable = false;
  for (const alg of allowed) {
    // A JWK that names its algorithm is bound to it (RFC 7517 §4.4).
    if (j.alg !== undefined && j.alg !== alg) continue;
    const check = checkFor(alg, key);
    if (check) {
      checks[alg] = check;
      usable = true;
    }
  }
  return usable ? { kid: j.kid, checks } : undefined;
}
