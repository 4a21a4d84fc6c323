/**
 * The local gateway speaks API Gateway's HTTP API dialect: the payload 2.0 REQUEST event its
 * authorizer receives, the event its backend receives (with the authorizer's context), and the
 * answers API Gateway itself gives (401 without the identity source, 403 on a deny, 404 for an
 * unknown route, CORS preflights without the authorizer).
 */
import { describe, expect, it } from "vitest";
import { demoApiStage, demoRoutes } from "../../dev/demo-api.js";
import { localGateway, type HttpApiAuthorizerEvent } from "../../dev/gateway.js";

const ORIGIN = "https://app-one.authplane.test:3001";

function gatewayWith(decide: (e: HttpApiAuthorizerEvent) => unknown) {
  const seen: HttpApiAuthorizerEvent[] = [];
  const handle = localGateway({
    stages: [demoApiStage("app-one")],
    corsOrigins: [ORIGIN],
    authorizer: async (event) => {
      seen.push(event);
      return decide(event);
    },
  });
  return { handle, seen };
}

describe("local API gateway", () => {
  it("asks the authorizer with the payload 2.0 event API Gateway sends, then hands its context to the backend", async () => {
    const { handle, seen } = gatewayWith(() => ({ isAuthorized: true, context: { sub: "u1", org_slug: "app-one", permissions: "app_one:read" } }));
    const res = await handle(
      new Request("https://api.authplane.test:3003/app-one/claims?x=1", { headers: { Authorization: "Bearer t0k", Origin: ORIGIN, "X-Custom": "a", Cookie: "a=1; b=2" } }),
      "10.0.0.7",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const event = seen[0]!;
    expect(event).toMatchObject({
      version: "2.0",
      type: "REQUEST",
      routeArn: "arn:aws:execute-api:local:000000000000:authplane-local/app-one/GET/claims",
      routeKey: "GET /claims",
      rawPath: "/app-one/claims",
      rawQueryString: "x=1",
      cookies: ["a=1", "b=2"],
      queryStringParameters: { x: "1" },
      requestContext: { apiId: "authplane-local", routeKey: "GET /claims", stage: "app-one", http: { method: "GET", path: "/app-one/claims", sourceIp: "10.0.0.7" } },
      stageVariables: { authplane_app: "app-one", authplane_routes: expect.any(String) },
    });
    // Header names lower-cased, as HTTP APIs deliver them; the cookie header travels as `cookies`.
    expect(event.headers).toMatchObject({ authorization: "Bearer t0k", "x-custom": "a" });
    expect(event.headers.cookie).toBeUndefined();
    // Identity sources: token, app, routes, route key (contract 2), in that order.
    expect(event.identitySource).toEqual(["Bearer t0k", "app-one", event.stageVariables.authplane_routes, "GET /claims"]);
    expect(JSON.parse(Buffer.from(event.stageVariables.authplane_routes!, "base64url").toString())).toEqual(demoRoutes("app-one"));
    expect(event.stageVariables.authplane_routes).not.toMatch(/[=+/]/);
    // The backend saw exactly the authorizer's context.
    expect(await res.json()).toEqual({ ok: true, app: "app-one", route: "GET /claims", claims: { sub: "u1", org_slug: "app-one", permissions: "app_one:read" } });
  });

  it("answers as API Gateway does: 401 without a token (authorizer not asked), 403 on a deny, 404 off-route", async () => {
    const { handle, seen } = gatewayWith(() => ({ isAuthorized: false }));
    const none = await handle(new Request("https://api.authplane.test/app-one/claims"));
    expect([none.status, await none.json()]).toEqual([401, { message: "Unauthorized" }]);
    expect(seen).toHaveLength(0);
    const denied = await handle(new Request("https://api.authplane.test/app-one/notes", { method: "POST", headers: { authorization: "Bearer x" }, body: "{}" }));
    expect([denied.status, await denied.json()]).toEqual([403, { message: "Forbidden" }]);
    expect(seen[0]!.routeKey).toBe("POST /notes");
    for (const path of ["/app-one/nope", "/no-such-stage/claims"]) {
      const missing = await handle(new Request(`https://api.authplane.test${path}`, { headers: { authorization: "Bearer x" } }));
      expect([missing.status, await missing.json()]).toEqual([404, { message: "Not Found" }]);
    }
    // An authorizer answering nonsense is a deny, and one that throws is a 500, never the backend.
    const odd = gatewayWith(() => ({ allow: true }));
    expect((await odd.handle(new Request("https://api.authplane.test/app-one/claims", { headers: { authorization: "Bearer x" } }))).status).toBe(403);
    const broken = gatewayWith(() => {
      throw new Error("boom");
    });
    expect((await broken.handle(new Request("https://api.authplane.test/app-one/claims", { headers: { authorization: "Bearer x" } }))).status).toBe(500);
  });

  it("answers CORS preflights itself, for the apps' origins only", async () => {
    const { handle, seen } = gatewayWith(() => ({ isAuthorized: true }));
    const preflight = (origin: string) =>
      handle(new Request("https://api.authplane.test/app-one/notes", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" } }));
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    const other = await preflight("https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(seen).toHaveLength(0);
  });
});
