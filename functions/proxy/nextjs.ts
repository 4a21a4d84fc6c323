/**
 * Next.js (App Router) route handlers for the proxy pattern. In the app:
 *
 *   // app/api/auth/[...all]/route.ts
 *   export { GET, POST } from "authplane/functions/proxy/nextjs";
 *
 * with AUTHPLANE_AUTH_URL set to the auth service's URL and AUTHPLANE_PROXY_SECRET to its
 * PROXY_SECRET, or build your own pair with `nextAuthRoutes({ authServiceUrl, secret })`.
 */
import { createAuthProxy, type AuthProxyOptions } from "./index.js";

export function nextAuthRoutes(options: AuthProxyOptions) {
  const proxy = createAuthProxy({
    // Next.js sets X-Forwarded-For from the socket; take the last hop as the client.
    clientIp: (req) => req.headers.get("x-real-ip") ?? undefined,
    ...options,
  });
  return { GET: proxy, POST: proxy };
}

let routes: ReturnType<typeof nextAuthRoutes> | undefined;
function fromEnv() {
  const authServiceUrl = process.env.AUTHPLANE_AUTH_URL;
  if (!authServiceUrl) throw new Error("AUTHPLANE_AUTH_URL is not set (the auth service URL, e.g. https://auth.example.org)");
  const secret = process.env.AUTHPLANE_PROXY_SECRET;
  if (!secret) throw new Error("AUTHPLANE_PROXY_SECRET is not set (the auth service's PROXY_SECRET, from Secrets Manager)");
  return (routes ??= nextAuthRoutes({ authServiceUrl, secret }));
}

export const GET = (req: Request) => fromEnv().GET(req);
export const POST = (req: Request) => fromEnv().POST(req);
