import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientIp, SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { APP_ONE, AUTH_URL, startService, testEnv, type Service } from "./harness.js";

const h = (init: Record<string, string>) => new Headers(init);

describe("client IP for rate limits", () => {
  it("takes the entry our own edge appended, ignoring what the client wrote before it", () => {
    expect(clientIp(h({ "x-forwarded-for": "6.6.6.6, 198.51.100.7" }), { trustProxyHeaders: true })).toBe("198.51.100.7");
    expect(clientIp(h({ "x-forwarded-for": "198.51.100.7" }), { trustProxyHeaders: false })).toBe("198.51.100.7");
  });
  it("through an app proxy, takes the browser the proxy saw, not the proxy server", () => {
    const headers = h({ "x-forwarded-host": "app-one.authplane.test", "x-forwarded-for": "6.6.6.6, 203.0.113.5, 192.0.2.80" });
    expect(clientIp(headers, { trustProxyHeaders: true })).toBe("203.0.113.5");
    // Without trusted proxies the forwarded host buys nothing: the edge's entry counts.
    expect(clientIp(headers, { trustProxyHeaders: false })).toBe("192.0.2.80");
  });
  it("falls back to the socket address and ignores garbage", () => {
    expect(clientIp(h({ [SOURCE_IP_HEADER]: "192.0.2.9" }), { trustProxyHeaders: false })).toBe("192.0.2.9");
    expect(clientIp(h({ "x-forwarded-for": "not-an-ip" }), { trustProxyHeaders: false })).toBeNull();
  });
});

describe("rate limits per client behind the app proxies", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService(await testEnv("client_ip"));
  });
  afterAll(() => service.close());

  const signIn = (chain: string, extra: Record<string, string> = {}) =>
    service.app.request(`${AUTH_URL}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP_ONE, "x-forwarded-for": chain, ...extra },
      body: JSON.stringify({ email: "nobody@example.org", password: "wrong-password-123" }),
    });
  const viaProxy = { "x-forwarded-host": "app-one.authplane.test", "x-forwarded-proto": "https" };

  it("two browsers behind the same app server have their own sign-in budgets", async () => {
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await signIn("203.0.113.1, 192.0.2.80", viaProxy)).status);
    expect(first).toEqual([401, 401, 401, 429]);
    expect((await signIn("203.0.113.2, 192.0.2.80", viaProxy)).status).toBe(401);
  });

  it("a direct caller cannot escape its budget by writing X-Forwarded-For", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn(`10.9.9.${i}, 198.51.100.50`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
