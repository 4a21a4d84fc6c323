import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { spaCors } from "../../../functions/auth/cors.js";

const SPA = "https://spa.authplane.test:3003";

function app() {
  const a = new Hono();
  a.use("/api/auth/*", spaCors({ origins: [SPA] }));
  a.post("/api/auth/sign-in/email", (c) => c.json({ ok: true }));
  return a;
}

describe("SPA CORS", () => {
  it("grants a listed origin credentials, the client's methods and headers, and caches the preflight", async () => {
    const res = await app().request("/api/auth/sign-in/email", {
      method: "OPTIONS",
      headers: { origin: SPA, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET,POST,OPTIONS");
    expect(res.headers.get("access-control-allow-headers")).toBe("Content-Type,Authorization");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("echoes the origin on the actual request, never *", async () => {
    const res = await app().request("/api/auth/sign-in/email", { method: "POST", headers: { origin: SPA } });
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
  });

  it("the actual request's headers are hono/cors's, set on the handler's own response (no re-wrap)", async () => {
    const a = new Hono();
    a.use("/api/auth/*", spaCors({ origins: [SPA] }));
    a.get("/api/auth/get-session", () => new Response('{"ok":true}', { headers: { "content-type": "application/json", vary: "Accept-Encoding" } }));
    a.get("/api/auth/fetched", () => Response.redirect("https://app.authplane.test/", 302));
    for (const origin of [SPA, "https://evil.example"]) {
      const res = await a.request("/api/auth/get-session", { headers: { origin } });
      expect(res.headers.get("access-control-allow-origin")).toBe(origin === SPA ? SPA : null);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      expect(res.headers.get("vary")).toBe("Accept-Encoding, Origin");
      expect(await res.text()).toBe('{"ok":true}');
    }
    // A handler's immutable-headers response (Response.redirect) is copied once, not refused.
    const redirected = await a.request("/api/auth/fetched", { headers: { origin: SPA } });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("access-control-allow-origin")).toBe(SPA);
  });

  it("gives an unlisted origin no Access-Control-Allow-Origin", async () => {
    for (const origin of ["https://evil.example", "https://spa.authplane.test:3004", "null"]) {
      const res = await app().request("/api/auth/sign-in/email", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });
});
