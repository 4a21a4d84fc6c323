/**
 * End to end with the real auth service (real PostgreSQL, Better Auth, its /revocations feed)
 * behind a real loopback HTTP server, and the real authorizer fetching its JWKS and the feed over
 * it: a token minted before `npm run apps -- offboard` is refused once the refresh bound has
 * passed (short interval here; 15 s + 30 s result cache in production), without any call per
 * request.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer, type LogLine } from "../../../functions/authorizer/authorizer.js";
import { configFromEnv } from "../../../functions/authorizer/config.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { runApps } from "../../../ops/apps.js";
import { APP_ONE, AUDIENCE, AUTH_URL, Browser, startService, testEnv, type Service } from "../auth/harness.js";
import { httpEvent } from "./support.js";

describe("offboarding reaches the authorizer through the revocation feed", () => {
  let service: Service;
  let env: Record<string, string | undefined>;
  let bridge: Server;
  let base: string;
  const requests: string[] = [];

  beforeAll(async () => {
    env = await testEnv("authorizer_offboard");
    service = await startService(env);
    // The service over real HTTP: what the authorizer's fetch talks to in production.
    bridge = createServer(async (req, res) => {
      requests.push(req.url ?? "");
      const headers: Record<string, string> = {};
      if (typeof req.headers["if-none-match"] === "string") headers["if-none-match"] = req.headers["if-none-match"];
      const answer = await service.app.request(`${AUTH_URL}${req.url}`, { headers });
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((r) => bridge.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((r) => (bridge ? bridge.close(() => r()) : r()));
    await service?.close();
  });

  it("a token minted before offboard is refused with `revoked` once the feed refreshes; the JWKS and feed are fetched, not called per request", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("leaves-soon@example.org");
    const { token } = await browser.json<{ token: string }>("/api/auth/token");

    const logs: LogLine[] = [];
    const refreshMs = 300;
    const authorizer = createAuthorizer(
      configFromEnv({
        JWKS_URL: `${base}/api/auth/jwks`,
        JWT_ISSUER: AUTH_URL,
        JWT_AUDIENCE: AUDIENCE,
        REVOCATIONS_URL: `${base}/revocations`,
        REVOCATIONS_REFRESH_MS: String(refreshMs),
      }),
      { log: (l) => logs.push(l), metrics: () => {} },
    );
    // A platform-wide API: this person belongs to no app, which is beside the point here.
    const event = httpEvent(`Bearer ${token}`, {}, { authplane_app: "*" });
    const decide = async () => {
      const before = logs.length;
      const response = (await authorizer.handle(event)) as { isAuthorized: boolean };
      return response.isAuthorized ? "allow" : String(logs.slice(before).find((l) => l.msg === "authorizer.deny")?.reason);
    };

    expect(await decide()).toBe("allow");
    for (let i = 0; i < 20; i++) expect(await decide()).toBe("allow");
    expect(requests.filter((u) => u.startsWith("/api/auth/jwks"))).toHaveLength(1);
    expect(requests.filter((u) => u.startsWith("/revocations"))).toHaveLength(1);

    await runApps(["offboard", "--email", "leaves-soon@example.org"], { DATABASE_URL: env.DATABASE_URL });
    // Past 4/3 of the refresh interval every decision rests on a copy fetched after the offboard.
    await new Promise((r) => setTimeout(r, (refreshMs * 4) / 3 + 100));
    expect(await decide()).toBe(DENY.revoked);
    expect(await decide()).toBe(DENY.revoked);
    // Conditional refreshes only: a handful of feed requests, not one per decision.
    expect(requests.filter((u) => u.startsWith("/revocations")).length).toBeLessThanOrEqual(3);
  }, 60_000);
});
