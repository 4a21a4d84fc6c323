/**
 * The database going away (a restart, an Aurora failover or pause) is a fault of ours, not of
 * the caller, and must look like one: 503 with Retry-After, never a crash, never a 500, never a
 * valid session read as "signed out".
 *
 * Two things make that hard with Better Auth on node-postgres:
 * - a client that is checked out when the server goes away emits `error` on the client, where
 *   the pool's own listener (idle clients only) does not hear it: unhandled, the process dies;
 * - Better Auth catches some database errors itself and answers as if there were no session
 *   (`getSessionFromCtx` turns any failure into `null`, so `/token` says 401).
 *
 * So the pool is instrumented once: every client gets an `error` listener on connect, and every
 * connect and query failure is noted in the request's scope (AsyncLocalStorage, captured when
 * the query is issued). `dbFaultGuard` runs each request in a scope and, when the database
 * failed underneath it, replaces whatever was answered by a 503.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";
import type pg from "pg";

/** Seconds a client should wait before retrying; a restart or failover takes about this long. */
export const DB_RETRY_AFTER_SECONDS = 2;

interface DbFaultScope {
  /** The database was unreachable during this request. */
  unavailable?: { code: string };
  /** PostgreSQL refused a value the caller sent (class 22 data exception, not-null violation). */
  rejectedValue?: { code: string };
}

const scope = new AsyncLocalStorage<DbFaultScope>();

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]);
// pg's own wording for a dead or unobtainable connection (it sets no code on these).
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|not queryable|Client was closed|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)/i;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * True for errors that mean "the database cannot be reached right now", as opposed to a query
 * that reached it and failed: network errors, admin shutdown / crash shutdown / cannot connect
 * now (57P01-57P03), connection exceptions (08xxx), too many connections (53300), and pg's
 * messages for terminated connections and pool acquire timeouts.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const code = codeOf(err);
  if (code && (NETWORK_CODES.has(code) || /^57P0[123]$/.test(code) || /^08/.test(code) || code === "53300")) return true;
  const message = (err as { message?: unknown }).message;
  if (typeof message === "string" && CONNECTION_MESSAGES.test(message)) return true;
  // AggregateError (a host with several addresses, all refused) and wrapped causes.
  const nested = [(err as { cause?: unknown }).cause, ...(((err as { errors?: unknown }).errors as unknown[]) ?? [])];
  return nested.some((e) => e !== err && isDatabaseUnavailable(e));
}

/** A value PostgreSQL refused: NUL or invalid text (class 22), or a missing required value (23502). */
function isRejectedValue(err: unknown): boolean {
  const code = codeOf(err);
  return !!code && (/^22/.test(code) || code === "23502");
}

/**
 * Process-wide: is the database believed down right now (a connection-class failure since the
 * last success)? A failure can surface in a request other than the one whose query failed:
 * work shared between requests (a cache filled once for all) fails in the scope of whoever
 * started it. A 500 while the database is down is then still a 503.
 */
let downSince: number | undefined;

function note(store: DbFaultScope | undefined, err: unknown): void {
  if (isDatabaseUnavailable(err)) {
    downSince ??= Date.now();
    if (store) store.unavailable ??= { code: codeOf(err) ?? "connection" };
  } else if (store && isRejectedValue(err)) store.rejectedValue ??= { code: codeOf(err)! };
}

function healthy(): void {
  downSince = undefined;
}

const instrumented = new WeakSet<pg.Pool>();

type Callback = (err: unknown, ...rest: unknown[]) => void;

/** Wrap the last argument when it is a node-style callback, so failures are noted before it runs. */
function observeCallback(args: unknown[], store: DbFaultScope | undefined): unknown[] {
  const last = args[args.length - 1];
  if (typeof last !== "function") return args;
  const cb = last as Callback;
  return [...args.slice(0, -1), (err: unknown, ...rest: unknown[]) => (err ? note(store, err) : healthy(), cb(err, ...rest))];
}

