/**
 * Node adapter: the same app on @hono/node-server, for `make dev` and for deployments that are
 * not Lambda (containers behind a load balancer; set REDIS_URL when there are several).
 *
 *   PORT=4000 HOST=127.0.0.1 npx tsx functions/auth/server.ts
 */
import { serve, type ServerType } from "@hono/node-server";
import { pathToFileURL } from "node:url";
import { createApp, type CreateAppOptions } from "./app.js";
import { withSourceIp } from "./client-ip.js";
import { loadConfig, type AuthConfig } from "./config.js";
import { disconnectRedisClients } from "./secondary-storage.js";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function startServer(config: AuthConfig, { port = 4000, hostname = "127.0.0.1", ...options }: { port?: number; hostname?: string } & CreateAppOptions = {}): Promise<RunningServer> {
  const app = createApp(config, options);
  return new Promise((resolve) => {
    const fetch = (req: Request, env: { incoming?: { socket?: { remoteAddress?: string } } }) =>
      app.fetch(withSourceIp(req, env.incoming?.socket?.remoteAddress), env);
    const server: ServerType = serve({ fetch, port, hostname }, (info) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

async function main(): Promise<void> {
  const server = await startServer(await loadConfig(process.env), {
    port: Number(process.env.PORT ?? 4000),
    hostname: process.env.HOST ?? "127.0.0.1",
  });
  console.error(`auth service listening on ${server.url}`);
  const stop = async () => {
    await server.close();
    await disconnectRedisClients();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`auth service failed to start: ${err.message}`);
    process.exit(1);
  });
}
