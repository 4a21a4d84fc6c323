/**
 * Which client a request is from, for rate limits and session records. Better Auth reads one
 * header; this decides what goes in it. X-Forwarded-For is never believed as such: anyone who
 * reaches the service directly can write it, rotate it to dodge a limit, or write a victim's
 * address to spend the victim's budget. Two sources are trusted instead:
 *
 *   an app proxy that proves itself:  the browser address it signed (proxy-signature.ts)
 *   otherwise:                        the transport peer, as the runtime adapter saw it
 *                                     (API Gateway's `sourceIp` in the Lambda event, the
 *                                     socket's address on the node server), or, when that
 *                                     peer is one of our TRUSTED_FORWARDERS (a load balancer
 *                                     in front of the node server), the X-Forwarded-For
 *                                     entry it appended
 */
import { BlockList, isIP } from "node:net";
import { PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER } from "../proxy/signature.js";
import { trustedForwarding, type ForwardingPolicy } from "./proxy-signature.js";

/** The single-value header Better Auth is told to read (advanced.ipAddress.ipAddressHeaders). */
export const CLIENT_IP_HEADER = "x-authplane-client-ip";
/** Set by the runtime adapters from the socket / API Gateway's sourceIp; never trusted from outside. */
export const SOURCE_IP_HEADER = "x-authplane-source-ip";

/** Forwarding headers Better Auth would read on its own; dropped unless a proxy signed them. */
const FORWARDING_HEADERS = ["x-forwarded-host", "x-forwarded-proto", "x-forwarded-for", "x-real-ip", "forwarded", PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER];

const forwarderLists = new WeakMap<readonly string[], BlockList>();

function forwarders(list: readonly string[]): BlockList {
  let blocks = forwarderLists.get(list);
  if (!blocks) {
    blocks = new BlockList();
    for (const entry of list) {
      const [address, prefix] = entry.split("/");
      const type = isIP(address!) === 6 ? "ipv6" : "ipv4";
      if (prefix) blocks.addSubnet(address!, Number(prefix), type);
      else blocks.addAddress(address!, type);
    }
    forwarderLists.set(list, blocks);
  }
  return blocks;
}

export function clientIp(headers: Headers, policy: ForwardingPolicy): string | null {
  const signed = trustedForwarding(headers, policy)?.client;
  if (signed) return signed.replace(/^::ffff:/, "");
  const source = headers.get(SOURCE_IP_HEADER);
  if (!source || isIP(source) === 0) return null;
  // Our own load balancer in front of the node server: the entry it appended is the client.
  if (policy.trustedForwarders?.length && forwarders(policy.trustedForwarders).check(source, isIP(source) === 6 ? "ipv6" : "ipv4")) {
    const last = headers.get("x-forwarded-for")?.split(",").pop()?.trim().replace(/^::ffff:/, "");
    if (last && isIP(last) !== 0) return last;
  }
  return source;
}

/**
 * The request Better Auth sees, in one copy: the client-IP header is ours alone (any inbound
 * value is replaced) and forwarding headers survive only when a proxy proved them.
 */
export function withClientIp(req: Request, policy: ForwardingPolicy): Request {
  const headers = new Headers(req.headers);
  headers.delete(CLIENT_IP_HEADER);
  if (!trustedForwarding(req.headers, policy)) for (const name of FORWARDING_HEADERS) headers.delete(name);
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
