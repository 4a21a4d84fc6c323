/**
 * Every 5xx is one stable JSON line, whoever produced it, and the line carries nothing the
 * request did: a 500 Better Auth builds itself (here: a table it needs is gone) and the 503 of
 * a database outage are both logged, without query, cookie, body or error message.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { isDatabaseUnavailable } from "../../../functions/auth/db-faults.js";
import { routeShape } from "../../../functions/auth/error-log.js";
import { freePort } from "../../support/postgres.js";
import { APP_ONE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

const MARKER = "secret-marker-7f3a";

function captureErrors() {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  return { lines: () => lines.filter((l) => l.includes('"server_error"')), restore: () => spy.mockRestore() };
}

describe("one JSON line per 5xx", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService(await testEnv("error_log"));
  });
  afterAll(() => service.close());

  it("a 500 Better Auth answers itself is logged once, with a stable shape and no request contents", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("log@example.org");
    await service.pool.query(`DROP TABLE "passkey"`);
    const log = captureErrors();
    try {
      const res = await browser.fetch(`/api/auth/passkey/list-user-passkeys?note=${MARKER}`, { headers: { "x-note": MARKER } });
      expect(res.status).toBe(500);
      const lines = log.lines();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: "server_error", status: 500, method: "GET", route: "/api/auth/passkey/list-user-passkeys" });
      expect(lines[0]).not.toContain(MARKER);
      expect(lines[0]).not.toMatch(/session_token|relation/);
    } finally {
      log.restore();
    }
  });

  it("an unreachable database is a logged 503 with Retry-After, never a 500", async () => {
    const port = await freePort();
    const app = createApp(configFromEnv({ ...(await testEnv("error_log_down")), DATABASE_URL: `postgres://nobody:x@127.0.0.1:${port}/none`, VALIDATE_SCHEMA: "false" }));
    const log = captureErrors();
    try {
      const res = await app.request(`${AUTH_URL}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: APP_ONE },
        body: JSON.stringify({ email: `${MARKER}@example.org`, password: MARKER }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await res.json()).toMatchObject({ error: "database_unavailable" });
      const lines = log.lines();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ status: 503, code: "database_unavailable" });
      expect(lines[0]).not.toContain(MARKER);
    } finally {
      log.restore();
    }
  });

  it("the route shape keeps words and hides values", () => {
    expect(routeShape("/api/auth/reset-password/abc%00def")).toBe("/api/auth/reset-password/:value");
    expect(routeShape("/api/auth/callback/google")).toBe("/api/auth/callback/google");
  });

  it("classifies connection failures, not query failures, as the database being unavailable", () => {
    const refused = Object.assign(new AggregateError([Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })]), { message: "" });
    for (const err of [{ code: "ECONNREFUSED" }, { code: "57P01" }, { code: "08006" }, new Error("Connection terminated unexpectedly"), new Error("timeout exceeded when trying to connect"), refused]) {
      expect(isDatabaseUnavailable(err), String(err)).toBe(true);
    }
    for (const err of [{ code: "22021" }, { code: "23505" }, { code: "42P01" }, new Error("syntax error"), null, "x"]) {
      expect(isDatabaseUnavailable(err), String(err)).toBe(false);
    }
  });
});
