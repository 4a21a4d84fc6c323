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
 * The cookie is checked as better-call does it (dist/context.mjs `getSignedCookie`): a copy of
 * its cookie parser (tested against it; a session cookie sent twice goes to Better Auth), Better Auth's cookie name (with the `__Secure-` prefix when it sets one), the
 * value `token.base64(HMAC-SHA256(secret, token))` with a 44-character padded signature, the
 * secret Better Auth signs cookies with (`ctx.secret`, the first secret version; older
 * versions only decrypt stored data and never verified cookies). The HMAC runs in node:crypto
 * with a timing-safe compare. The body is Better Auth's: the same fields in the same order,
 * without the fields its schema marks `returned: false` (what `parseSessionOutput` /
 * `parseUserOutput` drop).
 *
 * Cold bundles: the plan (columns, output fields, the hook verdict) is computed at build time
 * from Better Auth's own context (session-read-snapshot.ts, embedded by functions/build.ts), so
 * a cold instance answers its first session reads without loading Better Auth at all; the
 * secret and the cookie name come from the config. When Better Auth is built on the instance
 * later, auth-routes.ts compares its plan with this one and turns the path off on a difference.
 * test/functions/auth/session-read.test.ts drives random cookies and session states through
 * this path and through Better Auth's own handler and requires identical answers.
 */
// Type-only: on a cold bundle this module runs before (and often without) Better Auth loading.
import type { BetterAuthOptions } from "better-auth";
import type { createAuthMiddleware } from "@better-auth/core/api";
import { createHmac, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import type { AuthConfig } from "./config.js";
import { secureCookies, SESSION_EXPIRES_IN, SESSION_UPDATE_AGE } from "./session-policy.js";
// A cycle token-lean.ts closes (it reuses plainSession); only called, never at module load.
import { tokenLeanBlocker } from "./token-lean.js";
import { jwksLeanBlocker } from "./jwks-lean.js";

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
  secretConfig?: unknown;
  secret: string;
  authCookies: { sessionToken: { name: string }; sessionData: { name: string }; dontRememberToken: { name: string } };
  sessionConfig: { expiresIn: number; updateAge: number };
  tables: Record<string, Table>;
}
/** The part of Better Auth's context the lean paths read (token-lean.ts too). */
export type LeanAuthContext = AuthContext;
type AnyAuth = { options: BetterAuthOptions; $context: Promise<unknown> };

/** Everything the lean path needs; plain data, so it can be built at build time and compared. */
export interface Plan {
  path: string;
  secret: string;
  sessionCookie: string;
  /** Any other cookie whose name contains this (Better Auth's prefix + ".") sends the request to Better Auth. */
  authCookiePrefix: string;
  sql: string;
  session: Column[];
  user: Column[];
  /** The keys Better Auth's output parsers keep (schema fields not marked `returned: false`). */
  sessionOutput: string[];
  userOutput: string[];
  expiresIn: number;
  updateAge: number;
}
interface Column {
  key: string;
  alias: string;
  /** ids and references come back as strings, whatever the column type (adapter factory). */
  asString: boolean;
}

/** The build-time part of a plan: what Better Auth's context decides for a schema-only config. */
export interface PlanSnapshot {
  version: 1;
  /** leanReadBlocker's verdict for that config; a blocked build has no lean path at all. */
  blocker: string | null;
  /** Session cookie name without the `__Secure-` prefix, which depends on the deployed config. */
  sessionCookieBase: string;
  plan: Omit<Plan, "secret" | "sessionCookie">;
  /** token-lean.ts `tokenLeanBlocker`'s verdict for that config (null: lean /token allowed). */
  tokenBlocker?: string | null;
  /** jwks-lean.ts `jwksLeanBlocker`'s verdict for that config (null: lean /jwks allowed). */
  jwksBlocker?: string | null;
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
  if (hooks && rateLimited(o.rateLimit, "/get-session")) return "rate limit on /get-session";
  if (hooks && (o.hooks?.before || o.hooks?.after)) return "global hooks";
  for (const model of ["session", "user"]) {
    for (const [key, field] of Object.entries(ctx.tables[model]?.fields ?? {})) {
      if (field.transform?.output) return `${model}.${key} has an output transform`;
      if (field.type === "string[]" || field.type === "number[]" || field.type === "json") return `${model}.${key} is stored encoded (${String(field.type)})`;
    }
  }
  if (!hooks) return undefined;
  return pluginBlocker(o.plugins, endpointProbe("/get-session", {}, ctx.authCookies), (plugin) => NOOP_ON_PLAIN_READ[plugin.id]?.(o, plugin) ?? false);
}

