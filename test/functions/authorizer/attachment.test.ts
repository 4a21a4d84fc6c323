/**
 * The backend's app and route permissions, declared on its stage (authplane_app, authplane_routes)
 * and enforced by the one shared function: secure by default, one stable code per deny, the same
 * for HTTP APIs (routeKey) and REST REQUEST authorizers (httpMethod + resource), and the
 * verified-token cache never carrying one app's or route's decision over to another.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Attachments, parseRouteTable } from "../../../functions/authorizer/attachment.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { claims, httpEvent, restRequestEvent, routesVariable, seededAuthorizer, sign, rsaKey, type SigningKey } from "./support.js";

let key: SigningKey;
/** A recruiter in hiring: candidate:read, candidate:write, job:read. */
let recruiter: string;
/** A member of timetracking. */
let tracker: string;
/** Signed in, no active app. */
let noApp: string;

beforeAll(async () => {
  key = await rsaKey();
  recruiter = await sign(key);
  tracker = await sign(key, claims({ sub: "user_9", org_id: "org_2", org_slug: "timetracking", role: "member", permissions: { timesheet: ["read"] } }));
  noApp = await sign(key, claims({ org_id: null, org_slug: null, role: null, permissions: {} }));
});

const ROUTES = routesVariable({ "POST /candidates": "candidate:write", "GET /candidates/{id}": "candidate:read", "DELETE /candidates/{id}": "candidate:delete", "*": "job:read" });

/** One authorizer instance for a whole scenario, so its verified-token cache is shared. */
function instance() {
  const { authorizer, logs } = seededAuthorizer([key.jwk]);
  return async (event: unknown) => {
    logs.length = 0;
    const response = (await authorizer.handle(event)) as { isAuthorized?: boolean; policyDocument?: { Statement: Array<{ Effect: string }> } };
    const allowed = response.isAuthorized ?? response.policyDocument?.Statement[0]?.Effect === "Allow";
    return allowed ? "allow" : String(logs.find((l) => l.msg === "authorizer.deny")?.reason);
  };
}

const http = (token: string, stage: Record<string, string> | null, routeKey = "GET /candidates") => httpEvent(`Bearer ${token}`, {}, stage, routeKey);
const rest = (token: string, stage: Record<string, string> | null, httpMethod = "GET", resource = "/candidates") =>
  restRequestEvent({ Authorization: `Bearer ${token}` }, undefined, stage, { httpMethod, resource });

describe("the app a backend declares", () => {
  it("a member of the API's app is allowed; no app, another app, or a stage that names none is denied, each with its own code", async () => {
    const decide = instance();
    expect(await decide(http(recruiter, { authplane_app: "hiring" }))).toBe("allow");
    expect(await decide(http(noApp, { authplane_app: "hiring" }))).toBe(DENY.noApp);
    expect(await decide(http(tracker, { authplane_app: "hiring" }))).toBe(DENY.wrongApp);
    expect(await decide(http(recruiter, null))).toBe(DENY.appNotConfigured);
    expect(await decide(http(recruiter, {}))).toBe(DENY.appNotConfigured);
    expect(await decide(http(recruiter, { authplane_app: "" }))).toBe(DENY.appNotConfigured);
    expect(await decide(http(recruiter, { authplane_routes: ROUTES }))).toBe(DENY.appNotConfigured);
    expect(await decide({ ...http(recruiter, null), stageVariables: null })).toBe(DENY.appNotConfigured);
    expect(await decide({ ...http(recruiter, null), stageVariables: { authplane_app: 42 } })).toBe(DENY.appNotConfigured);
  });

  it('a platform-wide API ("*", or "~any" as API Gateway lets a stage spell it) accepts any app and no app', async () => {
    const decide = instance();
    for (const any of ["*", "~any"]) {
      expect(await decide(http(recruiter, { authplane_app: any }))).toBe("allow");
      expect(await decide(http(tracker, { authplane_app: any }))).toBe("allow");
      expect(await decide(http(noApp, { authplane_app: any }))).toBe("allow");
    }
  });

  it("the app is compared exactly (no case folding, no prefixes)", async () => {
    const decide = instance();
    for (const app of ["Hiring", "hiring ", "hirin", "hiring-admin", "HIRING"]) expect(await decide(http(recruiter, { authplane_app: app })), app).toBe(DENY.wrongApp);
  });
});

