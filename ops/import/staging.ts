/**
 * The staging table every people import goes through (Supabase dumps, Cognito exports): rows
 * are streamed into a TEMP table with COPY FROM STDIN, so the importer's memory stays flat at
 * any size and the matching happens in PostgreSQL (see people.ts). One table holds users and
 * identities (`kind`), because a connection runs one COPY at a time and a dump may list
 * identities before users.
 */
import { once } from "node:events";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

export interface StagedUser {
  kind: "user";
  /** Line in the source file, for messages. */
  line: number;
  /** The source's own user id; only used to attach identities. */
  sourceId: string;
  /** Already normalised (normalizeEmail). */
  email: string;
  /** Null: the import names them after their email. */
  name: string | null;
  image: string | null;
  emailVerified: boolean;
  /** bcrypt hash, or null (Cognito never has one). */
  passwordHash: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** Decides whose password wins when one person's rows carry different hashes. */
  lastSignInAt: string | null;
}

export interface StagedIdentity {
  kind: "identity";
  line: number;
  sourceUserId: string;
  providerId: string;
  accountId: string;
}

export type StagedRow = StagedUser | StagedIdentity;

export const STAGE_TABLE = "authplane_import_stage";

/** Lives only as long as the import's transaction: nothing to clean up after a crash. */
export const CREATE_STAGE = `CREATE TEMP TABLE ${STAGE_TABLE} (
  kind char(1) NOT NULL,
  line int NOT NULL,
  source_id text COLLATE "C" NOT NULL,
  email text COLLATE "C",
  name text,
  image text,
  verified bool,
  password text,
  created_at timestamptz,
  updated_at timestamptz,
  last_sign_in_at timestamptz,
  provider text COLLATE "C",
  account_id text COLLATE "C"
) ON COMMIT DROP`;

/** COPY text format: backslash, tab, newline and carriage return escaped; \N is NULL. */
export function copyField(value: string | boolean | number | null): string {
  if (value === null) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  const s = String(value);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r") : s;
}

const f = copyField;
export function copyLine(row: StagedRow): string {
  // One template, no intermediate array: this runs once per row of a million-row source.
  return row.kind === "user"
    ? `u\t${row.line}\t${f(row.sourceId)}\t${f(row.email)}\t${f(row.name)}\t${f(row.image)}\t${row.emailVerified ? "t" : "f"}\t${f(row.passwordHash)}\t${f(row.createdAt)}\t${f(row.updatedAt)}\t${f(row.lastSignInAt)}\t\\N\t\\N\n`
    : `i\t${row.line}\t${f(row.sourceUserId)}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t${f(row.providerId)}\t${f(row.accountId)}\n`;
}

/** A timestamp PostgreSQL will take, checked here so a bad one is reported with its line. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$/i;
export function isTimestamp(s: string): boolean {
  return TIMESTAMP.test(s);
}

export interface StageProgress {
  rowsRead: number;
}

/**
 * Stream `rows` into the staging table on `db` (inside the caller's transaction). Lines are
 * joined into chunks so COPY sees few large writes; backpressure is honoured, so memory holds
 * one chunk however large the source is. A throwing source aborts the COPY and rethrows.
 */
export async function stageRows(db: pg.PoolClient, rows: AsyncIterable<StagedRow | StagedRow[]>, onRow?: (n: number) => void): Promise<number> {
  await db.query(CREATE_STAGE);
  const copy = db.query(copyFrom(`COPY ${STAGE_TABLE} FROM STDIN`));
  let failed: Error | undefined;
  copy.on("error", (err: Error) => (failed ??= err));
  let n = 0;
  let chunk = "";
  // One pair of listeners per wait, both removed whichever fires (a race of once() promises
  // would leave an error listener behind on every drain).
  const drained = () =>
    new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        copy.off("error", onError);
        resolve();
      };
      const onError = (err: Error) => {
        copy.off("drain", onDrain);
        reject(err);
      };
      copy.once("drain", onDrain);
      copy.once("error", onError);
    });
  const flush = async () => {
    if (failed) throw failed;
    const more = copy.write(chunk);
    chunk = "";
    if (!more) await drained();
    if (failed) throw failed;
  };
  try {
    for await (const item of rows) {
      // A source may hand over batches (the dump reader does) to save a promise per row.
      for (const row of Array.isArray(item) ? item : [item]) {
        chunk += copyLine(row);
        n++;
        if (chunk.length >= 64 * 1024) await flush();
        if (onRow && n % 10_000 === 0) onRow(n);
      }
    }
    if (chunk) await flush();
  } catch (err) {
    // End the COPY with an error so the connection is usable for the ROLLBACK.
    copy.destroy(err as Error);
    await once(copy, "close").catch(() => {});
    throw err;
  }
  copy.end();
  await Promise.race([once(copy, "finish"), once(copy, "error").then(([e]) => Promise.reject(e))]);
  if (failed) throw failed;
  onRow?.(n);
  return n;
}
