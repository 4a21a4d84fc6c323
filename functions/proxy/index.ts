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

/** Connection-scoped headers (RFC 9110 §7.6.1) never cross a proxy; host is re-derived. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"];

export type FetchHandler = (req: Request) => Promise<Response>;

export function createAuthProxy({ authServiceUrl, clientIp, fetch: doFetch = fetch }: AuthProxyOptions): FetchHandler {
  const upstream = new URL(authServiceUrl);
  return async (req) => {
    const incoming = new URL(req.url);
    const target = new URL(incoming.pathname + incoming.search, upstream);
    const headers = new Headers(req.headers);
    for (const h of HOP_BY_HOP) headers.delete(h);
    headers.set("x-forwarded-host", req.headers.get("host") ?? incoming.host);
    headers.set("x-forwarded-proto", incoming.protocol.slice(0, -1));
    const ip = clientIp?.(req);
    if (ip) headers.set("x-forwarded-for", [req.headers.get("x-forwarded-for"), ip].filter(Boolean).join(", "));

    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const res = await doFetch(target, {
      method: req.method,
      headers,
      body: hasBody ? await req.arrayBuffer() : undefined,
      // OAuth answers with redirects meant for the browser, not for us.
      redirect: "manual",
    });
    const out = new Headers(res.headers);
    for (const h of HOP_BY_HOP) out.delete(h);
    // fetch already decoded the body; the browser must not decode it again.
    out.delete("content-encoding");
    out.delete("content-length");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
  };
}
