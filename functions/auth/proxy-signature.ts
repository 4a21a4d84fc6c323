/**
 * Which forwarded facts this service believes for a request: those an app proxy signed
 * (functions/proxy/signature.ts) with a secret we hold, and only with TRUST_PROXY_HEADERS.
 * Without a valid signature X-Forwarded-Host/Proto and the proxy's client address are ignored
 * (and stripped before Better Auth, which would otherwise read them itself).
 */
import { verifyForwarded, type ForwardedFacts } from "../proxy/signature.js";

export interface ForwardingPolicy {
  trustProxyHeaders: boolean;
  /** Secrets app proxies sign with (current first). Empty: no proxy is believed. */
  proxySecrets?: readonly string[];
}

// Several guards ask about the same request; one HMAC per request is enough. Keyed by the
// Headers object, which is never mutated in place on the way in.
const verified = new WeakMap<Headers, ForwardedFacts | null>();

export function trustedForwarding(headers: Headers, policy: ForwardingPolicy): ForwardedFacts | null {
  if (!policy.trustProxyHeaders || !policy.proxySecrets?.length) return null;
  let facts = verified.get(headers);
  if (facts === undefined) {
    facts = verifyForwarded(headers, policy.proxySecrets);
    verified.set(headers, facts);
  }
  return facts;
}
