/**
 * vitest global setup: one PostgreSQL for the run (or DATABASE_URL), handed to every test file
 * through `inject("pgAdminUrl")`. The embedded server lives in a child process
 * (postgres-process.ts) so its exit hooks cannot touch vitest's exit code.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide("pgAdminUrl", process.env.DATABASE_URL);
    return;
  }
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./postgres-process.ts", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`the test PostgreSQL process exited early (code ${code})`);
  });
  const firstLine = once(createInterface({ input: child.stdout! }), "line").then(([line]) => JSON.parse(line as string) as { adminUrl: string });
  const { adminUrl } = await Promise.race([firstLine, exited]);
  exited.catch(() => {});
  project.provide("pgAdminUrl", adminUrl);
  return async () => {
    const done = once(child, "exit");
    child.stdin!.end();
    await done;
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
