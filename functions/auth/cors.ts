/**
 * CORS for pattern 2: an SPA on a sibling subdomain (app.example.org) calling the auth service
 * (auth.example.org) directly with `credentials: "include"`. Only listed origins get a grant,
 * echoed back one at a time (never `*`, which browsers refuse with credentials anyway).
 */
import { cors } from "hono/cors";
import type { MiddlewareHandler } from "hono";

export interface SpaCorsOptions {
  /** Exact origins (scheme://host[:port]) allowed to call with credentials, e.g. TRUSTED_ORIGINS. */
  origins: string[];
  /**
   * How long a browser may cache a preflight, in seconds (Chromium caps this at 7200).
   * @default 600
   */
  maxAge?: number;
}

/** What a Better Auth browser client sends: JSON bodies on GET/POST. */
export const SPA_CORS_METHODS = ["GET", "POST", "OPTIONS"];
export const SPA_CORS_HEADERS = ["Content-Type", "Authorization"];

export function spaCors({ origins, maxAge = 600 }: SpaCorsOptions): MiddlewareHandler {
  const allowed = new Set(origins.map((o) => new URL(o).origin));
  const preflight = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    credentials: true,
    allowMethods: SPA_CORS_METHODS,
    allowHeaders: SPA_CORS_HEADERS,
    maxAge,
  });
  // Other requests get the same headers hono/cors would give them, but on the final response
  // after the handler: hono/cors sets them before `next()`, which makes Hono create a response
  // early and re-wrap the handler's (its body then streams instead of going out in one write),
  // a tenth of a session read's CPU (issue 12's profile).
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return preflight(c, next);
    await next();
    const origin = c.req.header("origin") || "";
    let headers = c.res.headers;
    try {
      headers.set("Access-Control-Allow-Credentials", "true");
    } catch {
      c.res = new Response(c.res.body, c.res); // immutable headers (a fetched response): copy once
      headers = c.res.headers;
      headers.set("Access-Control-Allow-Credentials", "true");
    }
    if (allowed.has(origin)) headers.set("Access-Control-Allow-Origin", origin);
    headers.append("Vary", "Origin");
  };
}