/** `{basePath}{endpoint}` beside the plan's `{basePath}/get-session`. */
export function siblingPath(getSessionPath: string, endpoint: "/token" | "/jwks"): string {
  return getSessionPath.replace(/\/get-session$/, endpoint);
}

/** An endpoint context as a hook matcher sees it, for a GET of `path` carrying `headers`. */
export function endpointProbe(path: string, headers: Record<string, string>, authCookies: unknown): { path: string } {
  return {
    path,
    method: "GET",
    headers: new Headers(headers),
    request: new Request(`http://localhost/api/auth${path}`, { headers }),
    body: undefined,
    query: {},
    context: { responseHeaders: new Headers(), authCookies, returned: undefined },
  } as { path: string };
}

type ProbedPlugin = { id: string; options?: unknown; onRequest?: unknown; onResponse?: unknown; hooks?: { before?: { matcher: (c: unknown) => unknown }[]; after?: { matcher: (c: unknown) => unknown }[] } };

/**
 * Which plugin would act on the `probe` endpoint context (an onRequest/onResponse, or a hook
 * whose matcher takes it) without being `harmless` on the lean path; undefined when none.
 */
export function pluginBlocker(plugins: unknown, probe: { path: string }, harmless: (plugin: ProbedPlugin) => boolean): string | undefined {
  for (const plugin of (plugins ?? []) as ProbedPlugin[]) {
    if (plugin.onRequest && !NOOP_ON_REQUEST.has(plugin.id)) return `plugin ${plugin.id} has onRequest`;
    if (plugin.onResponse) return `plugin ${plugin.id} has onResponse`;
    for (const hook of [...(plugin.hooks?.before ?? []), ...(plugin.hooks?.after ?? [])]) {
      let matches: boolean;
      try {
        matches = Boolean(hook.matcher(probe));
      } catch {
        matches = true; // cannot tell: assume it acts
      }
      if (matches && !harmless(plugin)) return `plugin ${plugin.id} hooks ${probe.path}`;
    }
  }
  return undefined;
}

/** Keys of `table` Better Auth returns (filterOutputFields drops `returned: false`), in column order. */
function outputKeys(table: Table, cols: Column[]): string[] {
  return cols.filter((c) => (table.fields[c.key] as { returned?: boolean } | undefined)?.returned !== false).map((c) => c.key);
}

export function plan(ctx: AuthContext): Plan {
  const session = ctx.tables.session!;
  const user = ctx.tables.user!;
  const s = columns(session, "s");
  const u = columns(user, "u");
  const col = (t: Table, key: string) => quote(t.fields[key]?.fieldName ?? key);
  const sql =
    `SELECT ${s.map((c) => `s.${col(session, c.key)} AS ${c.alias}`).join(", ")}, ${u.map((c) => `u.${col(user, c.key)} AS ${c.alias}`).join(", ")}` +
    ` FROM ${quote(session.modelName)} s JOIN ${quote(user.modelName)} u ON u.${col(user, "id")} = s.${col(session, "userId")}` +
    ` WHERE s.${col(session, "token")} = $1`;
  return {
    path: `${ctx.options.basePath || "/api/auth"}/get-session`,
    secret: ctx.secret,
    sessionCookie: ctx.authCookies.sessionToken.name,
    authCookiePrefix: (ctx.options.advanced?.cookiePrefix || "better-auth") + ".",
    sql,
    session: s,
    user: u,
    sessionOutput: outputKeys(session, s),
    userOutput: outputKeys(user, u),
    expiresIn: ctx.sessionConfig.expiresIn,
    updateAge: ctx.sessionConfig.updateAge,
  };
}

