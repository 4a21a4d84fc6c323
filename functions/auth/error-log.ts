/**
 * One stable JSON line for every 5xx the service answers, whoever produced it: our own
 * `onError`, the database fault guard's 503, or a 500 Better Auth built itself (those never
 * reach `onError`). The line carries what an operator can group and alert on (status, method,
 * route shape, a stable error code, the database's SQLSTATE) and nothing a request carried:
 * no query string, no body, no header, no error message (messages can quote values).
 */
import type { MiddlewareHandler } from "hono";
import { dbFaultOf } from "./db-faults.js";

const STABLE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The path with every segment that is not a plain word replaced, so ids and garbage stay out. */
export function routeShape(path: string): string {
  return path
    .split("/")
    .slice(0, 12)
    .map((s) => (s === "" || STABLE.test(s) ? s : ":value"))
    .join("/");
}

async function errorCode(res: Response): Promise<string | undefined> {
  if (!res.headers.get("content-type")?.includes("json")) return undefined;
  try {
    const body = (await res.clone().json()) as { error?: unknown; code?: unknown } | null;
    const code = typeof body?.error === "string" ? body.error : body?.code;
    return typeof code === "string" && STABLE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

export function serverErrorLog(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const status = c.res.status;
    if (status < 500) return;
    const db = dbFaultOf(c);
    const errCode = (c.error as { code?: unknown } | undefined)?.code;
    console.error(
      JSON.stringify({
        level: "error",
        msg: "server_error",
        status,
        method: c.req.method,
        route: routeShape(c.req.path),
        code: await errorCode(c.res),
        error: c.error?.name,
        db: db ?? (typeof errCode === "string" && STABLE.test(errCode) ? errCode : undefined),
      }),
    );
  };
}
