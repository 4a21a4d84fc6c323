/**
 * Streams the rows of `auth.users` and `auth.identities` out of a plain-SQL Supabase pg_dump,
 * from COPY blocks or INSERT statements, in one pass over the file. Everything else in the dump
 * (storage, audit logs, other schemas) streams past without being kept.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
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

export async function* readAuthRows(path: string): AsyncGenerator<DumpRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  let copy: { table: AuthTable | null; columns: string[]; startLine: number } | null = null;
  let insert: { table: AuthTable; columns: string[]; sql: string; startLine: number } | null = null;
  let sawUsers = false;

  for await (const line of lines) {
    lineNo++;
    if (copy) {
      if (line === "\\.") {
        copy = null;
      } else if (copy.table) {
        yield toRecord(copy.table, copy.columns, parseCopyLine(line), lineNo);
      }
      continue;
    }
    if (insert) {
      insert.sql += `\n${line}`;
    } else {
      const c = COPY_AUTH.exec(line);
      if (c) {
        copy = { table: c[1]!.toLowerCase() as AuthTable, columns: parseColumnList(c[2]!), startLine: lineNo };
        if (copy.table === "users") sawUsers = true;
        continue;
      }
      if (COPY_ANY.test(line)) {
        copy = { table: null, columns: [], startLine: lineNo }; // another table's data: skip to "\."
        continue;
      }
      const ins = INSERT_AUTH.exec(line);
      if (!ins) continue;
      insert = { table: ins[1]!.toLowerCase() as AuthTable, columns: parseColumnList(ins[2]!), sql: line, startLine: lineNo };
      if (insert.table === "users") sawUsers = true;
    }
    if (insert && statementComplete(insert.sql)) {
      const { table, columns, sql, startLine } = insert;
      insert = null;
      for (const values of parseValuesTuples(sql, startLine)) yield toRecord(table, columns, values, startLine);
    }
  }
  if (copy) throw new DumpSyntaxError(copy.startLine, `the dump ends inside the COPY block that starts here (no "\\." terminator): truncated?`);
  if (insert) throw new DumpSyntaxError(insert.startLine, `the dump ends inside the INSERT statement that starts here: truncated?`);
  if (!sawUsers) throw new DumpSyntaxError(lineNo, "no auth.users data in this dump (neither COPY auth.users nor INSERT INTO auth.users); was it dumped with --schema=auth and data?");
}
