/**
 * One side of `npm run bench:service`, in a process of its own so the two never share a CPU
 * queue or a pool: `BENCH_TARGET=real` runs the auth service's node adapter (server.ts),
 * `BENCH_TARGET=floor` a bare Hono app on @hono/node-server that runs the fixed query set the
 * real endpoints ran before issue 12 (see FLOOR_SQL) plus, for /token, one RS256 sign with a key
 * held in memory. Both count every query pg sends and report their process CPU (every thread);
 * the parent asks over IPC.
 *
 * Prints one JSON line `{"url": …}` on stdout when listening. Loopback only.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createPrivateKey, randomUUID, sign, type KeyObject } from "node:crypto";
import pg from "pg";

let queries = 0;
const captured: string[] = [];
const capture = process.env.BENCH_CAPTURE === "1";
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
// Counting at the client is what PostgreSQL sees: one call, one round trip (pg pipelines nothing).
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  if (capture) {
    const q = args[0];
    captured.push(typeof q === "string" ? q : ((q as { text?: string })?.text ?? String(q)));
  }
  return originalQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

process.on("message", (msg: { type: string }) => {
  if (msg.type === "count") {
    const cpu = process.cpuUsage();
    process.send!({ type: "count", queries, captured: captured.splice(0), cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});

/**
 * What get-session, token and jwks sent to PostgreSQL before issue 12 (steady state), captured
 * once with `BENCH_CAPTURE=1 npm run bench:service` against the seed (Better Auth 1.7.6,
 * database rate limiter on) and frozen here so the floor stays fixed while the service gets
 * cheaper: get-session 4 queries, /token 7, /jwks 3. Rate-limit keys, session token, user and
 * org ids are bound per request as the real service did.
 */
export const FLOOR_SQL = {
  rateLimitSelect: `select "primary".* from (select * from "rateLimit" where "rateLimit"."key" = $1 limit $2) as "primary"`,
  rateLimitUpdate: `update "rateLimit" set "lastRequest" = $1, "count" = "count" + $2 where ("rateLimit"."key" = $3 and "rateLimit"."lastRequest" > $4 and "rateLimit"."count" < $5) and "rateLimit"."id" in (select "rateLimit"."id" from "rateLimit" where ("rateLimit"."key" = $6 and "rateLimit"."lastRequest" > $7 and "rateLimit"."count" < $8) limit $9) returning *`,
  rateLimitInsert: `insert into "rateLimit" ("key", "count", "lastRequest", "id") values ($1, $2, $3, $4) returning *`,
  session: `select "primary".* from (select * from "session" where "session"."token" = $1) as "primary"`,
  user: `select "primary".* from (select * from "user" where "user"."id" = $1) as "primary"`,
  member: `SELECT o.id, o.slug, m.role FROM "member" m JOIN "organization" o ON o.id = m."organizationId"
      WHERE m."userId" = $1 AND m."organizationId" = $2`,
  roles: `SELECT role, permission FROM "organizationRole" WHERE "organizationId" = $1 AND role = ANY($2::text[])`,
  jwks: `select "primary".* from (select * from "jwks" limit $1) as "primary"`,
} as const;

function floorApp(pool: pg.Pool, signingKey: KeyObject, kid: string): Hono {
  const app = new Hono();
  const rateLimit = async (ip: string, path: string) => {
    const key = `${ip}|${path}`;
    const now = Date.now();
    const max = 1_000_000_000;
    const { rows } = await pool.query(FLOOR_SQL.rateLimitSelect, [key, 1]);
    if (!rows[0]) {
      await pool.query(FLOOR_SQL.rateLimitInsert, [key, 1, now, randomUUID()]).catch(() => undefined);
      return;
    }
    const since = now - 60_000;
    await pool.query(FLOOR_SQL.rateLimitUpdate, [now, 1, key, since, max, key, since, max, 1]);
  };
  const session = async (cookie: string | undefined) => {
    const token = /session_token=([^;.]+)/.exec(cookie ?? "")?.[1];
    if (!token) return null;
    const s = (await pool.query(FLOOR_SQL.session, [token])).rows[0];
    if (!s) return null;
    const u = (await pool.query(FLOOR_SQL.user, [s.userId])).rows[0];
    return { session: s, user: u };
  };
  app.get("/api/auth/get-session", async (c) => {
    await rateLimit("127.0.0.1", "/get-session");
    return c.json(await session(c.req.header("cookie")));
  });
  app.get("/api/auth/token", async (c) => {
    await rateLimit("127.0.0.1", "/token");
    const found = await session(c.req.header("cookie"));
    if (!found) return c.json({ error: "unauthorized" }, 401);
    const orgId = found.session.activeOrganizationId as string;
    const member = (await pool.query(FLOOR_SQL.member, [found.user.id, orgId])).rows[0];
    const roles = (await pool.query(FLOOR_SQL.roles, [orgId, String(member?.role ?? "").split(",")])).rows;
    await pool.query(FLOOR_SQL.jwks, [100]);
    const iat = Math.floor(Date.now() / 1000);
    const seg = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${seg({ alg: "RS256", kid })}.${seg({ iat, sub: found.user.id, email: found.user.email, org_id: orgId, org_slug: member?.slug, role: member?.role, permissions: roles, exp: iat + 900 })}`;
    const signature = await new Promise<Buffer>((resolve, reject) => sign("sha256", Buffer.from(input), signingKey, (err, sig) => (err ? reject(err) : resolve(sig))));
    return c.json({ token: `${input}.${signature.toString("base64url")}` });
  });
  app.get("/api/auth/jwks", async (c) => {
    await rateLimit("127.0.0.1", "/jwks");
    const { rows } = await pool.query(FLOOR_SQL.jwks, [100]);
    return c.json({ keys: rows.map((r) => ({ alg: r.alg, ...JSON.parse(r.publicKey), kid: r.id })) });
  });
  return app;
}

async function main(): Promise<void> {
  const target = process.env.BENCH_TARGET;
  let url: string;
  if (target === "real") {
    const { startServer } = await import("../functions/auth/server.js");
    const { configFromEnv } = await import("../functions/auth/config.js");
    url = (await startServer(configFromEnv(process.env), { port: Number(process.env.BENCH_PORT ?? 0), hostname: "127.0.0.1" })).url;
  } else if (target === "floor") {
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
    // PostgreSQL stops before this process at the end of a run: an idle client's error must not crash it.
    pool.on("error", () => {});
    const jwk = JSON.parse(process.env.BENCH_FLOOR_JWK ?? "");
    const app = floorApp(pool, createPrivateKey({ key: jwk, format: "jwk" }), "floor-key");
    url = await new Promise<string>((resolve) => serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(`http://127.0.0.1:${info.port}`)));
  } else {
    throw new Error(`BENCH_TARGET must be "real" or "floor", got ${target}`);
  }
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  // The parent owns our life: when it goes, so do we.
  process.on("disconnect", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0)); // a clean exit, so --cpu-prof gets written
}

main().catch((err: Error) => {
  console.error(`bench target failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
