/**
 * Node adapter: the same app on @hono/node-server, for `make dev` and for deployments that are
 * not Lambda (containers behind a load balancer; set REDIS_URL when there are several).
 *
 *   PORT=4000 HOST=127.0.0.1 npx tsx functions/auth/server.ts
 */
import { serve, type ServerType } from "@hono/node-server";
import { createServer, type IncomingMessage, type RequestListener } from "node:http";
import { pathToFileURL } from "node:url";
import { createApp, type CreateAppOptions } from "./app.js";
import { SOURCE_IP_HEADER } from "./client-ip.js";
import { loadConfig, type AuthConfig } from "./config.js";
import { disconnectRedisClients } from "./secondary-storage.js";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function startServer(config: AuthConfig, { port = 4000, hostname = "127.0.0.1", ...options }: { port?: number; hostname?: string } & CreateAppOptions = {}): Promise<RunningServer> {
  const app = createApp(config, options);
  return new Promise((resolve) => {
    // The socket's peer goes into the raw headers before @hono/node-server builds its (lazy)
    // Request, so the request is not copied to add one header (client-ip.ts reads it).
    const withPeer = (options: object, listener: RequestListener) =>
      createServer(options, (incoming, outgoing) => {
        recordSourceIp(incoming);
        listener(incoming, outgoing);
      });
    const server: ServerType = serve({ fetch: app.fetch, port, hostname, createServer: withPeer as never }, (info) => {
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

/** What `withSourceIp` does to a Request, done on the incoming message: any client-sent value is replaced. */
export function recordSourceIp(incoming: IncomingMessage): void {
  const raw = incoming.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === SOURCE_IP_HEADER) raw.splice(i, 2);
  const ip = incoming.socket?.remoteAddress;
  if (ip) raw.push(SOURCE_IP_HEADER, ip.replace(/^::ffff:/, ""));
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