/**
 * Make a pool safe to lose its server: listeners on every client, failures noted per request.
 * Idempotent. Errors are logged as one JSON line with the code only (messages can carry values).
 */
export function instrumentPool<P extends pg.Pool>(pool: P): P {
  if (instrumented.has(pool)) return pool;
  instrumented.add(pool);
  const warn = (msg: string) => (err: Error) => console.error(JSON.stringify({ level: "warn", msg, code: codeOf(err) ?? err.name }));
  // Idle clients: the pool's own `error` event (it already drops the client).
  pool.on("error", warn("idle database connection lost"));
  const clientLost = warn("database connection lost");
  pool.on("connect", (client) => {
    // Checked-out clients emit here; without a listener the process would crash. The query in
    // flight fails on its own and the pool discards the client when it is released.
    client.on("error", clientLost);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const store = scope.getStore();
      const result = query(...observeCallback(args, store));
      if (result && typeof (result as Promise<unknown>).then === "function" && typeof (result as Promise<unknown>).catch === "function") {
        return (result as Promise<unknown>).then(
          (value) => (healthy(), value),
          (err: unknown) => {
            note(store, err);
            throw err;
          },
        );
      }
      return result;
    };
  });
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { connect: unknown }).connect = (...args: unknown[]) => {
    const store = scope.getStore();
    if (typeof args[0] === "function") return connect(...observeCallback(args, store));
    return (connect() as Promise<pg.PoolClient>).catch((err: unknown) => {
      note(store, err);
      throw err;
    });
  };
  return pool;
}

/** The service's answer while the database is unreachable. */
export function databaseUnavailable(): Response {
  return new Response(
    JSON.stringify({ error: "database_unavailable", message: "the database is unreachable; retry shortly" }),
    { status: 503, headers: { "content-type": "application/json", "retry-after": String(DB_RETRY_AFTER_SECONDS), "cache-control": "no-store" } },
  );
}

function invalidInput(): Response {
  return new Response(JSON.stringify({ error: "invalid_input", message: "a value in the request was refused" }), {
    status: 400,
    headers: { "content-type": "application/json" },
  });
}

type Ctx = Parameters<MiddlewareHandler>[0];
const faults = new WeakMap<Ctx, string>();

/** The database error code behind this request's answer, if the guard replaced it (for the log). */
export function dbFaultOf(c: Ctx): string | undefined {
  return faults.get(c);
}

/**
 * Run the rest of the request in a fault scope; if the database was unreachable at any point,
 * answer 503 whatever the inner layers made of it (a 500, a 401, `null`). None of the inner
 * response's headers survive except CORS: a failed read must not clear a session cookie.
 */
export function dbFaultGuard(): MiddlewareHandler {
  return async (c, next) => {
    const store: DbFaultScope = {};
    await scope.run(store, next);
    // A route that already answered its own 503 (e.g. the revocation feed) knows best.
    const answered503 = c.res.status === 503 && c.res.headers.has("retry-after");
    const downNow = downSince !== undefined && c.res.status >= 500;
    if ((store.unavailable || downNow || isDatabaseUnavailable(c.error)) && !answered503) {
      faults.set(c, store.unavailable?.code ?? codeOf(c.error) ?? "connection");
      replaceResponse(c, databaseUnavailable());
    } else if (store.rejectedValue && c.res.status >= 500) {
      // The input guard should have stopped it; PostgreSQL did. Still the caller's error.
      faults.set(c, store.rejectedValue.code);
      replaceResponse(c, invalidInput());
    }
  };
}

function replaceResponse(c: Ctx, res: Response): void {
  for (const [k, v] of c.res.headers) if (k.startsWith("access-control-") || k === "vary") res.headers.set(k, v);
  // Hono merges the previous response's headers (Set-Cookie included) into a new one; start clean.
  c.res = undefined as unknown as Response;
  c.res = res;
}
