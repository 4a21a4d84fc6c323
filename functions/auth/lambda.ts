/**
 * Lambda adapter. The config (with secrets fetched from Secrets Manager) is loaded once per
 * instance, on the first event, and shared by every invocation after it.
 *
 * An event `{ "authplane": "migrate" }` (invoked by the operator or a deploy pipeline, never by
 * API Gateway) runs the schema migration from inside the VPC, where Aurora is reachable.
 */
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { createApp } from "./app.js";
import { SOURCE_IP_HEADER } from "./client-ip.js";
import { loadConfig, type AuthConfig } from "./config.js";

type HttpHandler = ReturnType<typeof handle>;

let config: Promise<AuthConfig> | undefined;
let http: Promise<HttpHandler> | undefined;

function configOnce(): Promise<AuthConfig> {
  config ??= loadConfig(process.env).catch((err: unknown) => {
    config = undefined; // the next event retries instead of replaying a transient failure
    throw err;
  });
  return config;
}

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
    const { migrate } = await import("./migrate.js");
    const { created, altered } = await migrate(await configOnce());
    return { created, altered };
  }
  http ??= configOnce().then((c) => handle(createApp(c)));
  return (await http)(withEventSourceIp(event as LambdaEvent), context);
}

/**
 * Benchmark hook (`npm run bench:auth-cold`): build the app from a fixed local config without
 * touching a database, to time everything a cold start does before its first query.
 */
export async function __benchInit(): Promise<void> {
  if (!process.env.AUTHPLANE_BENCH_INIT) return;
  const { configFromEnv } = await import("./config.js");
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
