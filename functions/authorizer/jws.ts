/**
 * Strict parsing of a compact JWS (header.payload.signature). Hand-written instead of jose's
 * `decodeProtectedHeader`/`decodeJwt` because the fast path needs the raw pieces (signing input and
 * signature bytes) for node:crypto, and because Buffer's base64url decoder is lenient: every segment
 * must be the canonical base64url spelling of its bytes.
 */
import { DENY, Denied } from "./deny-codes.js";

export interface ParsedJws {
  /** The encoded header, as it appears in the token. */
  headerPart: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** ASCII bytes of `header.payload`, what the signature covers. */
  signingInput: Buffer;
  signature: Buffer;
}

function decodeSegment(segment: string): Buffer {
  const bytes = Buffer.from(segment, "base64url");
  // Buffer's decoder skips characters outside the alphabet, takes "+" and "/" as well, and ignores
  // non-zero unused bits at the end. Re-encoding and comparing accepts exactly the canonical
  // base64url string (so no second spelling of the same signature is a "new" token), and costs
  // less than a regular expression over the segment.
  if (bytes.toString("base64url") !== segment) throw new Denied(DENY.base64url);
  return bytes;
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
  const signature = decodeSegment(signaturePart);
  return { headerPart, header, payload, signingInput: Buffer.from(token.slice(0, second), "latin1"), signature };
}
