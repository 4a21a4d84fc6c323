/**
 * What every operator CLI does the same way: strict argument parsing (a wrong flag prints the
 * usage and exits 2), finding the database (flag, DATABASE_URL, or the `make dev` one) and
 * saying which, a clear message when it cannot be reached, and exit codes scripts can trust:
 * 0 done, 1 failed, 2 usage.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import pg from "pg";

/** Wrong invocation: the message ends with the usage; exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An expected failure with a message for the operator (no stack, no "internal error"); exit code 1. */
export class CliError extends Error {
  override name = "CliError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs, strict, with its errors turned into a UsageError carrying `usage`. */
export function parseCli<O extends Options, P extends boolean = false>(args: string[], options: O, usage: string, allowPositionals?: P) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: (allowPositionals ?? false) as P });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw new UsageError(`${(err as Error).message}\n\n${usage}`);
    throw err;
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface DatabaseChoice {
  url: string;
  /** Where it came from, for the operator: "--database-url", "DATABASE_URL" or ".dev/database-url (make dev)". */
  source: string;
}

/** The flag, else DATABASE_URL, else the database `make dev` created (dev/platform.ts writes .dev/database-url). */
export function resolveDatabase(flag: string | undefined, env: Record<string, string | undefined> = process.env, cwd = process.cwd(), repoRoot = REPO_ROOT): DatabaseChoice {
  if (flag) return { url: flag, source: "--database-url" };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: "DATABASE_URL" };
  for (const dir of new Set([cwd, repoRoot])) {
    const file = join(dir, ".dev", "database-url");
    if (existsSync(file)) {
      const url = readFileSync(file, "utf8").trim();
      if (url) return { url, source: `${file} (make dev)` };
    }
  }
  throw new CliError("no database: set DATABASE_URL, pass --database-url, or start `make dev` (which writes .dev/database-url)");
}

/** host:port/database, never the password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * A pool on the chosen database, checked with one round trip so an unreachable or wrong
 * database is one clear line instead of an error from deep inside the first command.
 */
export async function connectDatabase(choice: DatabaseChoice, { max = 2, log = (m: string) => console.error(m) } = {}): Promise<pg.Pool> {
  log(`database: ${describeDatabase(choice.url)} (from ${choice.source})`);
  const pool = new pg.Pool({ connectionString: choice.url, max, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => {}); // an idle connection dropped mid-command surfaces on the next query instead
  // A checked-out client (a command's transaction) emits on itself when the server goes away;
  // its query fails and the command exits 1 with that error, the transaction never committed.
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end().catch(() => {});
    const e = err as Error & { code?: string };
    throw new CliError(`cannot reach the database ${describeDatabase(choice.url)} (from ${choice.source}): ${e.message || e.code || e.name}`);
  }
  return pool;
}

/** Is this module the program being run (not imported by a test)? */
export function isMain(meta: ImportMeta): boolean {
  return meta.url === pathToFileURL(process.argv[1] ?? "").href;
}

/** Run a CLI's main with the shared exit-code and message rules. */
export function runCli(name: string, main: () => Promise<void>, expected: (err: Error) => boolean = () => false): void {
  main().then(
    () => {
      process.exitCode ??= 0;
    },
    (err: Error) => {
      if (err instanceof UsageError) {
        console.error(err.message);
        process.exitCode = 2;
        return;
      }
      console.error(err instanceof CliError || expected(err) ? err.message : `${name}: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
