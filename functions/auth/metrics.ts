/**
 * The auth service's business counters, as CloudWatch EMF lines (functions/emf.ts): sign-ins by
 * method, tokens minted and database errors, read off each response's route and status, so
 * Better Auth's routes need no hooks of ours. Only successes count as sign-ins.
 */
import type { MiddlewareHandler } from "hono";
import { countMetric } from "../emf.js";

/** The sign-in method a successful response on `path` stands for, if any. */
export function signInMethod(method: string, path: string, status: number, location: string | null): string | undefined {
  if (method === "POST" && status === 200) {
    if (path === "/api/auth/sign-in/email") return "email";
    if (path === "/api/auth/passkey/verify-authentication") return "passkey";
    if (path === "/api/auth/native/exchange") return "native";
  }
  // OAuth callbacks redirect both ways; a failure carries ?error= in the redirect.
  const callback = /^\/api\/auth\/callback\/([\w-]{1,32})$/.exec(path);
  if (callback && status >= 300 && status < 400 && !(location ?? "").includes("error=")) return callback[1];
  return undefined;
}

/** Responses that carry a freshly minted token: the JWT endpoint, the native code exchange, OIDC's token endpoint. */
const TOKEN_PATHS = new Set(["GET /api/auth/token", "POST /api/auth/native/exchange", "POST /api/auth/oauth2/token"]);

/** Counts what each `/api/auth/*` response means; never changes the response. */
export function authMetrics(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const { status } = c.res;
    const method = signInMethod(c.req.method, c.req.path, status, c.res.headers.get("location"));
    if (method) countMetric("SignIns", { method });
    if (status === 200 && TOKEN_PATHS.has(`${c.req.method} ${c.req.path}`)) countMetric("TokensMinted");
    // 503 is the service's answer when the database is unreachable (every other 5xx is a bug).
    if (status === 503) countMetric("DatabaseErrors");
  };
}