const SECURE_PREFIX = "__Secure-";

/** The build-time snapshot of `ctx`'s plan (session-read-snapshot.ts; the test compares it with a live context). */
export function snapshotOf(ctx: AuthContext): PlanSnapshot {
  const { secret: _secret, sessionCookie, ...rest } = plan(ctx);
  return {
    version: 1,
    blocker: leanReadBlocker(ctx) ?? null,
    sessionCookieBase: sessionCookie.startsWith(SECURE_PREFIX) ? sessionCookie.slice(SECURE_PREFIX.length) : sessionCookie,
    plan: rest,
    tokenBlocker: tokenLeanBlocker(ctx) ?? null,
    jwksBlocker: jwksLeanBlocker(ctx) ?? null,
  };
}

/**
 * The plan for `config` from a snapshot, or undefined when there is no lean path: a blocked
 * snapshot, or a config Better Auth reads sessions differently for (Redis holds them first).
 * The secret is the first version's: Better Auth signs cookies with `secrets[0]` (ctx.secret).
 */
export function planFromSnapshot(snapshot: PlanSnapshot | undefined, config: Pick<AuthConfig, "secrets" | "redisUrl" | "baseURL" | "trustedOrigins">): Plan | undefined {
  if (!snapshot || snapshot.version !== 1 || snapshot.blocker !== null) return undefined;
  if (config.redisUrl) return undefined;
  const secret = config.secrets[0]?.value;
  if (!secret) return undefined;
  // Lifetimes from the module auth.ts takes them from, like the cookie rule: what runs decides.
  return {
    ...snapshot.plan,
    secret,
    sessionCookie: `${secureCookies(config) ? SECURE_PREFIX : ""}${snapshot.sessionCookieBase}`,
    expiresIn: SESSION_EXPIRES_IN,
    updateAge: SESSION_UPDATE_AGE,
  };
}

/** Why two plans differ (the first differing field), or undefined when they are the same. */
export function planDifference(a: Plan, b: Plan): string | undefined {
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Plan>) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return key;
  }
  return undefined;
}

declare const __AUTHPLANE_SESSION_PLAN__: string | undefined;
/** The snapshot functions/build.ts embedded in this bundle; undefined when running from source. */
export const EMBEDDED_SNAPSHOT: PlanSnapshot | undefined =
  typeof __AUTHPLANE_SESSION_PLAN__ === "string" ? (JSON.parse(__AUTHPLANE_SESSION_PLAN__) as PlanSnapshot) : undefined;

/**
 * better-call's cookie parser (dist/cookies.mjs `parseCookies`: first occurrence wins, quotes
 * stripped, %-decoding when it decodes), plus which names occur more than once.
 */
export function parseCookieHeader(str: string): { cookies: Map<string, string>; repeated: Set<string> } {
  const cookies = new Map<string, string>();
  const repeated = new Set<string>();
  let index = 0;
  while (index < str.length) {
    const eqIdx = str.indexOf("=", index);
    if (eqIdx === -1) break;
    let endIdx = str.indexOf(";", index);
    if (endIdx === -1) endIdx = str.length;
    else if (endIdx < eqIdx) {
      index = str.lastIndexOf(";", eqIdx - 1) + 1;
      continue;
    }
    const key = str.slice(index, eqIdx).trim();
    if (cookies.has(key)) repeated.add(key);
    else {
      let val = str.slice(eqIdx + 1, endIdx).trim();
      if (val.codePointAt(0) === 34) val = val.slice(1, -1);
      cookies.set(key, tryDecode(val));
    }
    index = endIdx + 1;
  }
  return { cookies, repeated };
}

