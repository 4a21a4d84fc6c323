/**
 * Where a request really comes from. Behind the app proxies (pattern 1) the browser talks to
 * app-one.example.org, which forwards to the auth service with X-Forwarded-Host/Proto; those
 * headers count only when a trusted proxy signed them (proxy-signature.ts), so a direct caller
 * cannot claim to be an app by adding a header.
 */
import { trustedForwarding, type ForwardingPolicy } from "./proxy-signature.js";

export type { ForwardingPolicy } from "./proxy-signature.js";

const HOST = /^[a-z0-9.-]+(:\d{1,5})?$/i;

/** Host (with port) the request was addressed to, after a proven proxy; null if malformed. */
export function effectiveHost(req: Request, policy: ForwardingPolicy): string | null {
  const forwarded = trustedForwarding(req.headers, policy)?.host.split(",")[0]?.trim();
  const host = forwarded || req.headers.get("host") || new URL(req.url).host;
  return HOST.test(host) ? host.toLowerCase() : null;
}

function effectiveProto(req: Request, policy: ForwardingPolicy): string {
  const forwarded = trustedForwarding(req.headers, policy)?.proto;
  if (forwarded === "http" || forwarded === "https") return forwarded;
  return new URL(req.url).protocol.slice(0, -1);
}

/**
 * The origin a browser ceremony runs on: the Origin header when the browser sent one (it always
 * does on POST), else the (proven-)forwarded or own scheme://host. Null when unparseable.
 */
export function requestOrigin(req: Request, policy: ForwardingPolicy): string | null {
  const header = req.headers.get("origin");
  if (header) return URL.canParse(header) ? new URL(header).origin : null;
  const host = effectiveHost(req, policy);
  return host ? `${effectiveProto(req, policy)}://${host}` : null;
}

/** True when `host` is `rpId` itself or one of its subdomains. */
export function hostWithin(host: string, rpIds: readonly string[]): boolean {
  return rpIds.some((rp) => host === rp || host.endsWith(`.${rp}`));
}
