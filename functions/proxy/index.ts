import { proxy } from "hono/proxy";
import { PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER, signForwarded } from "./signature.js";

export { signForwarded, verifyForwarded, PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER } from "./signature.js";

/**
 * The proxy pattern: a frontend mounts this at `/api/auth/*` so the browser only ever talks to
 * the app's own origin. Cookies the auth service sets are then first-party for the app (no
 * third-party-cookie rules apply), and the auth service learns which app it serves from the
 * X-Forwarded-Host/Proto headers this sets. It believes them (and the browser address) only
 * because they are signed with the secret it shares with its proxies (PROXY_SECRET), so no one
 * else can pose as an app proxy.
 */

export interface AuthProxyOptions {
  /** Base URL of the auth service, e.g. https://auth.example.org or http://127.0.0.1:4000. */
  authServiceUrl: string;
  /**
   * The signing key the auth service knows as PROXY_SECRET (Secrets Manager: the
   * `authplane-<env>/proxy` secret's `"secret"`). Keep it server-side only.
   * @example process.env.AUTHPLANE_PROXY_SECRET
   */
  secret: string;
  /**
   * The browser's address (rate limits count per client). Frameworks expose it differently;
   * unset, the auth service counts every browser of this app as this server.
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
export function createAuthProxy({ authServiceUrl, secret, clientIp, fetch: customFetch = fetch }: AuthProxyOptions): FetchHandler {
  if (!secret) throw new Error("createAuthProxy: `secret` is required (the auth service's PROXY_SECRET); without it the service ignores what the proxy forwards");
  const upstream = new URL(authServiceUrl);
  return async (req) => {
    const incoming = new URL(req.url);
    const ip = clientIp?.(req);
    const forwardedFor = [req.headers.get("x-forwarded-for"), ip].filter(Boolean).join(", ");
    const signed = signForwarded(secret, {
      host: req.headers.get("host") ?? incoming.host,
      proto: incoming.protocol.slice(0, -1),
      client: ip ?? "",
    });
    return proxy(new URL(incoming.pathname + incoming.search, upstream), {
      raw: req,
      headers: {
        ...Object.fromEntries(req.headers),
        host: undefined,
        // Whatever the browser sent under these names is replaced by what we sign.
        [PROXY_CLIENT_HEADER]: undefined,
        [PROXY_SIGNATURE_HEADER]: undefined,
        ...signed,
        "x-forwarded-for": forwardedFor || undefined,
      },
      // OAuth answers with redirects meant for the browser, not for us.
      redirect: "manual",
      customFetch,
    });
  };
}
