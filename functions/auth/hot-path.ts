/**
 * Per-request work Better Auth 1.7.6 does that the service's hot reads (get-session, /token,
 * /jwks) do not need, and the small, option-level ways around it. Measured by
 * `npm run bench:service`; upstream notes in docs/better-auth-notes.md.
 */
import type { BetterAuthOptions, BetterAuthPlugin } from "better-auth";
import { resolveBaseURL } from "better-auth";
import { router } from "better-auth/api";
import { runWithAdapter } from "@better-auth/core/context";

/**
 * Rate-limit rules for the read-only hot paths: none. Better Auth's database limiter costs a
 * SELECT and a committed UPDATE per request, even on a GET that changes nothing. These reads
 * need a valid session cookie (get-session, /token) or return public keys (/jwks); the edge
 * (API Gateway stage throttling, Lambda concurrency) bounds their volume. Every other path keeps
 * its rule: sign-in/sign-up/change-password (Better Auth's 3 per 10 s), native exchange (its
 * plugin rule), passkey and the rest (the configured window/max).
 */
export const READ_ONLY_RATE_RULES = {
  "/get-session": false,
  "/token": false,
  "/jwks": false,
} as const satisfies NonNullable<BetterAuthOptions["rateLimit"]>["customRules"];

/**
 * A static base URL when the service answers for one host only: Better Auth then skips
 * resolving the base URL (and re-deriving trusted origins) from every request. Several hosts
 * (apps proxying /api/auth) keep the dynamic form, which needs the request.
 */
export function staticBaseURL(baseURL: string, hosts: readonly string[]): string | undefined {
  return hosts.length === 1 && hosts[0] === new URL(baseURL).host ? baseURL : undefined;
}

type AnyAuth = { handler: (req: Request) => Promise<Response>; options: BetterAuthOptions; $context: Promise<unknown> };
type HandlerContext = { baseURL: string; adapter: unknown; options: BetterAuthOptions };

const ROUTER_ONCE_ID = "authplane-router-once";
/** Distinct base URLs are bounded by allowedHosts × {http, https}; the cap only guards odd configs. */
const MAX_ROUTERS = 32;

/**
 * Better Auth 1.7.6's `auth.handler` calls `router(ctx, options)` on every request
 * (dist/auth/base.mjs): every endpoint of every plugin is wrapped again and a new router is
 * built, although nothing in it depends on the request beyond the resolved base URL. This keeps
 * one router per resolved base URL. The first request for a base URL goes through Better Auth's
 * own handler; the plugin's `onRequest` sees the context Better Auth resolved for it, and the
 * router built on that context serves every later request with the same base URL. Request-
 * dependent trusted origins or providers (functions) cannot be cached: then every request takes
 * Better Auth's own path.
 */
export class RouterOnce {
  private readonly routers = new Map<string, { ctx: HandlerContext; handler: (req: Request) => Promise<Response> }>();
  /** Requests Better Auth's own handler served (tests; the first per base URL). */
  fallbacks = 0;

  readonly plugin = {
    id: ROUTER_ONCE_ID,
    onRequest: async (_request: Request, ctx: unknown) => {
      const handlerCtx = ctx as HandlerContext;
      // Only for requests that came through handlerFor (it knows the options Better Auth was given).
      if (!this.options || !this.cacheable(handlerCtx.options) || this.routers.has(handlerCtx.baseURL) || this.routers.size >= MAX_ROUTERS) return;
      this.routers.set(handlerCtx.baseURL, { ctx: handlerCtx, handler: router(handlerCtx as never, this.options!).handler });
    },
  } satisfies BetterAuthPlugin;

  private options?: BetterAuthOptions;

  constructor() {
    owners.set(this.plugin, this);
  }

  private cacheable(options: BetterAuthOptions): boolean {
    return typeof options.trustedOrigins !== "function" && typeof options.account?.accountLinking?.trustedProviders !== "function";
  }

  /** The request handler for `auth` (whose options include `this.plugin`). */
  handlerFor(auth: AnyAuth): (req: Request) => Promise<Response> {
    this.options = auth.options;
    const basePath = auth.options.basePath || "/api/auth";
    const trustedProxyHeaders = auth.options.advanced?.trustedProxyHeaders;
    return async (req) => {
      let key: string | undefined;
      try {
        // The same resolution Better Auth runs; it throws for a host it would refuse.
        key = resolveBaseURL(auth.options.baseURL, basePath, req, undefined, trustedProxyHeaders);
      } catch {
        key = undefined;
      }
      const cached = key === undefined ? undefined : this.routers.get(key);
      if (!cached) {
        this.fallbacks++;
        return auth.handler(req);
      }
      return runWithAdapter(cached.ctx.adapter as never, () => cached.handler(req));
    };
  }
}

const owners = new WeakMap<object, RouterOnce>();

/** The RouterOnce whose plugin is in these options, if any. */
export function routerOnceOf(auth: { options: BetterAuthOptions }): RouterOnce | undefined {
  const plugin = auth.options.plugins?.find((p) => p.id === ROUTER_ONCE_ID);
  return plugin ? owners.get(plugin) : undefined;
}

/** `auth.handler`, with the router built once per base URL when the options carry RouterOnce. */
export function authHandler(auth: AnyAuth): (req: Request) => Promise<Response> {
  return routerOnceOf(auth)?.handlerFor(auth) ?? ((req) => auth.handler(req));
}
