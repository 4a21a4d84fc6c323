/**
 * The proxy in front of the real auth service over real HTTP: the app's origin is what the
 * service sees, cookies come back first-party for the app, redirects are passed to the browser.
 */
import { createServer } from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { startServer, type RunningServer } from "../../../functions/auth/server.js";
import { createAuthProxy, PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER, verifyForwarded } from "../../../functions/proxy/index.js";
import { freePort } from "../../support/postgres.js";
import { APP_ONE, PROXY_SECRET, testEnv } from "../auth/harness.js";

describe("the /api/auth proxy", () => {
  let server: RunningServer;
  let proxy: (req: Request) => Promise<Response>;

  beforeAll(async () => {
    const config = configFromEnv(await testEnv("proxy"));
    await migrate(config);
    server = await startServer(config, { port: await freePort() });
    proxy = createAuthProxy({ authServiceUrl: server.url, secret: PROXY_SECRET, clientIp: () => "203.0.113.9" });
  });
  afterAll(() => server.close());

  const viaApp = (path: string, init: RequestInit = {}) =>
    proxy(new Request(`${APP_ONE}${path}`, { ...init, headers: { host: "app-one.authplane.test", origin: APP_ONE, ...(init.headers as Record<string, string>) } }));

  it("signs up through the app's origin and gets a first-party session cookie", async () => {
    const res = await viaApp("/api/auth/sign-up/email", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "proxied@example.org", name: "P", password: "correct horse battery staple" }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((c) => c.includes("session_token"))!;
    expect(cookie).toMatch(/^__Secure-/);
    expect(cookie).not.toMatch(/domain=/i);
    const session = await viaApp("/api/auth/get-session", { headers: { cookie: cookie.split(";")[0]! } });
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe("proxied@example.org");
  });

  it("a host the service does not serve, forwarded by a proxy, is refused with 421", async () => {
    const res = await proxy(new Request("https://elsewhere.example/api/auth/get-session", { headers: { host: "elsewhere.example" } }));
    expect(res.status).toBe(421);
  });

  it("a proxy that does not hold the service's secret is not believed: the request is judged by its own host", async () => {
    const impostor = createAuthProxy({ authServiceUrl: server.url, secret: "not-the-service-secret-0123456789abcdef", clientIp: () => "203.0.113.10" });
    const res = await impostor(new Request(`${APP_ONE}/api/auth/get-session`, { headers: { host: "app-one.authplane.test", origin: APP_ONE } }));
    // Its own host is the loopback address, which this service does not serve.
    expect(res.status).toBe(421);
    expect(() => createAuthProxy({ authServiceUrl: server.url, secret: "" })).toThrow(/secret/);
  });

  it("signs what it forwards and replaces whatever the browser sent under those names", async () => {
    let seen: Headers | undefined;
    const upstream = createServer((req, res) => {
      seen = new Headers(req.headers as Record<string, string>);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const { port } = upstream.address() as { port: number };
    try {
      const p = createAuthProxy({ authServiceUrl: `http://127.0.0.1:${port}`, secret: PROXY_SECRET, clientIp: () => "198.51.100.1" });
      const forged = { [PROXY_SIGNATURE_HEADER]: `t=${Math.floor(Date.now() / 1000)},v1=${"A".repeat(43)}`, [PROXY_CLIENT_HEADER]: "192.0.2.66", "x-forwarded-host": "evil.example" };
      await p(new Request(`${APP_ONE}/api/auth/get-session`, { headers: { host: "app-one.authplane.test", ...forged } }));
      expect(verifyForwarded(seen!, [PROXY_SECRET])).toEqual({ host: "app-one.authplane.test", proto: "https", client: "198.51.100.1" });
    } finally {
      upstream.close();
    }
  });

  it("passes redirects to the browser, strips hop-by-hop headers and never double-decodes", async () => {
    const upstream = createServer((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(302, { location: "https://accounts.example/authorize", connection: "close" }).end();
        return;
      }
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "application/json", "x-seen-host": String(req.headers["x-forwarded-host"]), "x-seen-for": String(req.headers["x-forwarded-for"]) });
      res.end(gzipSync(JSON.stringify({ ok: true })));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const { port } = upstream.address() as { port: number };
    const p = createAuthProxy({ authServiceUrl: `http://127.0.0.1:${port}`, secret: PROXY_SECRET, clientIp: () => "198.51.100.1" });
    try {
      const redirect = await p(new Request(`${APP_ONE}/redirect`, { headers: { host: "app-one.authplane.test" } }));
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get("location")).toBe("https://accounts.example/authorize");
      expect(redirect.headers.get("connection")).toBeNull();
      const body = await p(new Request(`${APP_ONE}/json`, { headers: { host: "app-one.authplane.test", "x-forwarded-for": "192.0.2.7" } }));
      expect(body.headers.get("content-encoding")).toBeNull();
      expect(await body.json()).toEqual({ ok: true });
      expect(body.headers.get("x-seen-host")).toBe("app-one.authplane.test");
      expect(body.headers.get("x-seen-for")).toBe("192.0.2.7, 198.51.100.1");
    } finally {
      upstream.close();
    }
  });
});