describe("the permission each route declares", () => {
  it("on an HTTP API, by routeKey, with the \"*\" default for the rest", async () => {
    const decide = instance();
    const stage = { authplane_app: "hiring", authplane_routes: ROUTES };
    expect(await decide(http(recruiter, stage, "POST /candidates"))).toBe("allow");
    expect(await decide(http(recruiter, stage, "GET /candidates/{id}"))).toBe("allow");
    expect(await decide(http(recruiter, stage, "DELETE /candidates/{id}"))).toBe(DENY.missingPermission);
    expect(await decide(http(recruiter, stage, "GET /jobs"))).toBe("allow"); // "*" → job:read
    expect(await decide(http(recruiter, stage, "$default"))).toBe("allow");
  });

  it("on a REST REQUEST authorizer, by httpMethod and resource", async () => {
    const decide = instance();
    const stage = { authplane_app: "hiring", authplane_routes: ROUTES };
    expect(await decide(rest(recruiter, stage, "POST", "/candidates"))).toBe("allow");
    expect(await decide(rest(recruiter, stage, "DELETE", "/candidates/{id}"))).toBe(DENY.missingPermission);
    expect(await decide(rest(tracker, stage, "POST", "/candidates"))).toBe(DENY.wrongApp);
    expect(await decide(rest(recruiter, null))).toBe(DENY.appNotConfigured);
  });

  it("without a \"*\" default, unlisted routes need only membership; a platform-wide API still checks a declared permission", async () => {
    const decide = instance();
    const only = routesVariable({ "POST /candidates": "candidate:write" });
    expect(await decide(http(recruiter, { authplane_app: "hiring", authplane_routes: only }, "GET /anything"))).toBe("allow");
    expect(await decide(http(tracker, { authplane_app: "*", authplane_routes: only }, "POST /candidates"))).toBe(DENY.missingPermission);
    expect(await decide(http(recruiter, { authplane_app: "*", authplane_routes: only }, "POST /candidates"))).toBe("allow");
  });

  it("a permission is matched as a whole resource and action, never through the prototype or a prefix", async () => {
    const decide = instance();
    for (const permission of ["candidate:writ", "candidat:write", "constructor:name", "__proto__:read", "toString:read", "candidate:length"]) {
      expect(await decide(http(recruiter, { authplane_app: "hiring", authplane_routes: routesVariable({ "*": permission }) })), permission).toBe(DENY.missingPermission);
    }
  });

  it("a malformed route table denies everything on that stage as app_not_configured", async () => {
    const decide = instance();
    const bad = [
      "not base64url!",
      `${ROUTES}=`,
      Buffer.from("[1,2]").toString("base64url"),
      Buffer.from("{nope").toString("base64url"),
      routesVariable({ "POST /x": "no-colon" }),
      routesVariable({ "POST /x": "a:b c" }),
      routesVariable({ "": "a:b" }),
      Buffer.from(JSON.stringify({ "POST /x": 1 })).toString("base64url"),
      "A".repeat(600),
    ];
    for (const routes of bad) expect(await decide(http(recruiter, { authplane_app: "hiring", authplane_routes: routes })), routes.slice(0, 40)).toBe(DENY.appNotConfigured);
  });
});

describe("the verified-token cache", () => {
  it("never reuses one app's or route's decision for another, in either order", async () => {
    const decide = instance();
    const routes = { authplane_app: "hiring", authplane_routes: ROUTES };
    // The same token, one instance: allowed where it belongs, refused elsewhere, allowed again.
    expect(await decide(http(recruiter, { authplane_app: "hiring" }))).toBe("allow");
    expect(await decide(http(recruiter, { authplane_app: "timetracking" }))).toBe(DENY.wrongApp);
    expect(await decide(http(recruiter, routes, "POST /candidates"))).toBe("allow");
    expect(await decide(http(recruiter, routes, "DELETE /candidates/{id}"))).toBe(DENY.missingPermission);
    expect(await decide(http(recruiter, routes, "POST /candidates"))).toBe("allow");
    expect(await decide(http(recruiter, null))).toBe(DENY.appNotConfigured);
    // Denied first, then allowed: a deny is not cached either.
    expect(await decide(http(tracker, { authplane_app: "hiring" }))).toBe(DENY.wrongApp);
    expect(await decide(http(tracker, { authplane_app: "timetracking" }))).toBe("allow");
  });
});

describe("route tables", () => {
  it("are parsed once per distinct stage value, in a bounded map", () => {
    const attachments = new Attachments();
    const event = (i: number) => ({ routeKey: "GET /x", stageVariables: { authplane_app: "hiring", authplane_routes: routesVariable({ "*": `r${i}:read` }) } });
    const first = event(0);
    expect(attachments.requirementOf(first, "http-v2").permission).toEqual({ resource: "r0", action: "read" });
    // The same value again yields the very same parsed object.
    expect(attachments.requirementOf(first, "http-v2").permission).toBe(attachments.requirementOf(event(0), "http-v2").permission);
    for (let i = 1; i < 500; i++) attachments.requirementOf(event(i), "http-v2");
    expect((attachments as unknown as { tables: Map<string, unknown> }).tables.size).toBeLessThanOrEqual(64);
  });

  it("read the contract's example", () => {
    const table = parseRouteTable(routesVariable({ "POST /candidates": "candidate:write", "GET /candidates/{id}": "candidate:read", "*": "candidate:read" }));
    expect(table?.routes.size).toBe(2);
    expect(table?.fallback).toEqual({ resource: "candidate", action: "read" });
  });
});
