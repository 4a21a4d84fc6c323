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
