/**
 * Streams the rows of `auth.users` and `auth.identities` out of a plain-SQL Supabase pg_dump,
 * from COPY blocks or INSERT statements, in one pass over the file. Everything else in the dump
 * (storage, audit logs, other schemas) streams past without being kept.
 */
import { createReadStream } from "node:fs";
import { DumpSyntaxError, parseColumnList, parseCopyLine, parseValuesTuples, statementComplete } from "./sql-values.js";

export type AuthTable = "users" | "identities";

export interface DumpRow {
  table: AuthTable;
  /** Line of the row (COPY) or of its statement (INSERT), for error messages. */
  line: number;
  values: Record<string, string | null>;
}

const TABLE = String.raw`(?:"?auth"?\s*\.\s*)"?(users|identities)"?`;
const COPY_AUTH = new RegExp(String.raw`^COPY\s+${TABLE}\s*\(([^)]*)\)\s+FROM\s+stdin;`, "i");
const COPY_ANY = /^COPY\s+\S.*\s+FROM\s+stdin;/i;
const INSERT_AUTH = new RegExp(String.raw`^INSERT\s+INTO\s+${TABLE}\s*\(([^)]*)\)\s*VALUES`, "i");

function toRecord(table: AuthTable, columns: string[], values: (string | null)[], line: number): DumpRow {
  if (values.length !== columns.length) {
    throw new DumpSyntaxError(line, `auth.${table} row has ${values.length} values for ${columns.length} columns (${columns.join(", ")})`);
  }
  // A plain loop: this runs once per row of a million-row dump, and fromEntries(map()) allocates twice.
  const record: Record<string, string | null> = {};
  for (let i = 0; i < columns.length; i++) record[columns[i]!] = values[i]!;
  return { table, line, values: record };
}

/**
 * The rows of the dump in batches of a few hundred: a million-row dump then costs a few thousand
 * promise hops through the async pipeline instead of a few million.
 */
export async function* readAuthRowBatches(path: string): AsyncGenerator<DumpRow[]> {
  let lineNo = 0;
  let copy: { table: AuthTable | null; columns: string[]; startLine: number } | null = null;
  let insert: { table: AuthTable; columns: string[]; sql: string; startLine: number } | null = null;
  let sawUsers = false;
  let batch: DumpRow[] = [];

  const onLine = (line: string) => {
    lineNo++;
    if (copy) {
      if (line === "\\.") {
        copy = null;
      } else if (copy.table) {
        batch.push(toRecord(copy.table, copy.columns, parseCopyLine(line), lineNo));
      }
      return;
    }
    if (insert) {
      insert.sql += `\n${line}`;
    } else {
      const c = COPY_AUTH.exec(line);
      if (c) {
        copy = { table: c[1]!.toLowerCase() as AuthTable, columns: parseColumnList(c[2]!), startLine: lineNo };
        if (copy.table === "users") sawUsers = true;
        return;
      }
      if (COPY_ANY.test(line)) {
        copy = { table: null, columns: [], startLine: lineNo }; // another table's data: skip to "\."
        return;
      }
      const ins = INSERT_AUTH.exec(line);
      if (!ins) return;
      insert = { table: ins[1]!.toLowerCase() as AuthTable, columns: parseColumnList(ins[2]!), sql: line, startLine: lineNo };
      if (insert.table === "users") sawUsers = true;
    }
    if (insert && statementComplete(insert.sql)) {
      const { table, columns, sql, startLine } = insert;
      insert = null;
      for (const values of parseValuesTuples(sql, startLine)) batch.push(toRecord(table, columns, values, startLine));
    }
  };

  // Lines split by hand: readline costs an event and a string per line on top of this.
  let rest = "";
  for await (const chunk of createReadStream(path, { encoding: "utf8", }) as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      onLine(text.charCodeAt(nl - 1) === 13 && nl > start ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
      // Small batches: a large one outlives young-generation collections and gets promoted,
      // and the heap (RSS) then grows with the dump.
      if (batch.length >= 256) {
        yield batch;
        batch = [];
      }
    }
    rest = text.slice(start);
  }
  if (rest) onLine(rest.endsWith("\r") ? rest.slice(0, -1) : rest);
  if (batch.length) yield batch;
  // onLine assigns these; flow analysis outside the closure cannot see it.
  const openCopy = copy as { startLine: number } | null;
  const openInsert = insert as { startLine: number } | null;
  if (openCopy) throw new DumpSyntaxError(openCopy.startLine, `the dump ends inside the COPY block that starts here (no "\\." terminator): truncated?`);
  if (openInsert) throw new DumpSyntaxError(openInsert.startLine, `the dump ends inside the INSERT statement that starts here: truncated?`);
  if (!sawUsers) throw new DumpSyntaxError(lineNo, "no auth.users data in this dump (neither COPY auth.users nor INSERT INTO auth.users); was it dumped with --schema=auth and data?");
}
