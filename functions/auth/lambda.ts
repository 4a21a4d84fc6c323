/**
 * Lambda adapter. The config (with secrets fetched from Secrets Manager) is loaded once per
 * instance and shared by every invocation after it.
 *
 * Cold start: this entry chunk holds only the adapter. While Lambda initialises it, the service
 * (Hono, zod, pg and the lean session read; Better Auth itself loads on the first request that
 * needs it, see auth-routes.ts) and, only when `*_SECRET_ARN` variables are set, the AWS SDK
 * load in parallel, and the secrets are fetched as soon as the SDK is there, so their network
 * round trip overlaps the service's own loading instead of following it. As soon as the config
 * is there, the database pool opens its first connection, so that handshake (and Aurora's resume
 * from 0 ACU) also overlaps the loading of the service.
 *
 * An event `{ "authplane": "migrate" }` (invoked by the operator or a deploy pipeline, never by
 * API Gateway) runs the schema migration from inside the VPC, where Aurora is reachable.
 */
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { SOURCE_IP_HEADER } from "./client-ip.js";
import type { AuthConfig } from "./config.js";
import type pg from "pg";
import { needsSecrets, preloadSecretsClient } from "./secrets.js";

type HttpHandler = ReturnType<typeof handle>;

let config: Promise<AuthConfig> | undefined;
let http: Promise<HttpHandler> | undefined;
let pool: Promise<pg.Pool> | undefined;

/** Start (once) loading a module; a failed load is retried on the next call, not replayed. */
function loader<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
const appModule = loader(() => import("./app.js"));
const configModule = loader(() => import("./config.js"));
const poolModule = loader(() => import("./db-pool.js"));

function configOnce(): Promise<AuthConfig> {
  config ??= configModule()
    .then(({ loadConfig }) => loadConfig(process.env))
    .catch((err: unknown) => {
      config = undefined; // the next event retries instead of replaying a transient failure
      throw err;
    });
  return config;
}

/** One pool per instance, from the config, with its first connection already opening. */
function poolOnce(): Promise<pg.Pool> {
  pool ??= Promise.all([configOnce(), poolModule()])
    .then(([c, { createPool, warmPool }]) => {
      const p = createPool(c);
      warmPool(p);
      return p;
    })
    .catch((err: unknown) => {
      pool = undefined;
      throw err;
    });
  return pool;
}

// At init, not on the first event: start everything the first event will wait for. Failures
// surface (and are retried) there, so nothing here may reject unhandled.
if (needsSecrets(process.env)) {
  preloadSecretsClient().catch(() => undefined);
  // The secrets' round trip is the long pole: load the service beside it.
  appModule().catch(() => undefined);
}
configOnce().catch(() => undefined);
// Without secrets the config is there at once: open the connection first, then load the
// service, so the handshake runs on the server while Better Auth compiles here.
poolOnce()
  .catch(() => undefined)
  .finally(() => appModule().catch(() => undefined));

/** API Gateway's own view of the peer address travels as a header only the adapter may set. */
function withEventSourceIp<E extends LambdaEvent>(event: E): E {
  const ctx = (event as { requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } } }).requestContext;
  const sourceIp = ctx?.http?.sourceIp ?? ctx?.identity?.sourceIp;
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).filter(([k]) => k.toLowerCase() !== SOURCE_IP_HEADER));
  if (sourceIp) headers[SOURCE_IP_HEADER] = sourceIp;
  return { ...event, headers };
}

export async function handler(event: LambdaEvent | { authplane: "migrate" }, context?: LambdaContext) {
  if ("authplane" in event && event.authplane === "migrate") {
    const { migrate, migrateConfigFromEnv } = await import("./migrate.js");
    const { created, altered } = await migrate(await migrateConfigFromEnv(process.env));
    return { created, altered };
  }
  http ??= Promise.all([configOnce(), appModule(), poolOnce()])
    .then(([c, { createApp }, p]) => handle(createApp(c, { pool: p })))
    .catch((err: unknown) => {
      http = undefined;
      throw err;
    });
  return (await http)(withEventSourceIp(event as LambdaEvent), context);
}

/**
 * Benchmark hook (`npm run bench:auth-cold`): build the app from a fixed local config without
 * touching a database, to time everything a cold start does before its first query.
 */
export async function __benchInit(): Promise<void> {
  if (!process.env.AUTHPLANE_BENCH_INIT) return;
  const [{ configFromEnv }, { createApp }] = await Promise.all([configModule(), appModule()]);
  createApp(
    configFromEnv({
      DATABASE_URL: "postgres://bench@127.0.0.1:1/bench",
      BETTER_AUTH_URL: "https://auth.example.org",
      BETTER_AUTH_SECRET: "bench-secret-0123456789abcdef0123456789abcdef",
      TRUSTED_ORIGINS: "https://app.example.org",
      PASSKEY_RP_ID: "example.org",
      ALLOWED_RP_IDS: "example.org",
      JWT_AUDIENCE: "bench",
      VALIDATE_SCHEMA: "false",
    }),
  );
}
