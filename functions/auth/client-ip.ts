/**
 * Which client a request is from, for rate limits and session records. Better Auth reads one
 * header; this decides what goes in it, because X-Forwarded-For arrives as a chain whose left
 * part anyone can write:
 *
 *   direct (native app, SPA):  "<anything the client sent>, <client>"           ← edge appends
 *   through an app's proxy:    "<anything>, <browser>, <app server>"            ← proxy, then edge
 *
 * The rightmost entry is appended by our own edge (API Gateway, the load balancer) and cannot be
 * forged. Through an app proxy (X-Forwarded-Host, honoured only with TRUST_PROXY_HEADERS) the
 * entry before it is the browser, as the proxy saw it. Without any chain (a bare node server)
 * the socket's address is used.
 */
import { isIP } from "node:net";

/** The single-value header Better Auth is told to read (advanced.ipAddress.ipAddressHeaders). */
export const CLIENT_IP_HEADER = "x-authplane-client-ip";
/** Set by the runtime adapters from the socket / API Gateway's sourceIp; never trusted from outside. */
export const SOURCE_IP_HEADER = "x-authplane-source-ip";

export function clientIp(headers: Headers, { trustProxyHeaders }: { trustProxyHeaders: boolean }): string | null {
  const chain = (headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => isIP(s) !== 0);
  const viaAppProxy = trustProxyHeaders && headers.has("x-forwarded-host");
  const pick = viaAppProxy && chain.length >= 2 ? chain[chain.length - 2] : chain[chain.length - 1];
  if (pick) return pick;
  const source = headers.get(SOURCE_IP_HEADER);
  return source && isIP(source) !== 0 ? source : null;
}

/** A copy of the request whose client-IP header is ours alone (any inbound value is replaced). */
export function withClientIp(req: Request, policy: { trustProxyHeaders: boolean }): Request {
  const headers = new Headers(req.headers);
  headers.delete(CLIENT_IP_HEADER);
  const ip = clientIp(req.headers, policy);
  if (ip) headers.set(CLIENT_IP_HEADER, ip);
  return new Request(req, { headers });
}

/** Adapters: record the transport-level peer address, replacing anything a client sent under that name. */
export function withSourceIp(req: Request, ip: string | undefined): Request {
  const headers = new Headers(req.headers);
  headers.delete(SOURCE_IP_HEADER);
  if (ip) headers.set(SOURCE_IP_HEADER, ip.replace(/^::ffff:/, ""));
  return new Request(req, { headers });
}
