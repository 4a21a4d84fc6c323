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
  /** Load balancers whose X-Forwarded-For entry names the client (addresses or CIDRs). */
  trustedForwarders?: readonly string[];
}

// Several guards ask about the same request; one HMAC per request is enough. Keyed by the
// Headers object (never mutated in place on the way in) and the secret list it was checked with.
const verified = new WeakMap<Headers, { secrets: readonly string[]; facts: ForwardedFacts | null }>();

export function trustedForwarding(headers: Headers, policy: ForwardingPolicy): ForwardedFacts | null {
  const secrets = policy.proxySecrets;
  if (!policy.trustProxyHeaders || !secrets?.length) return null;
  const memo = verified.get(headers);
  if (memo?.secrets === secrets) return memo.facts;
  const facts = verifyForwarded(headers, secrets);
  verified.set(headers, { secrets, facts });
  return facts;
}
