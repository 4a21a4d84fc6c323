/**
 * The lean read path for `GET /api/auth/get-session`: the one request every app makes on every
 * page view, answered without Better Auth's per-request machinery (better-call's context
 * building and WebCrypto cookie HMAC, the hooks chain, Kysely query building) when, and only
 * when, the answer is plainly "this valid, fresh session and its user". Why it is hand-written
 * and what it refuses: docs/better-auth-notes.md §6.
 *
 * It is a filter in front of Better Auth, never a replacement: `read(req)` returns a Response
 * for the plain case and `undefined` for everything else, and the caller hands `undefined` to
 * Better Auth's own handler. "Everything else" is: any method but GET, any query string
 * (disableCookieCache, disableRefresh, …), an Authorization header (the bearer plugin turns it
 * into a cookie), no session cookie or a signature that does not verify, any other Better Auth
 * cookie (session_data / cookie cache, dont_remember), an unknown token, an expired session
 * (Better Auth deletes it and clears the cookie), a session due for its `updateAge` refresh (a
 * write and a new cookie), a banned user; and, for the whole instance, secondary storage
 * (Redis), the cookie cache, deferred or disabled refresh, custom user/session output
 * transforms, a global hook, or any plugin hook that would act on `/get-session` and is not
 * known to be a no-op there.
 *
 * The cookie is checked as better-call does it (dist/context.mjs `getSignedCookie`): the same
 * cookie parser, Better Auth's cookie name (with the `__Secure-` prefix when it sets one), the
 * value `token.base64(HMAC-SHA256(secret, token))` with a 44-character padded signature, the
 * secret Better Auth signs cookies with (`ctx.secret`, the first secret version; older
 * versions only decrypt stored data and never verified cookies). The HMAC runs in node:crypto
 * with a timing-safe compare. The body is Better Auth's: the same fields in the same order,
 * filtered by its own `parseSessionOutput` / `parseUserOutput`.
 * test/functions/auth/session-read.test.ts drives random cookies and session states through
 * this path and through Better Auth's own handler and requires identical answers.
 */
import type { BetterAuthOptions } from "better-auth";
import { parseSessionOutput, parseUserOutput } from "better-auth/db";
import { parseCookies } from "better-call";
import { createAuthMiddleware } from "@better-auth/core/api";
import { createHmac, timingSafeEqual } from "node:crypto";
import type pg from "pg";

/** Plugin hooks that match `/get-session` but do nothing on a plain session read (checked at start-up). */
const NOOP_ON_PLAIN_READ: Record<string, (options: BetterAuthOptions, plugin: { options?: unknown }) => boolean> = {
  // After hook: sets `set-auth-jwt`, unless disableSettingJwtHeader (which authplane sets).
  jwt: (_o, plugin) => (plugin.options as { disableSettingJwtHeader?: boolean } | undefined)?.disableSettingJwtHeader === true,
  // After hook: only copies a session cookie the response sets (a plain read sets none); the
  // before hook needs an Authorization header, which always goes to Better Auth.
  bearer: () => true,
  // Records sign-ins, tokens and membership changes; describes nothing for /get-session.
  "authplane-audit-trail": () => true,
};
/** Plugins whose `onRequest` ignores /get-session: issuer metadata paths only; the router cache. */
const NOOP_ON_REQUEST = new Set(["oauth-provider", "authplane-router-once"]);

interface Field {
  fieldName?: string;
  type: unknown;
  references?: { field?: string };
  transform?: { output?: unknown };
}
interface Table {
  modelName: string;
  fields: Record<string, Field>;
}
interface AuthContext {
  options: BetterAuthOptions;
  secret: string;
  authCookies: { sessionToken: { name: string }; sessionData: { name: string }; dontRememberToken: { name: string } };
  sessionConfig: { expiresIn: number; updateAge: number };
  tables: Record<string, Table>;
}
type AnyAuth = { options: BetterAuthOptions; $context: Promise<unknown> };

