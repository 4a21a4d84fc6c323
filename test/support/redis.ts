/**
 * A real Redis for tests: `REDIS_URL` when the caller gives one, otherwise a `redis-server`
 * child on a free loopback port with persistence off (a restart loses everything, which is
 * exactly what the restart tests want to prove harmless).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createConnection } from "node:net";
import { freePort } from "./postgres.js";

export interface RunningRedis {
  url: string;
  /** False when REDIS_URL was given: we neither restart nor stop someone else's server. */
  owned: boolean;
  /** Kill the server and start a fresh, empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";

export async function startRedis(): Promise<RunningRedis> {
  if (process.env.REDIS_URL) {
    return { url: process.env.REDIS_URL, owned: false, restart: async () => {}, stop: async () => {} };
  }
  const port = await freePort();
  let child = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    owned: true,
    async restart() {
      await killChild(child);
      child = await spawnRedis(port);
    },
    async stop() {
      await killChild(child);
    },
  };
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, "exit").then(() => {
    throw new Error(`redis-server exited before accepting connections: ${stderr.trim() || "no output"}`);
  });
  const spawnFailed = once(child, "error").then(([err]) => {
    throw new Error(`cannot start ${REDIS_SERVER} (install redis-server or set REDIS_URL): ${(err as Error).message}`);
  });
  await Promise.race([waitForPort(port), exited, spawnFailed]);
  exited.catch(() => {});
  spawnFailed.catch(() => {});
  return child;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}
