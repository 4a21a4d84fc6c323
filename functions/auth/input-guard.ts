/**
 * Bad input is the caller's error, so it is a 400 here, before Better Auth or PostgreSQL sees
 * it. PostgreSQL refuses NUL in text and invalid UTF-8 outright ("invalid byte sequence for
 * encoding UTF8: 0x00"), and Better Auth passes such values straight into queries, which made
 * them 500s on dozens of routes. Checked: every path segment, every query parameter, Better
 * Auth's own cookies, and JSON / form bodies at any depth, keys included. Lone surrogates count
 * as invalid too: they cannot be encoded as UTF-8 and would be stored as U+FFFD.
 *
 * A few fields Better Auth requires but does not type-check (its `update-user` body is a free
 * record, so `{"name":null}` reached a NOT NULL column) are checked by shape below.
 *
 * OAuth callbacks are the exception: a browser arrives there from the provider, so a bad
 * `state` or `code` must end on Better Auth's normal error redirect, not on a JSON page. The
 * guard drops the unusable parameters and lets Better Auth answer "state missing".
 */
import type { MiddlewareHandler } from "hono";
import * as z from "zod";
import { jsonError } from "./guards.js";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

// The parsed JSON body of a request the guard let through, for later middleware (the
// per-account limit) so the body is read and parsed once.
const parsedBodies = new WeakMap<Request, unknown>();

/** The JSON body `inputGuard` parsed for this request (undefined when there was none). */
export function parsedJsonBody(req: Request): unknown {
  return parsedBodies.get(req);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string PostgreSQL can store as text: no NUL, no lone surrogate. */
export function storableText(s: string): boolean {
  return !s.includes("\u0000") && !LONE_SURROGATE.test(s);
}

/** Percent-decode strictly: malformed escapes and invalid UTF-8 are errors, not U+FFFD. */
function decodeStrict(s: string, plusIsSpace: boolean): string | null {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, " ") : s);
  } catch {
    return null;
  }
}

/** Every `k=v` of a query string or form body decodes and is storable. */
function formOk(query: string): boolean {
  if (!query) return true;
  for (const pair of query.split("&")) {
    for (const part of pair.split("=")) {
      const decoded = decodeStrict(part, true);
      if (decoded === null || !storableText(decoded)) return false;
    }
  }
  return true;
}

function pathOk(pathname: string): boolean {
  return pathname.split("/").every((seg) => {
    const decoded = decodeStrict(seg, false);
    return decoded !== null && storableText(decoded);
  });
}

/** Better Auth's cookies only: another app on the parent domain may set whatever it likes. */
function cookiesOk(header: string | undefined): boolean {
  if (!header) return true;
  for (const chunk of header.split(";")) {
    const eq = chunk.indexOf("=");
    if (eq === -1 || !chunk.slice(0, eq).includes("better-auth")) continue;
    // Better Auth decodes cookie values and keeps the raw value when decoding fails.
    const raw = chunk.slice(eq + 1).trim();
    const decoded = decodeStrict(raw, false) ?? raw;
    if (!storableText(decoded)) return false;
  }
  return true;
}

/** Walk a parsed JSON value without recursion (a deeply nested body must not overflow the stack). */
function jsonOk(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!storableText(v)) return false;
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v && typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) {
        if (!storableText(k)) return false;
        stack.push(inner);
      }
    }
  }
  return true;
}

const text = z.string().trim().min(1).max(512);
/**
 * Shapes Better Auth leaves unchecked for fields its tables require. Keys are paths under
 * /api/auth; only the named fields are checked, everything else is Better Auth's to judge.
 */
const FIELD_SHAPES: Record<string, z.ZodType> = {
  "/update-user": z.object({ name: text.optional(), image: z.string().max(2048).nullable().optional() }).loose(),
  "/sign-up/email": z.object({ name: z.string().max(512), email: z.string().max(320), password: z.string() }).loose(),
};

/**
 * Fields read on every route, before the route's own validation: the oauth-provider plugin's
 * global before-hook parses any truthy `oauth_query` as a signed query string.
 */
const ANY_ROUTE = z.object({ oauth_query: z.string().max(8192).optional() }).loose();

function invalidInput(message: string): Response {
  return jsonError(400, "invalid_input", message);
}

/** OAuth callbacks: unusable parameters are dropped so Better Auth redirects with its own error. */
const CALLBACK = /^\/api\/auth\/(callback|oauth2\/callback)\//;

function usableSearch(search: string): string {
  const kept = search
    .slice(1)
    .split("&")
    .filter((pair) => pair && formOk(pair));
  return kept.length ? `?${kept.join("&")}` : "";
}

export function inputGuard(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (!pathOk(url.pathname)) return invalidInput("the path contains NUL or invalid UTF-8");
    if (!formOk(url.search.slice(1))) {
      if (!CALLBACK.test(url.pathname) || c.req.method !== "GET") return invalidInput("the query string contains NUL or invalid UTF-8");
      const headers = new Headers(c.req.raw.headers);
      c.req.raw = new Request(url.origin + url.pathname + usableSearch(url.search), { method: "GET", headers });
    }
    if (!cookiesOk(c.req.header("cookie"))) return invalidInput("a cookie contains NUL or invalid UTF-8");

    if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.req.raw.body) {
      const bytes = new Uint8Array(await c.req.raw.clone().arrayBuffer());
      if (!bytes.length) return next();
      let body: string;
      try {
        body = fatalUtf8.decode(bytes);
      } catch {
        return invalidInput("the request body is not valid UTF-8");
      }
      const type = c.req.header("content-type") ?? "";
      if (type.includes("application/x-www-form-urlencoded")) {
        if (!formOk(body)) return invalidInput("the request body contains NUL or invalid UTF-8");
      } else if (type.includes("json") || /^\s*[[{]/.test(body)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          // Better Auth answers unparseable JSON with a 500; a client error is a 400.
          return jsonError(400, "invalid_json", "the request body is not valid JSON");
        }
        if (!jsonOk(parsed)) return invalidInput("the request body contains NUL or an invalid Unicode string");
        parsedBodies.set(c.req.raw, parsed);
        const route = FIELD_SHAPES[url.pathname.replace(/^\/api\/auth/, "")];
        const isRecord = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
        for (const shape of isRecord ? [ANY_ROUTE, route] : [route]) {
          if (!shape) continue;
          const checked = shape.safeParse(parsed);
          if (!checked.success) {
            const field = checked.error.issues[0]?.path.join(".") || "body";
            return invalidInput(`${field}: ${checked.error.issues[0]?.message ?? "invalid"}`);
          }
        }
      } else if (body.includes("\u0000")) {
        return invalidInput("the request body contains NUL");
      }
    }
    await next();
  };
}