function tryDecode(str: string): string {
  try {
    return str.includes("%") ? decodeURIComponent(str) : str;
  } catch {
    return str;
  }
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

function only(data: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (key in data) out[key] = data[key];
  return out;
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

/** A lean path (get-session here, /token and /jwks beside it): a Response, or undefined for Better Auth. */
export interface LeanPath {
  (req: Request): Promise<Response | undefined>;
  /** Requests this path answered itself (tests, benchmarks). */
  served: number;
  /** Turn the path off for good (every later request goes to Better Auth). */
  disable(): void;
}

export type LeanSessionRead = LeanPath;

const readers = new WeakMap<object, LeanSessionRead>();

/** The lean get-session reader for `auth` (one per instance), reading from `pool` (the pool Better Auth uses). */
export function leanSessionRead(auth: AnyAuth, pool: pg.Pool): LeanSessionRead {
  let reader = readers.get(auth);
  if (!reader) readers.set(auth, (reader = createReader(() => contextPlan(auth), pool)));
  return reader;
}

/**
 * Whether Better Auth's limiter may count `path`: unless limits are off, only a `false` custom
 * rule exempts it. Better Auth takes the first key that matches (a wildcard key among them may
 * come first), so any wildcard key counts as a limit here.
 */
export function rateLimited(rateLimit: { enabled?: boolean; customRules?: unknown } | undefined, path: string): boolean {
  if (rateLimit?.enabled === false) return false;
  const rules = (rateLimit?.customRules ?? {}) as Record<string, unknown>;
  return rules[path] !== false || Object.keys(rules).some((k) => k.includes("*"));
}

/** The plan from Better Auth's initialised context (source runs, tests, the snapshot check). */
export function contextPlan(auth: AnyAuth): Promise<Plan | undefined> {
  return (auth.$context as Promise<AuthContext>).then(
    (ctx) => (leanReadBlocker(ctx) ? undefined : plan(ctx)),
    () => undefined,
  );
}

/** A reader from a plan known without Better Auth (planFromSnapshot): nothing of Better Auth loads. */
export function snapshotSessionRead(p: Plan, pool: pg.Pool): LeanSessionRead {
  return createReader(() => Promise.resolve(p), pool);
}

function createReader(planOf: () => Promise<Plan | undefined>, pool: pg.Pool): LeanSessionRead {
  return leanGet(planOf, async (req, p) => {
    const found = await plainSession(p, req.headers, pool);
    return found && new Response(JSON.stringify(found), { status: 200, headers: HEADERS });
  });
}

/**
 * The frame of every lean path: a GET without a query string on exactly the plan's `path` (the
 * plan asked once; none, or a failure, declines for good) goes to `answer`; a Response it gives
 * counts as served, undefined hands the request to Better Auth, and `disable()` turns it off.
 */
export function leanGet<P extends { path: string }>(planOf: () => Promise<P | undefined>, answer: (req: Request, plan: P) => Promise<Response | undefined>): LeanPath {
  let ready: Promise<P | undefined> | undefined;
  let off = false;
  const path = (async (req: Request) => {
    if (off || req.method !== "GET" || req.url.includes("?")) return undefined;
    const p = await (ready ??= planOf().catch(() => undefined));
    if (off || !p || !req.url.endsWith(p.path) || new URL(req.url).pathname !== p.path) return undefined;
    const res = await answer(req, p);
    if (res) path.served++;
    return res;
  }) as LeanPath;
  path.served = 0;
  path.disable = () => {
    off = true;
  };
  return path;
}

/**
 * The session and user of a plain read (Better Auth's parsed output), or undefined for anything
 * Better Auth must decide itself.
 */
export async function plainSession(p: Plan, headers: Headers, pool: pg.Pool): Promise<{ session: Record<string, unknown>; user: Record<string, unknown> } | undefined> {
  if (headers.has("authorization")) return undefined;
  const header = headers.get("cookie");
  if (!header) return undefined;
  const { cookies, repeated } = parseCookieHeader(header);
  // Which of two same-named cookies counts is the browser's and the parser's business: not ours.
  if (repeated.has(p.sessionCookie)) return undefined;
  for (const name of cookies.keys()) if (name !== p.sessionCookie && name.includes(p.authCookiePrefix)) return undefined;
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
  return { session: only(session, p.sessionOutput), user: only(user, p.userOutput) };
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
