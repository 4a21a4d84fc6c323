import { proxy } from "hono/proxy";

/**
 * The proxy pattern: a frontend mounts this at `/api/auth/*` so the browser only ever talks to
 * the app's own origin. Cookies the auth service sets are then first-party for the app (no
 * third-party-cookie rules apply), and the auth service learns which app it serves from the
 * X-Forwarded-Host/Proto headers this sets (it honours them with TRUST_PROXY_HEADERS=true).
 */

export interface AuthProxyOptions {
  /** Base URL of the auth service, e.g. https://auth.example.org or http://127.0.0.1:4000. */
  authServiceUrl: string;
  /**
   * The client address to append to X-Forwarded-For (rate limits count per client). Frameworks
   * expose it differently; unset, the incoming X-Forwarded-For is passed on unchanged.
   * @default undefined
   */
  clientIp?: (req: Request) => string | undefined;
  /** Replace for tests or custom agents. @default globalThis.fetch */
  fetch?: typeof fetch;
}

export type FetchHandler = (req: Request) => Promise<Response>;

/**
 * Hono's proxy helper does the hop-by-hop and content-encoding bookkeeping; this adds what the
 * auth service needs to know which app it serves, and keeps redirects for the browser.
 */
export function createAuthProxy({ authServiceUrl, clientIp, fetch: customFetch = fetch }: AuthProxyOptions): FetchHandler {
  const upstream = new URL(authServiceUrl);
  return async (req) => {
    const incoming = new URL(req.url);
    const ip = clientIp?.(req);
    const forwardedFor = [req.headers.get("x-forwarded-for"), ip].filter(Boolean).join(", ");
    return proxy(new URL(incoming.pathname + incoming.search, upstream), {
      raw: req,
      headers: {
        ...Object.fromEntries(req.headers),
        host: undefined,
        "x-forwarded-host": req.headers.get("host") ?? incoming.host,
        "x-forwarded-proto": incoming.protocol.slice(0, -1),
        "x-forwarded-for": forwardedFor || undefined,
      },
      // OAuth answers with redirects meant for the browser, not for us.
      redirect: "manual",
      customFetch,
    });
  };
}
