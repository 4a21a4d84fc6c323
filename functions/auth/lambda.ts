/**
 * Lambda adapter. The config (with secrets fetched from Secrets Manager) is loaded once per
 * instance, on the first event, and shared by every invocation after it.
 *
 * An event `{ "authplane": "migrate" }` (invoked by the operator or a deploy pipeline, never by
 * API Gateway) runs the schema migration from inside the VPC, where Aurora is reachable.
 */
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { createApp } from "./app.js";
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

export async function handler(event: LambdaEvent | { authplane: "migrate" }, context?: LambdaContext) {
  if ("authplane" in event && event.authplane === "migrate") {
    const { migrate } = await import("./migrate.js");
    const { created, altered } = await migrate(await configOnce());
    return { created, altered };
  }
  http ??= configOnce().then((c) => handle(createApp(c)));
  return (await http)(event as LambdaEvent, context);
}
