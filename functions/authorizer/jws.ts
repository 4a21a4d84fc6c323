/**
 * Strict parsing of a compact JWS (header.payload.signature). Hand-written instead of jose's
 * `decodeProtectedHeader`/`decodeJwt` because the fast path needs the raw pieces (signing input and
 * signature bytes) for node:crypto, and because Buffer's base64url decoder is lenient (it skips
 * characters outside the alphabet, takes "+" and "/", ignores non-zero unused bits).
 *
 * Where strictness is enforced, and why there: the signature covers the exact characters of
 * `header.payload` (UTF-8 encoded, so no non-ASCII character can pass for an ASCII one), hence any
 * other spelling of those two segments fails the signature check; they are decoded leniently and
 * re-checked only on the way to a deny, to name the right reason. The signature segment is not
 * covered by itself, so it must be canonical up front, or "+"/"-" twins of a valid token would pass.
 */
import { DENY, Denied } from "./deny-codes.js";

export interface ParsedJws {
  /** The encoded header, as it appears in the token. */
  headerPart: string;
  payloadPart: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** Bytes of `header.payload`, what the signature covers. */
  signingInput: Buffer;
  signature: Buffer;
}

/** True when `segment` is the one canonical base64url spelling of its bytes. */
export function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, "base64url").toString("base64url") === segment;
}

function jsonObject(segment: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Denied(isCanonicalBase64url(segment) ? DENY.json : DENY.base64url, field);
  }
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes `token`; throws Denied on anything that is not a well-formed compact JWS.
 * `knownHeaders` holds headers already parsed (and proven by a valid signature): the auth service
 * signs every token with the same few headers, so their JSON need not be parsed again.
 */
export function parseCompactJws(
  token: string,
  maxLength: number,
  knownHeaders?: ReadonlyMap<string, Record<string, unknown>>,
): ParsedJws {
  if (token.length > maxLength) throw new Denied(DENY.tooLarge);
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) throw new Denied(DENY.segments);
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  const signaturePart = token.slice(second + 1);
  const header = knownHeaders?.get(headerPart) ?? jsonObject(headerPart, "header");
  const payload = jsonObject(payloadPart, "payload");
  const signature = Buffer.from(signaturePart, "base64url");
  if (signature.toString("base64url") !== signaturePart) throw new Denied(DENY.base64url, "signature");
  return { headerPart, payloadPart, header, payload, signingInput: Buffer.from(token.slice(0, second), "utf8"), signature };
}

/** The reason a signature check failed: a mis-encoded header or payload, or the signature itself. */
export function signatureFailure(jws: ParsedJws): Denied {
  if (!isCanonicalBase64url(jws.headerPart)) return new Denied(DENY.base64url, "header");
  if (!isCanonicalBase64url(jws.payloadPart)) return new Denied(DENY.base64url, "payload");
  return new Denied(DENY.signature);
}
