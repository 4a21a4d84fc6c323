/**
 * Strict parsing of a compact JWS (header.payload.signature). Hand-written instead of jose's
 * `decodeProtectedHeader`/`decodeJwt` because the fast path needs the raw pieces (signing input and
 * signature bytes) for node:crypto, and because Buffer's base64url decoder is lenient (it skips
 * characters outside the alphabet, stops at "=", takes "+" and "/", ignores non-zero unused bits).
 *
 * Every segment must be unpadded base64url (RFC 7515 §2, §3.1): a "=" or any character outside
 * [A-Za-z0-9_-] makes the token malformed before any key is looked up. That is checked without a
 * per-character pass in JavaScript: the decoder's output length gives away every character it
 * skipped or stopped at, and the two it mis-takes ("+", "/") are looked for once over the token.
 *
 * Non-zero unused bits are the one spelling left over. The signature covers the exact characters
 * of `header.payload`, so such twins of those two segments fail the signature check and are named
 * only on the way to a deny; the signature segment is not covered by itself, so its last
 * character is checked up front, or "B"/"A" twins of a valid token would pass.
 */
import { isAscii } from "node:buffer";
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

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** True when `segment` is the one canonical base64url spelling of its bytes. */
export function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, "base64url").toString("base64url") === segment;
}

/**
 * The bytes of `segment` when it is unpadded base64url over [A-Za-z0-9_-] (the caller has ruled
 * out "+" and "/"), else undefined. Any other character is skipped by Node's decoder and "=" ends
 * it, so either leaves fewer than the ⌊3n/4⌋ bytes n characters must yield; n ≡ 1 (mod 4) is
 * never a whole number of bytes.
 */
export function decodeBase64urlStrict(segment: string): Buffer | undefined {
  const n = segment.length;
  if ((n & 3) === 1) return undefined;
  const bytes = Buffer.from(segment, "base64url");
  return bytes.length === (n * 3) >>> 2 ? bytes : undefined;
}

/** True when the last character of a strict base64url segment carries no stray unused bits. */
function noStrayBits(segment: string): boolean {
  const rest = segment.length & 3;
  if (rest === 0) return true;
  const last = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Which segment holds character `index`, for the deny's field. */
function segmentAt(index: number, first: number, second: number): string {
  return index < first ? "header" : index < second ? "payload" : "signature";
}

function jsonObject(segment: string, field: string): Record<string, unknown> {
  const bytes = decodeBase64urlStrict(segment);
  if (!bytes) throw new Denied(DENY.base64url, field);
  let value: unknown;
  try {
    // Tokens are ASCII JSON in practice; a one-byte string skips UTF-8 decoding (same text).
    value = JSON.parse(isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8"));
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Denied(DENY.json, field);
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes `token`; throws Denied on anything that is not a well-formed compact JWS.
 * `knownHeaders` holds headers already parsed (and proven by a valid signature, so also strict
 * base64url): the auth service signs every token with the same few headers, so their JSON need
 * not be parsed again.
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
  const plus = token.indexOf("+");
  const slash = token.indexOf("/");
  if (plus >= 0 || slash >= 0) {
    const at = plus < 0 ? slash : slash < 0 ? plus : Math.min(plus, slash);
    throw new Denied(DENY.base64url, segmentAt(at, first, second));
  }
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  const signaturePart = token.slice(second + 1);
  const header = knownHeaders?.get(headerPart) ?? jsonObject(headerPart, "header");
  const payload = jsonObject(payloadPart, "payload");
  const signature = decodeBase64urlStrict(signaturePart);
  if (!signature || !noStrayBits(signaturePart)) throw new Denied(DENY.base64url, "signature");
  // Header and payload are ASCII by now (strict base64url), so character and byte offsets agree;
  // encoding the flat token once is cheaper than encoding a slice of it.
  return { headerPart, payloadPart, header, payload, signingInput: Buffer.from(token, "latin1").subarray(0, second), signature };
}

/** The reason a signature check failed: a mis-encoded header or payload, or the signature itself. */
export function signatureFailure(jws: ParsedJws): Denied {
  if (!isCanonicalBase64url(jws.headerPart)) return new Denied(DENY.base64url, "header");
  if (!isCanonicalBase64url(jws.payloadPart)) return new Denied(DENY.base64url, "payload");
  return new Denied(DENY.signature);
}
