/**
 * Every route Better Auth serves here, fuzzed with what broke it before (NUL, lone surrogates,
 * invalid percent-encodings, null and wrong types, at any depth) against the real service on a
 * real PostgreSQL, signed in and signed out: no answer may be a 5xx.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ONE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

const FIELDS = [
  "email", "password", "newPassword", "currentPassword", "name", "image", "token", "organizationId", "organizationSlug",
  "memberId", "memberIdOrEmail", "userId", "role", "slug", "id", "callbackURL", "provider", "idToken", "code", "state",
  "invitationId", "roleName", "permission", "permissions", "data", "response", "providerId", "accountId", "code_verifier",
  "redirect_uri", "rememberMe", "query", "sessionToken", "limit", "offset",
];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("\u0000", "x\u0000y", "\ud800", "a\udc00b", "org-fuzz\u0000") },
  fc.constantFrom("\u0000", "x\u0000y", "\ud800", "a\udc00b", "\udbff", "%00", "", " ", "a".repeat(600)),
  fc.string({ maxLength: 12 }).map((s) => `${s}\u0000`),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ maxLength: 12 }),
);
const leaf = fc.oneof(nastyString, fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.constant([]), fc.constant({}));
const value = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), nastyString), leaf, { maxKeys: 3 }) },
);
const body = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: nastyString }), value, { maxKeys: 4 }) },
  { weight: 1, arbitrary: leaf },
);
/** Query values as raw (already encoded) text: encodeURIComponent refuses lone surrogates. */
const rawParam = fc.oneof(
  fc.constantFrom("%00", "a%00b", "%ED%A0%80", "%FF", "%C0%AF", "%", "%E2%82%AC", "x", "true", "1", "-1", "%20"),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);
const query = fc.dictionary(fc.constantFrom(...FIELDS), rawParam, { maxKeys: 3 });
/** Plausible values, so a request gets past "missing field" to where the nasty one is used. */
const plain = fc.constantFrom("x", "fuzz@example.org", "org-fuzz", "fuzz", "correct horse battery staple", "owner", "/");

interface Route {
  method: "GET" | "POST";
  path: string;
  /** Field names from the endpoint's own zod schemas, when it declares an object. */
  bodyKeys: string[];
  queryKeys: string[];
}

const keysOf = (schema: unknown): string[] => {
  const shape = (schema as { shape?: unknown } | undefined)?.shape;
  return shape && typeof shape === "object" ? Object.keys(shape) : [];
};

/** Every declared field present, each plausible or nasty, plus a few undeclared ones. */
function bodyFor(keys: string[]): fc.Arbitrary<unknown> {
  if (!keys.length) return body;
  const field = fc.oneof({ weight: 3, arbitrary: plain }, { weight: 3, arbitrary: nastyString }, { weight: 2, arbitrary: value });
  const record = fc.record(Object.fromEntries(keys.map((k) => [k, field])), { requiredKeys: [] });
  return fc.oneof({ weight: 5, arbitrary: fc.tuple(record, fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 2 })).map(([a, b]) => ({ ...b, ...a })) }, { weight: 1, arbitrary: body });
}

function queryFor(keys: string[]): fc.Arbitrary<Record<string, string | undefined>> {
  if (!keys.length) return query;
  const param = fc.oneof(plain.map(encodeURIComponent), fc.constantFrom("%00", "org-fuzz%00", "%ED%A0%80", "%FF"), rawParam);
  return fc.record(Object.fromEntries(keys.map((k) => [k, param])), { requiredKeys: [] });
}

/** Routes whose success would end the fuzzing browser's session; fuzzed signed out only. */
const ENDS_SESSION = /^\/(sign-out|delete-user|revoke-sessions|revoke-other-sessions|revoke-session|change-password)$/;

describe("fuzzing every route family never yields a 5xx", () => {
  let service: Service;
  let browser: Browser;
  let routes: Route[];
  const seen: { status: number; route: string; input: string }[] = [];

  beforeAll(async () => {
    // Better Auth's per-client limits would answer most of this with 429 and hide the routes.
    service = await startService(await testEnv("input_fuzz", { RATE_LIMIT_ENABLED: "false", GOOGLE_CLIENT_ID: "google-client", GOOGLE_CLIENT_SECRET: "google-secret" }));
    browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("fuzz@example.org");
    // A real app with the browser as a member, so organization routes get past "not a member".
    await service.pool.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ('org-fuzz', 'fuzz', 'fuzz', now())`);
    await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('m-fuzz', 'org-fuzz', $1, 'owner', now())`, [user.id]);
    routes = [];
    type Endpoint = { path?: string; options?: { method?: string | string[]; body?: unknown; query?: unknown; metadata?: { SERVER_ONLY?: boolean } } };
    for (const endpoint of Object.values(service.auth.api) as Endpoint[]) {
      if (!endpoint?.path || endpoint.options?.metadata?.SERVER_ONLY) continue;
      const bodyKeys = keysOf(endpoint.options?.body);
      const queryKeys = keysOf(endpoint.options?.query);
      for (const method of [endpoint.options?.method ?? "GET"].flat()) if (method === "GET" || method === "POST") routes.push({ method, path: endpoint.path, bodyKeys, queryKeys });
    }
  });
  afterAll(() => service?.close());

  const call = async (who: Browser, route: Route, b: unknown, q: Record<string, string | undefined>, segment: string) => {
    const path = route.path.replace(/:[A-Za-z]+/g, segment);
    const search = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join("&");
    const res = await who.fetch(`/api/auth${path}${search ? `?${search}` : ""}`, { method: route.method, body: route.method === "POST" ? b : undefined });
    await res.arrayBuffer();
    if (res.status >= 500) seen.push({ status: res.status, route: `${route.method} ${route.path}`, input: JSON.stringify({ b, q, segment }) });
    return res.status;
  };

  it("finds the routes to fuzz", () => {
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.map((r) => r.path)).toEqual(expect.arrayContaining(["/update-user", "/organization/set-active", "/reset-password", "/native/exchange", "/passkey/verify-authentication"]));
  });

  it("signed in", async () => {
    for (const route of routes.filter((r) => !ENDS_SESSION.test(r.path))) {
      // check, not assert: every route is fuzzed and every 5xx collected before the verdict.
      await fc.check(
        fc.asyncProperty(bodyFor(route.bodyKeys), queryFor(route.queryKeys), rawParam, async (b, q, segment) => (await call(browser, route, b, q, segment)) < 500),
        { numRuns: 20, seed: 11 },
      );
    }
    expect([...new Set(seen.map((f) => f.route))], JSON.stringify(seen.slice(0, 5))).toEqual([]);
    // Still signed in: nothing the fuzzer sent broke the session.
    expect((await browser.json<{ user: { email: string } } | null>("/api/auth/get-session"))?.user.email).toBe("fuzz@example.org");
  }, 300_000);

  it("signed out", async () => {
    const stranger = new Browser(service, APP_ONE);
    for (const route of routes) {
      await fc.check(
        fc.asyncProperty(bodyFor(route.bodyKeys), queryFor(route.queryKeys), rawParam, async (b, q, segment) => (await call(stranger, route, b, q, segment)) < 500),
        { numRuns: 10, seed: 12 },
      );
    }
    expect([...new Set(seen.map((f) => f.route))], JSON.stringify(seen.slice(0, 5))).toEqual([]);
  }, 300_000);
});
