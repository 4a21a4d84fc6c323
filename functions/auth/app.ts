/**
 * The auth service as a plain Hono app. It knows nothing of Lambda or node: `lambda.ts` and
 * `server.ts` adapt it, tests call `app.request()` directly.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createAuth, createPool, type Auth } from "./auth.js";
import type { AuthConfig } from "./config.js";
import { spaCors } from "./cors.js";
import { hostGuard, jsonError, passkeyOriginGuard } from "./guards.js";
import { withClientIp } from "./client-ip.js";
import { oidcRoutes } from "./oidc-pages.js";
import { effectiveHost } from "./request-origin.js";
import { appLinkPathsFor, wellKnownRoutes } from "./well-known.js";

export interface CreateAppOptions {
  /** Use this Better Auth instance (tests that also call `auth.api`); built from config otherwise. */
  auth?: Auth;
}

/**
 * One Better Auth instance, or, when no RP ID is configured (single-app local dev), one per
 * request host so each app gets passkeys for its own host. The host set is bounded by the
 * host guard, so this map cannot grow without limit.
 */
function authResolver(config: AuthConfig, given?: Auth): (req: Request) => Auth {
  if (given || config.passkey.rpId) {
    const auth = given ?? createAuth(config);
    return () => auth;
  }
  const pool = createPool(config);
  const byRpId = new Map<string, Auth>();
  return (req) => {
    const rpId = (effectiveHost(req, config) ?? "").replace(/:\d+$/, "");
    let auth = byRpId.get(rpId);
    if (!auth) byRpId.set(rpId, (auth = createAuth(config, { pool, rpId })));
    return auth;
  };
}

export function createApp(config: AuthConfig, options: CreateAppOptions = {}): Hono {
  const authFor = authResolver(config, options.auth);
  const app = new Hono();

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route(
    "/",
    wellKnownRoutes({ ...config.appAssociation, appLinkPaths: appLinkPathsFor(config.nativeAppCallbacks, config.baseURL) }),
  );

  // OpenID Provider: discovery at the issuer root and the provider's sign-in/consent pages.
  app.route("/", oidcRoutes(config, authFor));

  app.use("/api/auth/*", hostGuard(config));
  // Pattern 2 (SPA on a sibling subdomain calling directly): credentials only for listed origins.
  app.use("/api/auth/*", spaCors({ origins: config.trustedOrigins }));
  app.use(
    "/api/auth/*",
    bodyLimit({ maxSize: config.maxBodyBytes, onError: () => jsonError(413, "body_too_large", `request bodies are limited to ${config.maxBodyBytes} bytes`) }),
  );
  app.use("/api/auth/passkey/*", passkeyOriginGuard(config));
  app.use("/api/auth/*", async (c, next) => {
    // Better Auth answers unparseable JSON with a 500; a client error is a 400.
    if (c.req.method === "POST" && c.req.header("content-type")?.includes("application/json")) {
      const text = await c.req.raw.clone().text();
      if (text) {
        try {
          JSON.parse(text);
        } catch {
          return jsonError(400, "invalid_json", "the request body is not valid JSON");
        }
      }
    }
    await next();
  });
  app.on(["GET", "POST"], "/api/auth/*", (c) => authFor(c.req.raw).handler(withClientIp(c.req.raw, config)));

  app.notFound((c) => c.json({ error: "not_found" }, 404));
  app.onError((err, c) => {
    // Never echo internals (or anything a request carried) to the caller; log a stable line.
    console.error(JSON.stringify({ level: "error", msg: "unhandled", name: err.name, message: err.message, path: c.req.path }));
    return c.json({ error: "internal_error" }, 500);
  });
  return app;
}
