/**
 * Checks that run before Better Auth sees a request, so refusals are fast, explicit 4xx JSON
 * answers instead of whatever a deeper layer would make of hostile input.
 */
import type { MiddlewareHandler } from "hono";
import type { AuthConfig } from "./config.js";
import { effectiveHost, hostWithin, requestOrigin } from "./request-origin.js";

export function jsonError(status: 400 | 403 | 413 | 421 | 429, error: string, message: string): Response {
  return new Response(JSON.stringify({ error, message }), { status, headers: { "content-type": "application/json" } });
}

/** Hosts this service answers for: its own and every trusted app's (the proxy pattern). */
export function servedHosts(config: AuthConfig): Set<string> {
  return new Set([config.baseURL, ...config.trustedOrigins].map((o) => new URL(o).host));
}

/** A request addressed to a host we do not serve is misdirected (421), never a 500 deeper in. */
export function hostGuard(config: AuthConfig): MiddlewareHandler {
  const hosts = servedHosts(config);
  return async (c, next) => {
    const host = effectiveHost(c.req.raw, config);
    if (!host || !hosts.has(host)) {
      return jsonError(421, "unknown_host", `this service does not answer for host ${JSON.stringify(host ?? "")}`);
    }
    await next();
  };
}

/**
 * Passkey ceremonies only from allowed origins whose host lies within ALLOWED_RP_IDS (or that
 * RELATED_ORIGINS names, for apps on other registrable domains). The
 * WebAuthn signature binds the origin too, but refusing here keeps challenges from being minted
 * for (and rate budget spent by) pages that could never complete a ceremony.
 */
export function passkeyOriginGuard(config: AuthConfig): MiddlewareHandler {
  const allowed = new Set([config.baseURL, ...config.trustedOrigins].filter((o) => hostWithin(new URL(o).hostname, config.allowedRpIds) || config.relatedOrigins.includes(o)));
  return async (c, next) => {
    const origin = requestOrigin(c.req.raw, config);
    if (!origin || !allowed.has(origin)) {
      return jsonError(403, "origin_not_allowed", `passkey requests from ${origin ?? "an unknown origin"} are not allowed`);
    }
    await next();
  };
}
