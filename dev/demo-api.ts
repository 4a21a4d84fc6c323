/**
 * The demo backend of one app, written as a Lambda behind an HTTP API (payload 2.0). It has no
 * auth code on purpose: no token parsing, no key, no membership query. API Gateway ran the shared
 * authorizer before calling it, and what the authorizer vouched for arrives in
 * `requestContext.authorizer.lambda`. It only reads and shows that.
 */
import type { GatewayStage, HttpApiEvent, HttpApiResult } from "./gateway.js";

/** Route key → the permission the authorizer requires (contract 2, `authplane_routes`). */
export function demoRoutes(slug: string): Record<string, string> {
  const resource = permissionResource(slug);
  return { "GET /claims": `${resource}:read`, "POST /notes": `${resource}:write` };
}

/** Access-control statements name resources without dashes: app-one → app_one. */
export function permissionResource(slug: string): string {
  return slug.replace(/-/g, "_");
}

/** base64url without padding, as the authorizer decodes `authplane_routes`. */
export function encodeRoutes(routes: Record<string, string>): string {
  return Buffer.from(JSON.stringify(routes)).toString("base64url");
}

export function demoApiHandler(slug: string): (event: HttpApiEvent) => Promise<HttpApiResult> {
  return async (event) => {
    const claims = event.requestContext.authorizer.lambda;
    const body =
      event.routeKey === "POST /notes"
        ? { ok: true, app: slug, route: event.routeKey, saved: safeJson(event.body), as: claims.email, claims }
        : { ok: true, app: slug, route: event.routeKey, claims };
    return { statusCode: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(body) };
  };
}

function safeJson(body: string | undefined): unknown {
  if (!body) return null;
  try {
    return JSON.parse(body);
  } catch {
    return body.slice(0, 200);
  }
}

/** The gateway stage for one app's demo API. */
export function demoApiStage(slug: string): GatewayStage {
  const routes = demoRoutes(slug);
  return {
    name: slug,
    stageVariables: { authplane_app: slug, authplane_routes: encodeRoutes(routes) },
    routes: Object.keys(routes),
    backend: demoApiHandler(slug),
  };
}
