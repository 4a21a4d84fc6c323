import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientIp, SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { PROXY_CLIENT_HEADER, PROXY_SIGNATURE_HEADER, signForwarded, verifyForwarded } from "../../../functions/proxy/signature.js";
import { APP_ONE, AUTH_URL, PROXY_SECRET, proxiedHeaders, startService, testEnv, type Service } from "./harness.js";

const h = (init: Record<string, string>) => new Headers(init);
const policy = { trustProxyHeaders: true, proxySecrets: [PROXY_SECRET] };

describe("client IP for rate limits", () => {
  it("ignores X-Forwarded-For from a direct caller: the transport peer counts", () => {
    expect(clientIp(h({ "x-forwarded-for": "6.6.6.6, 198.51.100.7", [SOURCE_IP_HEADER]: "192.0.2.9" }), policy)).toBe("192.0.2.9");
    expect(clientIp(h({ "x-forwarded-for": "198.51.100.7" }), policy)).toBeNull();
  });

  it("through an app proxy that signed it, takes the browser the proxy saw", () => {
    const headers = h({ ...proxiedHeaders(APP_ONE, "203.0.113.5"), "x-forwarded-for": "6.6.6.6", [SOURCE_IP_HEADER]: "192.0.2.80" });
    expect(clientIp(headers, policy)).toBe("203.0.113.5");
    // TRUST_PROXY_HEADERS off, or a secret we do not hold: the signature buys nothing.
    expect(clientIp(headers, { trustProxyHeaders: false, proxySecrets: [PROXY_SECRET] })).toBe("192.0.2.80");
    expect(clientIp(headers, { trustProxyHeaders: true, proxySecrets: ["another-secret-0123456789abcdef0123456789"] })).toBe("192.0.2.80");
  });

  it("a forged, altered, stale or malformed signature is ignored", () => {
    const good = proxiedHeaders(APP_ONE, "203.0.113.5");
    const peer = { [SOURCE_IP_HEADER]: "192.0.2.80" };
    // The client address changed after signing (a caller choosing another's budget).
    expect(clientIp(h({ ...good, ...peer, [PROXY_CLIENT_HEADER]: "203.0.113.6" }), policy)).toBe("192.0.2.80");
    // The host changed after signing.
    expect(verifyForwarded(h({ ...good, "x-forwarded-host": "app-two.authplane.test" }), [PROXY_SECRET])).toBeNull();
    // Signed two minutes ago, or two minutes ahead.
    for (const skew of [-120_000, 120_000]) {
      const stale = signForwarded(PROXY_SECRET, { host: "app-one.authplane.test", proto: "https", client: "203.0.113.5" }, Date.now() + skew);
      expect(verifyForwarded(h(stale), [PROXY_SECRET])).toBeNull();
    }
    for (const garbage of ["", "t=1,v1=", "v1=abc", `t=${Math.floor(Date.now() / 1000)},v1=${"A".repeat(43)}`, "t=99999999999999999,v1=x"]) {
      expect(verifyForwarded(h({ ...good, [PROXY_SIGNATURE_HEADER]: garbage }), [PROXY_SECRET]), garbage).toBeNull();
    }
    // During a rotation the previous secret still verifies.
    expect(verifyForwarded(h(good), ["new-secret-0123456789abcdef0123456789abcdef", PROXY_SECRET])?.client).toBe("203.0.113.5");
  });

  it("behind a trusted load balancer (TRUSTED_FORWARDERS), the entry it appended is the client; from anyone else it is ignored", () => {
    const lb = { ...policy, trustedForwarders: ["10.0.0.0/8", "192.0.2.1"] };
    const chain = { "x-forwarded-for": "6.6.6.6, 203.0.113.40" };
    expect(clientIp(h({ ...chain, [SOURCE_IP_HEADER]: "10.1.2.3" }), lb)).toBe("203.0.113.40");
    expect(clientIp(h({ ...chain, [SOURCE_IP_HEADER]: "192.0.2.1" }), lb)).toBe("203.0.113.40");
    expect(clientIp(h({ ...chain, [SOURCE_IP_HEADER]: "198.51.100.9" }), lb)).toBe("198.51.100.9");
    expect(clientIp(h({ "x-forwarded-for": "garbage", [SOURCE_IP_HEADER]: "10.1.2.3" }), lb)).toBe("10.1.2.3");
  });

  it("falls back to the socket address and ignores garbage", () => {
    expect(clientIp(h({ [SOURCE_IP_HEADER]: "192.0.2.9" }), policy)).toBe("192.0.2.9");
    expect(clientIp(h({ [SOURCE_IP_HEADER]: "not-an-ip" }), policy)).toBeNull();
  });
});

describe("rate limits per client behind the app proxies", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService(await testEnv("client_ip"));
  });
  afterAll(() => service.close());

  const signIn = (headers: Record<string, string>, email = "nobody@example.org") =>
    service.app.request(`${AUTH_URL}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP_ONE, ...headers },
      body: JSON.stringify({ email, password: "wrong-password-123" }),
    });
  const viaProxy = (browser: string) => ({ ...proxiedHeaders(APP_ONE, browser), [SOURCE_IP_HEADER]: "192.0.2.80" });

  it("two browsers behind the same app server have their own sign-in budgets", async () => {
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await signIn(viaProxy("203.0.113.1"), `a${i}@example.org`)).status);
    expect(first).toEqual([401, 401, 401, 429]);
    expect((await signIn(viaProxy("203.0.113.2"), "b@example.org")).status).toBe(401);
  });

  it("a direct caller cannot escape its budget by rotating X-Forwarded-For", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn({ "x-forwarded-for": `10.9.9.${i}`, [SOURCE_IP_HEADER]: "198.51.100.50" }, `c${i}@example.org`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("nor spend a victim's budget by writing the victim's address, signed or not", async () => {
    const victim = "203.0.113.77";
    const attacker = { [SOURCE_IP_HEADER]: "198.51.100.66" };
    const forged = { ...proxiedHeaders(APP_ONE, "203.0.113.99"), [PROXY_CLIENT_HEADER]: victim };
    for (let i = 0; i < 5; i++) await signIn({ ...attacker, ...forged, "x-forwarded-for": victim }, `d${i}@example.org`);
    expect((await signIn(viaProxy(victim), "victim@example.org")).status).toBe(401);
  });

  it("an unsigned X-Forwarded-Host is not believed: the request is judged by its own host", async () => {
    const res = await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: { "x-forwarded-host": "evil.example", "x-forwarded-proto": "http" } });
    expect(res.status).toBe(200);
    const signedEvil = signForwarded(PROXY_SECRET, { host: "evil.example", proto: "https", client: "" });
    expect((await service.app.request(`${AUTH_URL}/api/auth/get-session`, { headers: signedEvil })).status).toBe(421);
  });
});
