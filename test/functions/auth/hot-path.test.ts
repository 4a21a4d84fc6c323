/**
 * The hot reads (get-session, /token, /jwks) do only the work they need: no rate-limit rows,
 * session + user in one query, membership in one, keys from memory; and Better Auth's router is
 * built once per base URL, with the origin check and per-host base URL intact.
 */
import { createAuthEndpoint } from "better-auth/api";
import { betterAuth } from "better-auth";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { authOptions, createPool, type Auth } from "../../../functions/auth/auth.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { READ_ONLY_RATE_RULES, routerOnceOf, staticBaseURL } from "../../../functions/auth/hot-path.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { APP_ONE, APP_TWO, AUTH_URL, Browser, proxiedHeaders, startService, testEnv, type Service } from "./harness.js";

/** Every query any pg client in this process sends, while recording. */
const sent: string[] = [];
let recording = false;
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (recording) sent.push(typeof args[0] === "string" ? args[0] : String((args[0] as { text?: string })?.text));
  return originalQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

async function queriesOf(fn: () => Promise<unknown>): Promise<string[]> {
  sent.length = 0;
  recording = true;
  try {
    await fn();
  } finally {
    recording = false;
  }
  return [...sent];
}

describe("hot reads", () => {
  let service: Service;
  let browser: Browser;

  beforeAll(async () => {
    service = await startService(await testEnv("hot_path"));
    browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("hot@example.org");
    await service.pool.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ('org_hot', 'Hiring', 'hiring', now())`);
    await service.pool.query(
      `INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt", "updatedAt") VALUES ('r1', 'org_hot', 'recruiter', $1, now(), now())`,
      [JSON.stringify({ candidate: ["read", "update"] })],
    );
    await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('m1', 'org_hot', $1, 'recruiter, member', now())`, [user.id]);
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: "org_hot" } });
    await browser.json("/api/auth/token"); // the first token mints the signing key
  });
  afterAll(() => service.close());
  afterEach(() => {
    recording = false;
  });

  it("get-session is one query (session joined with its user) and writes no rate-limit row", async () => {
    const queries = await queriesOf(() => browser.json("/api/auth/get-session"));
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/from "session".*join "user"/is);
  });

  it("/token is at most 3 queries (the audit row takes its app from the token); the claims still carry the role's permissions and the built-in role's", async () => {
    let token = "";
    const queries = await queriesOf(async () => {
      token = (await browser.json<{ token: string }>("/api/auth/token")).token;
    });
    expect(queries.length).toBeLessThanOrEqual(3);
    expect(queries.join("\n")).not.toMatch(/rateLimit|"jwks"|SELECT slug FROM "organization"/);
    const { rows: audit } = await service.pool.query<{ app: string | null }>(`SELECT app FROM authplane_audit WHERE action = 'token.minted' ORDER BY at DESC LIMIT 1`);
    expect(audit).toEqual([{ app: "hiring" }]);
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ org_slug: "hiring", role: "recruiter,member" });
    expect(claims.permissions.candidate).toEqual(["read", "update"]);
    // "member" is Better Auth's built-in role: its statements come from code, not the table.
    expect(Object.keys(claims.permissions).length).toBeGreaterThan(1);
  });

  it("/jwks is served from memory", async () => {
    const queries = await queriesOf(() => browser.json("/api/auth/jwks"));
    expect(queries).toEqual([]);
  });

  it("no read-only path leaves a rate-limit row behind, however often it is called", async () => {
    for (let i = 0; i < 5; i++) {
      await browser.json("/api/auth/get-session");
      await browser.json("/api/auth/token");
      await browser.json("/api/auth/jwks");
    }
    const { rows } = await service.pool.query<{ key: string }>(`SELECT key FROM "rateLimit"`);
    const paths = Object.keys(READ_ONLY_RATE_RULES);
    expect(rows.filter((r) => paths.some((p) => r.key.endsWith(p)))).toEqual([]);
  });

  it("sign-in and sign-up keep their strict limit (3 per 10 s per client)", async () => {
    const attacker = new Browser(service, APP_ONE);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await attacker.fetch("/api/auth/sign-in/email", { body: { email: "hot@example.org", password: `wrong-${i}` } });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 3).every((s) => s === 401)).toBe(true);
    expect(statuses[3]).toBe(429);
    const signups: number[] = [];
    for (let i = 0; i < 4; i++) {
      signups.push((await attacker.fetch("/api/auth/sign-up/email", { body: { email: `flood${i}@example.org`, name: "f", password: "correct horse battery staple" } })).status);
    }
    expect(signups[3]).toBe(429);
  });
});

describe("Better Auth's router, built once per base URL", () => {
  let pool: pg.Pool;
  let probeBuilds = 0;
  let auth: Auth;
  let app: ReturnType<typeof createApp>;

  /** A plugin whose endpoints are read each time Better Auth builds its endpoint table. */
  const probe = {
    id: "router-probe",
    get endpoints() {
      probeBuilds++;
      return {
        probeBaseUrl: createAuthEndpoint("/probe-base-url", { method: "GET" }, async (ctx) => ctx.json({ baseURL: ctx.context.baseURL })),
      };
    },
  };

  beforeAll(async () => {
    const config = configFromEnv(await testEnv("router_once"));
    await migrate(config);
    pool = createPool(config);
    const options = authOptions(config, pool);
    auth = betterAuth({ ...options, plugins: [...options.plugins, probe] }) as unknown as Auth;
    app = createApp(config, { auth });
  });
  afterAll(() => pool.end());

  const viaApp = (origin: string, path: string) =>
    app.request(`${AUTH_URL}${path}`, { headers: { origin, ...proxiedHeaders(origin, "10.9.0.1") } });

  it("Better Auth 1.7.6 itself rebuilds the router on every request (the upstream behaviour this works around)", async () => {
    const request = () => auth.handler(new Request(`${AUTH_URL}/api/auth/probe-base-url`, { headers: { origin: AUTH_URL } }));
    await request();
    const before = probeBuilds;
    for (let i = 0; i < 3; i++) await request();
    expect(probeBuilds - before).toBeGreaterThanOrEqual(3);
  });

  it("through the service, each base URL builds it once, and each app's requests see their own base URL", async () => {
    const once = routerOnceOf(auth)!;
    expect(once).toBeDefined();
    const seen = new Map<string, string>();
    for (const origin of [APP_ONE, APP_TWO]) {
      for (let i = 0; i < 3; i++) {
        const res = await viaApp(origin, "/api/auth/probe-base-url");
        expect(res.status).toBe(200);
        seen.set(`${origin}#${i}`, ((await res.json()) as { baseURL: string }).baseURL);
      }
    }
    const before = probeBuilds;
    const fallbacks = once.fallbacks;
    for (const origin of [APP_ONE, APP_TWO]) await viaApp(origin, "/api/auth/probe-base-url");
    expect(probeBuilds).toBe(before);
    expect(once.fallbacks).toBe(fallbacks);
    expect(new Set([0, 1, 2].map((i) => seen.get(`${APP_ONE}#${i}`)))).toEqual(new Set([`${APP_ONE}/api/auth`]));
    expect(new Set([0, 1, 2].map((i) => seen.get(`${APP_TWO}#${i}`)))).toEqual(new Set([`${APP_TWO}/api/auth`]));
  });

  it("the cached router still refuses a cookie-bearing POST from an untrusted origin", async () => {
    await viaApp(APP_ONE, "/api/auth/probe-base-url"); // make sure APP_ONE's router is cached
    const res = await app.request(`${AUTH_URL}/api/auth/sign-out`, {
      method: "POST",
      headers: { origin: "https://evil.example", ...proxiedHeaders(APP_ONE, "10.9.0.1"), "content-type": "application/json", cookie: "better-auth.session_token=x.y" },
      body: "{}",
    });
    expect(res.status).toBe(403);
  });
});

describe("static base URL", () => {
  it("is used when the service answers for one host only, and not when apps proxy to it", async () => {
    expect(staticBaseURL("https://auth.example.org", ["auth.example.org"])).toBe("https://auth.example.org");
    expect(staticBaseURL("https://auth.example.org", ["auth.example.org", "app.example.org"])).toBeUndefined();
    const single = configFromEnv(await testEnv("static_base", { TRUSTED_ORIGINS: AUTH_URL }));
    const pool = createPool(single);
    try {
      expect(authOptions(single, pool).baseURL).toBe(AUTH_URL);
      expect(typeof authOptions(configFromEnv(await testEnv("dynamic_base")), pool).baseURL).toBe("object");
    } finally {
      await pool.end();
    }
  });
});
