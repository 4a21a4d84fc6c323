/**
 * Strict parsing of a compact JWS (header.payload.signature). Hand-written instead of jose's
 * `decodeProtectedHeader`/`decodeJwt` because the fast path needs the raw pieces (signing input and
 * signature bytes) for node:crypto, and because Buffer's base64url decoder silently skips characters
 * outside the alphabet: every segment is checked against the alphabet before it is decoded.
 */
import { DENY, Denied } from "./deny-codes.js";

export interface ParsedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** ASCII bytes of `header.payload`, what the signature covers. */
  signingInput: Buffer;
  signature: Buffer;
}

/** Empty is let through so that `alg: none` tokens (empty signature) are denied for their alg. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The 6-bit value of a base64url character already known to be in the alphabet. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z
  if (code >= 65) return code - 65; // A-Z
  if (code >= 48) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // - _
}

function decodeSegment(segment: string): Buffer {
  const rest = segment.length % 4;
  // A length of 4n+1 cannot come from any byte string.
  if (!BASE64URL.test(segment) || rest === 1) throw new Denied(DENY.base64url);
  // Only the canonical encoding is accepted: unused low bits of the last character must be zero,
  // otherwise several strings decode to the same signature and a "new" token is an old one.
  if (rest !== 0 && (sextet(segment.charCodeAt(segment.length - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0) {
    throw new Denied(DENY.base64url);
  }
  return Buffer.from(segment, "base64url");
}

function jsonObject(segment: string, field: string): Record<string, unknown> {
  const bytes = decodeSegment(segment);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new Denied(DENY.json, field);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Denied(DENY.json, field);
  return value as Record<string, unknown>;
}

/** Splits and decodes `token`; throws Denied on anything that is not a well-formed compact JWS. */
export function parseCompactJws(token: string, maxLength: number): ParsedJws {
  if (token.length > maxLength) throw new Denied(DENY.tooLarge);
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) throw new Denied(DENY.segments);
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  const signaturePart = token.slice(second + 1);
  const header = jsonObject(headerPart, "header");
  const payload = jsonObject(payloadPart, "payload");
  const signature = decodeSegment(signaturePart);
  return { header, payload, signingInput: Buffer.from(token.slice(0, second), "latin1"), signature };
}
