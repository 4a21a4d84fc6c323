/**
 * How an app proxy proves itself to the auth service. The proxy signs what it forwards (the
 * app's host, the scheme, the browser's address) and a timestamp with HMAC-SHA256 under a
 * secret it shares with the service (Secrets Manager: PROXY_SECRET_ARN). The service believes
 * X-Forwarded-Host/Proto and the client address only with a valid, fresh signature, so a caller
 * that reaches the service directly cannot pose as an app or choose its rate-limit bucket.
 *
 * Signed string (one line each): "authplane-proxy-v1", unix seconds, host, proto, client.
 * A signature is accepted within ±60 s of the service's clock; a replay inside that window
 * buys only what the real proxy already asserted for the same browser.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

export const PROXY_SIGNATURE_HEADER = "x-authplane-proxy-signature";
/** The browser's address as the proxy saw it (X-Forwarded-For stays informational). */
export const PROXY_CLIENT_HEADER = "x-authplane-proxy-client";
export const MAX_SKEW_SECONDS = 60;

export interface ForwardedFacts {
  host: string;
  proto: string;
  /** Empty when the proxy does not know the browser's address. */
  client: string;
}

function mac(secret: string, t: number, f: ForwardedFacts): Buffer {
  return createHmac("sha256", secret).update(`authplane-proxy-v1\n${t}\n${f.host}\n${f.proto}\n${f.client}`).digest();
}

/** The headers a proxy adds: the facts themselves and their signature. */
export function signForwarded(secret: string, facts: ForwardedFacts, now = Date.now()): Record<string, string> {
  const t = Math.floor(now / 1000);
  const headers: Record<string, string> = {
    "x-forwarded-host": facts.host,
    "x-forwarded-proto": facts.proto,
    [PROXY_SIGNATURE_HEADER]: `t=${t},v1=${mac(secret, t, facts).toString("base64url")}`,
  };
  if (facts.client) headers[PROXY_CLIENT_HEADER] = facts.client;
  return headers;
}

/**
 * The forwarded facts when the request carries a valid signature by one of `secrets` (the first
 * is current, the rest still accepted during a rotation); null otherwise.
 */
export function verifyForwarded(headers: Headers, secrets: readonly string[], now = Date.now()): ForwardedFacts | null {
  const sig = headers.get(PROXY_SIGNATURE_HEADER);
  if (!sig || !secrets.length) return null;
  const m = /^t=(\d{1,12}),v1=([A-Za-z0-9_-]{43})$/.exec(sig.trim());
  if (!m) return null;
  const t = Number(m[1]);
  if (Math.abs(now / 1000 - t) > MAX_SKEW_SECONDS) return null;
  const facts: ForwardedFacts = {
    host: headers.get("x-forwarded-host") ?? "",
    proto: headers.get("x-forwarded-proto") ?? "",
    client: headers.get(PROXY_CLIENT_HEADER) ?? "",
  };
  if (!facts.host || (facts.proto !== "https" && facts.proto !== "http")) return null;
  if (facts.client && isIP(facts.client) === 0) return null;
  const given = Buffer.from(m[2]!, "base64url");
  // Every secret is tried (no early exit on the first), so timing says nothing about which one.
  let ok = false;
  for (const secret of secrets) ok = timingSafeEqual(mac(secret, t, facts), given) || ok;
  return ok ? facts : null;
}