interface Plan {
  path: string;
  secret: string;
  sessionCookie: string;
  /** Any other cookie with Better Auth's name prefix sends the request to Better Auth. */
  otherAuthCookies: (name: string) => boolean;
  sql: string;
  session: Column[];
  user: Column[];
  expiresIn: number;
  updateAge: number;
  options: BetterAuthOptions;
}
interface Column {
  key: string;
  alias: string;
  /** ids and references come back as strings, whatever the column type (adapter factory). */
  asString: boolean;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function columns(table: Table, prefix: string): Column[] {
  const out: Column[] = [];
  // The adapter factory's key order: the schema's fields, then `id` when the schema has none.
  const keys = Object.keys(table.fields);
  if (!keys.includes("id")) keys.push("id");
  for (const key of keys) {
    const field = table.fields[key];
    out.push({ key, alias: `${prefix}${out.length}`, asString: key === "id" || field?.fieldName === "id" || field?.references?.field === "id" });
  }
  return out;
}

/**
 * Why this instance cannot take the lean path, or undefined when it can. `hooks: false` for
 * /token's session: Better Auth reads it by calling get-session as a plain function, which runs
 * no hooks.
 */
export function leanReadBlocker(ctx: AuthContext, { hooks = true } = {}): string | undefined {
  const o = ctx.options;
  if (o.secondaryStorage) return "secondary storage holds sessions";
  if (o.session?.cookieCache?.enabled) return "cookie cache";
  if ((o.session as { deferSessionRefresh?: boolean } | undefined)?.deferSessionRefresh) return "deferred session refresh";
  if (o.session?.disableSessionRefresh) return "session refresh disabled";
  // Better Auth's limiter runs before its endpoints; a read answered here would skip it.
  if (hooks && o.rateLimit?.enabled !== false && (o.rateLimit?.customRules as Record<string, unknown> | undefined)?.["/get-session"] !== false) return "rate limit on /get-session";
  if (hooks && (o.hooks?.before || o.hooks?.after)) return "global hooks";
  for (const model of ["session", "user"]) {
    for (const [key, field] of Object.entries(ctx.tables[model]?.fields ?? {})) {
      if (field.transform?.output) return `${model}.${key} has an output transform`;
      if (field.type === "string[]" || field.type === "number[]" || field.type === "json") return `${model}.${key} is stored encoded (${String(field.type)})`;
    }
  }
  if (!hooks) return undefined;
  const probe = {
    path: "/get-session",
    method: "GET",
    headers: new Headers(),
    request: new Request("http://localhost/get-session"),
    body: undefined,
    query: {},
    context: { responseHeaders: new Headers(), authCookies: ctx.authCookies, returned: undefined },
  };
  for (const plugin of (o.plugins ?? []) as { id: string; options?: unknown; onRequest?: unknown; onResponse?: unknown; hooks?: { before?: { matcher: (c: unknown) => unknown }[]; after?: { matcher: (c: unknown) => unknown }[] } }[]) {
    if (plugin.onRequest && !NOOP_ON_REQUEST.has(plugin.id)) return `plugin ${plugin.id} has onRequest`;
    if (plugin.onResponse) return `plugin ${plugin.id} has onResponse`;
    for (const hook of [...(plugin.hooks?.before ?? []), ...(plugin.hooks?.after ?? [])]) {
      let matches: boolean;
      try {
        matches = Boolean(hook.matcher(probe));
      } catch {
        matches = true; // cannot tell: assume it acts
      }
      if (matches && !NOOP_ON_PLAIN_READ[plugin.id]?.(o, plugin)) return `plugin ${plugin.id} hooks /get-session`;
    }
  }
  return undefined;
}

function plan(ctx: AuthContext): Plan {
  const session = ctx.tables.session!;
  const user = ctx.tables.user!;
  const s = columns(session, "s");
  const u = columns(user, "u");
  const col = (t: Table, key: string) => quote(t.fields[key]?.fieldName ?? key);
  const sql =
    `SELECT ${s.map((c) => `s.${col(session, c.key)} AS ${c.alias}`).join(", ")}, ${u.map((c) => `u.${col(user, c.key)} AS ${c.alias}`).join(", ")}` +
    ` FROM ${quote(session.modelName)} s JOIN ${quote(user.modelName)} u ON u.${col(user, "id")} = s.${col(session, "userId")}` +
    ` WHERE s.${col(session, "token")} = $1`;
  const name = ctx.authCookies.sessionToken.name;
  const prefix = (ctx.options.advanced?.cookiePrefix || "better-auth") + ".";
  return {
    path: `${ctx.options.basePath || "/api/auth"}/get-session`,
    secret: ctx.secret,
    sessionCookie: name,
    otherAuthCookies: (cookie) => cookie !== name && cookie.includes(prefix),
    sql,
    session: s,
    user: u,
    expiresIn: ctx.sessionConfig.expiresIn,
    updateAge: ctx.sessionConfig.updateAge,
    options: ctx.options,
  };
}

/** better-call's check, in node:crypto: `token` when the signature is Better Auth's, else undefined. */
export function verifiedToken(value: string | undefined, secret: string): string | undefined {
  if (!value) return undefined;
  const dot = value.lastIndexOf(".");
  if (dot < 1) return undefined;
  const token = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  if (signature.length !== 44 || !signature.endsWith("=")) return undefined;
  const expected = Buffer.from(createHmac("sha256", secret).update(token).digest("base64"));
  const given = Buffer.from(signature);
  // Lengths match (both 44 ASCII bytes) unless the signature has non-ASCII characters.
  return given.length === expected.length && timingSafeEqual(given, expected) ? token : undefined;
}

function pick(row: Record<string, unknown>, cols: Column[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of cols) {
    const v = row[c.alias];
    out[c.key] = c.asString && v !== null && v !== undefined ? String(v) : v;
  }
  return out;
}

const HEADERS = { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache" };

export interface LeanSessionRead {
  (req: Request): Promise<Response | undefined>;
  /** Requests this path answered itself (tests, benchmarks). */
  served: number;
}

const readers = new WeakMap<object, LeanSessionRead>();

/** The lean get-session reader for `auth` (one per instance), reading from `pool` (the pool Better Auth uses). */
export function leanSessionRead(auth: AnyAuth, pool: pg.Pool): LeanSessionRead {
  let reader = readers.get(auth);
  if (!reader) readers.set(auth, (reader = createReader(auth, pool)));
  return reader;
}

function createReader(auth: AnyAuth, pool: pg.Pool): LeanSessionRead {
  let ready: Promise<Plan | undefined> | undefined;
  const planFor = () =>
    (ready ??= (auth.$context as Promise<AuthContext>).then(
      (ctx) => (leanReadBlocker(ctx) ? undefined : plan(ctx)),
      () => undefined,
    ));
  const read = (async (req: Request) => {
    if (req.method !== "GET" || req.url.includes("?")) return undefined;
    const p = await planFor();
    if (!p || !req.url.endsWith(p.path) || new URL(req.url).pathname !== p.path) return undefined;
    const found = await plainSession(p, req.headers, pool);
    if (!found) return undefined;
    read.served++;
    return new Response(JSON.stringify(found), { status: 200, headers: HEADERS });
  }) as LeanSessionRead;
  read.served = 0;
  return read;
}

/**
 * The session and user of a plain read (Better Auth's parsed output), or undefined for anything
 * Better Auth must decide itself.
 */
async function plainSession(p: Plan, headers: Headers, pool: pg.Pool): Promise<{ session: Record<string, unknown>; user: Record<string, unknown> } | undefined> {
  if (headers.has("authorization")) return undefined;
  const header = headers.get("cookie");
  if (!header) return undefined;
  const cookies = parseCookies(header);
  for (const name of cookies.keys()) if (p.otherAuthCookies(name)) return undefined;
  const token = verifiedToken(cookies.get(p.sessionCookie), p.secret);
  if (!token) return undefined;
  const { rows } = await pool.query<Record<string, unknown>>(p.sql, [token]);
  const row = rows[0];
  if (!row || rows.length !== 1) return undefined;
  const session = pick(row, p.session);
  const user = pick(row, p.user);
  const expiresAt = session.expiresAt;
  if (!(expiresAt instanceof Date)) return undefined;
  const now = Date.now();
  // Expired (Better Auth deletes it) or due for the sliding refresh (a write and a new cookie).
  if (expiresAt.getTime() < now || expiresAt.getTime() - p.expiresIn * 1000 + p.updateAge * 1000 <= now) return undefined;
  if (user.banned) return undefined;
  return { session: parseSessionOutput(p.options, session as never), user: parseUserOutput(p.options, user as never) };
}

const tokenPlans = new WeakMap<object, Plan | null>();

/**
 * For `GET /token`: Better Auth's session middleware reads the session by running get-session
 * (context building, WebCrypto HMAC, Kysely) unless the endpoint context already holds one. On
 * a plain read this before-hook puts the lean path's answer there, the same objects get-session
 * would return; on anything else it leaves the context alone and Better Auth reads as always.
 */
export const leanTokenSession = (pool: pg.Pool) => {
  const plugin = {
    id: "authplane-lean-token-session",
    hooks: {
      before: [
        {
          matcher: (ctx: { path?: string; request?: Request }) => ctx.path === "/token" && ctx.request?.method === "GET" && !ctx.request.url.includes("?"),
          // A plain function, not createAuthMiddleware: Better Auth's hook runner only reads an
          // optional { headers, response } back, and this saves a better-call context per token.
          handler: (async (ctx: { context: unknown; request?: Request }) => {
            const authContext = ctx.context as AuthContext & { session?: unknown };
            if (authContext.session || !ctx.request) return;
            let p = tokenPlans.get(authContext.options);
            if (p === undefined) tokenPlans.set(authContext.options, (p = leanReadBlocker(authContext, { hooks: false }) ? null : plan(authContext)));
            if (!p) return;
            const found = await plainSession(p, ctx.request.headers, pool);
            if (found) {
              // The endpoint context is shared with the endpoint this hook runs before.
              authContext.session = found;
              plugin.served++;
            }
          }) as unknown as ReturnType<typeof createAuthMiddleware>,
        },
      ],
    },
    /** /token requests whose session this hook supplied (tests, benchmarks). */
    served: 0,
  };
  return plugin;
};
