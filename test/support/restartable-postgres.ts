/** Parent side of restartable-postgres-process.ts: a PostgreSQL a test or benchmark may stop and start. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface RestartablePostgres {
  adminUrl: string;
  /** Fast shutdown: connected clients get 57P01, new ones ECONNREFUSED. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop for good and remove the data. */
  close(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./restartable-postgres-process.ts", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: Record<string, string>) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(JSON.parse(line) as Record<string, string>));
  const next = () =>
    new Promise<Record<string, string>>((resolve, reject) => {
      waiting.push(resolve);
      child.once("exit", (code) => reject(new Error(`restartable PostgreSQL exited (code ${code})`)));
    });
  const { adminUrl } = await next();
  const command = async (cmd: "stop" | "start") => {
    const reply = next();
    child.stdin!.write(`${cmd}\n`);
    const r = await reply;
    if (r.ok !== cmd) throw new Error(`restartable PostgreSQL: ${cmd} failed: ${JSON.stringify(r)}`);
  };
  return {
    adminUrl: adminUrl!,
    stop: () => command("stop"),
    start: () => command("start"),
    close: async () => {
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}
