/**
 * The node server over real HTTP on a PostgreSQL of its own (not the run's shared one), which
 * is shut down (fast, as `pg_ctl restart -m fast` does) and started again under a bounded load
 * of get-session and token requests from real signed-in sessions. Nothing may crash (an
 * unhandled pg `error` event would kill this worker and fail the run), a valid session must
 * never read as signed out, 503 is the only error and only around the outage, and every
 * session is still valid afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { startServer, type RunningServer } from "../../../functions/auth/server.js";
import { createDatabase, freePort } from "../../support/postgres.js";
import { startRestartablePostgres, type RestartablePostgres } from "../../support/restartable-postgres.js";
import { testEnv } from "./harness.js";

interface Sample {
  startedAt: number;
  endedAt: number;
  status: number;
  path: string;
  retryAfter: string | null;
  body: string;
}

describe("a PostgreSQL restart under load", () => {
  let pg: RestartablePostgres;
  let server: RunningServer;
  const tokens: string[] = [];
  /** Browser-style session cookies: their get-session reads take the lean path (session-read.ts). */
  const cookies: string[] = [];

  beforeAll(async () => {
    pg = await startRestartablePostgres();
    const port = await freePort();
    const config = configFromEnv({
      ...(await testEnv("restart_unused")),
      DATABASE_URL: await createDatabase(pg.adminUrl, "restart"),
      BETTER_AUTH_URL: `http://127.0.0.1:${port}`,
      RATE_LIMIT_ENABLED: "false",
    });
    await migrate(config);
    server = await startServer(config, { port });
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-authplane-client": "native", origin: server.url },
        body: JSON.stringify({ email: `load${i}@example.org`, name: `load${i}`, password: "correct horse battery staple" }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      cookies.push(res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; "));
      expect(cookies.at(-1), "sign-up sets the session cookie").toMatch(/session_token=/);
      tokens.push(((await res.json()) as { token: string }).token);
    }
  });
  afterAll(async () => {
    await server?.close();
    await pg?.close();
  });

  const call = async (path: string, token: string, cookie?: string): Promise<Sample> => {
    const startedAt = performance.now();
    const res = await fetch(`${server.url}/api/auth/${path}`, { headers: cookie ? { cookie } : { authorization: `Bearer ${token}` } });
    const body = await res.text();
    return { startedAt, endedAt: performance.now(), status: res.status, path, retryAfter: res.headers.get("retry-after"), body };
  };

  it("answers 503 with Retry-After while the database is down, never 500 or signed-out, and recovers", async () => {
    const samples: Sample[] = [];
    let running = true;
    let n = 0;
    // Bounded: four clients, at most 4000 requests, stopped by the test once it has seen recovery.
    const worker = async () => {
      while (running && n < 4000) {
        const i = n++;
        const token = tokens[i % tokens.length]!;
        samples.push(await (i % 3 === 2 ? call("get-session", token, cookies[i % cookies.length]) : call(i % 3 ? "get-session" : "token", token)));
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    const waitFor = async (pred: () => boolean) => {
      while (!pred() && running && n < 4000) await new Promise((r) => setTimeout(r, 20));
    };

    await waitFor(() => samples.length >= 40);
    const stopAt = performance.now();
    await pg.stop();
    const downAt = performance.now();
    const before = samples.length;
    await waitFor(() => samples.slice(before).filter((s) => s.status === 503).length >= 20);
    await pg.start();
    const upAt = performance.now();
    // Recovered: the first success of a request started after the server was back.
    await waitFor(() => samples.some((s) => s.startedAt > upAt && s.status === 200));
    const recoveredAt = Math.min(...samples.filter((s) => s.startedAt > upAt && s.status === 200).map((s) => s.startedAt));
    const after = samples.length;
    await waitFor(() => samples.length >= after + 100);
    running = false;
    await load;

    const statuses = new Set(samples.map((s) => s.status));
    expect([...statuses].sort()).toEqual([200, 503]);
    for (const s of samples.filter((x) => x.status === 503)) {
      expect(s.retryAfter).toMatch(/^\d+$/);
      expect(JSON.parse(s.body)).toMatchObject({ error: "database_unavailable" });
      // Only around the outage: in flight when the shutdown began or later, not once recovery was seen.
      expect(s.endedAt).toBeGreaterThanOrEqual(stopAt);
      expect(s.startedAt).toBeLessThan(recoveredAt);
    }
    expect(samples.filter((s) => s.startedAt > downAt && s.startedAt < upAt).length).toBeGreaterThan(0);
    // Requests that succeeded are real answers: a session and a token, never `null`.
    for (const s of samples.filter((x) => x.status === 200)) {
      const body = JSON.parse(s.body) as { user?: unknown; token?: unknown } | null;
      expect(s.path === "token" ? typeof body?.token : typeof body?.user, s.body.slice(0, 80)).toBe(s.path === "token" ? "string" : "object");
    }
  }, 120_000);

  it("every session is still valid afterwards", async () => {
    for (const token of tokens) {
      const s = await call("get-session", token);
      expect(s.status).toBe(200);
      expect((JSON.parse(s.body) as { user: { email: string } }).user.email).toMatch(/^load\d@example\.org$/);
    }
  });
});
