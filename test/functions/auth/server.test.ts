/**
 * The node adapter (server.ts) records the socket's peer as the client address without copying
 * the request: a client cannot name its own address, and the lean get-session path answers over
 * real HTTP as Better Auth does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { configFromEnv, type Env } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { startServer, type RunningServer } from "../../../functions/auth/server.js";
import { freePort } from "../../support/postgres.js";
import { testEnv } from "./harness.js";

describe("node server", () => {
  let server: RunningServer;
  let db: pg.Pool;

  beforeAll(async () => {
    const port = await freePort();
    const env: Env = { ...(await testEnv("node_server")), BETTER_AUTH_URL: `http://127.0.0.1:${port}`, TRUSTED_ORIGINS: `http://127.0.0.1:${port}`, ALLOWED_RP_IDS: "127.0.0.1", PASSKEY_RP_ID: "127.0.0.1", TRUST_PROXY_HEADERS: "false" };
    const config = configFromEnv(env);
    await migrate(config);
    db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    server = await startServer(config, { port });
  });
  afterAll(async () => {
    await server?.close();
    await db?.end();
  });

  it("records the socket's address as the client, whatever source or forwarded address the caller writes", async () => {
    const res = await fetch(`${server.url}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.url, [SOURCE_IP_HEADER]: "6.6.6.6", "X-Authplane-Source-Ip": "7.7.7.7", "x-forwarded-for": "8.8.8.8" },
      body: JSON.stringify({ email: "peer@example.org", name: "Peer", password: "correct horse battery staple" }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { rows } = await db.query(`SELECT s."ipAddress" FROM "session" s JOIN "user" u ON u.id = s."userId" WHERE u.email = 'peer@example.org'`);
    expect(rows).toEqual([{ ipAddress: "127.0.0.1" }]);

    const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const session = await fetch(`${server.url}/api/auth/get-session`, { headers: { cookie } });
    expect(session.status).toBe(200);
    expect(session.headers.get("cache-control")).toBe("no-store");
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe("peer@example.org");
  });
});
