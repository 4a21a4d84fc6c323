/**
 * The two encodings a plain-SQL pg_dump uses for row data: COPY text format (tab-separated,
 * backslash escapes, \N for NULL) and SQL literals in INSERT statements ('' quoting, E''
 * strings, NULL, numbers, booleans, ::casts). Small and exact rather than a general SQL parser:
 * these are the only shapes pg_dump writes.
 */

export class DumpSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "DumpSyntaxError";
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** One COPY text-format field: `\N` is NULL; backslash escapes as PostgreSQL's COPY defines them. */
export function unescapeCopyField(field: string): string | null {
  if (field === "\\N") return null;
  if (!field.includes("\\")) return field;
  let out = "";
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = field[++i];
    if (n === undefined) break;
    if (n in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[n];
    else if (n >= "0" && n <= "7") {
      let digits = n;
      while (digits.length < 3 && field[i + 1]! >= "0" && field[i + 1]! <= "7") digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 8));
    } else if (n === "x" && /[0-9a-fA-F]/.test(field[i + 1] ?? "")) {
      let hex = "";
      while (hex.length < 2 && /[0-9a-fA-F]/.test(field[i + 1] ?? "")) hex += field[++i];
      out += String.fromCharCode(parseInt(hex, 16));
    } else out += n; // \\ and any other escaped character stand for themselves
  }
  return out;
}

export function parseCopyLine(line: string): (string | null)[] {
  return line.split("\t").map(unescapeCopyField);
}

/** Does this (partial) statement end outside any string literal with a semicolon? */
export function statementComplete(sql: string): boolean {
  let inString = false;
  let escapes = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (inString) {
      if (escapes && c === "\\") i++;
      else if (c === "'") {
        if (sql[i + 1] === "'") i++;
        else inString = false;
      }
    } else if (c === "'") {
      inString = true;
      escapes = /[eE]/.test(sql[i - 1] ?? "") && !/[\w]/.test(sql[i - 2] ?? "");
    } else if (c === ";" && sql.slice(i + 1).trim() === "") return true;
  }
  return false;
}

/** The tuples after VALUES in an INSERT statement, each a list of decoded values. */
export function parseValuesTuples(sql: string, startLine: number): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let i = sql.search(/\bVALUES\b/i);
  if (i < 0) throw new DumpSyntaxError(startLine, "INSERT without VALUES");
  i += "VALUES".length;
  const fail = (msg: string) => {
    throw new DumpSyntaxError(startLine + (sql.slice(0, i).match(/\n/g)?.length ?? 0), msg);
  };
  const skipSpace = () => {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
  };
  const readCast = () => {
    // '…'::jsonb, NULL::text, '…'::timestamp with time zone — the value is what matters.
    while (sql.startsWith("::", i)) {
      i += 2;
      const m = /^[a-z_][\w ."]*(\[\])?/i.exec(sql.slice(i));
      i += m ? m[0].replace(/\s+$/, "").length : 0;
      skipSpace();
    }
  };
  const readString = (escapes: boolean): string => {
    let out = "";
    i++; // opening quote
    for (; i < sql.length; i++) {
      const c = sql[i]!;
      if (escapes && c === "\\") {
        const n = sql[++i]!;
        out += n in SIMPLE_ESCAPES ? SIMPLE_ESCAPES[n] : n;
      } else if (c === "'") {
        if (sql[i + 1] === "'") {
          out += "'";
          i++;
        } else {
          i++;
          return out;
        }
      } else out += c;
    }
    return fail("unterminated string literal");
  };
  for (;;) {
    skipSpace();
    if (sql[i] !== "(") fail(`expected "(" starting a row, found ${JSON.stringify(sql.slice(i, i + 12))}`);
    i++;
    const row: (string | null)[] = [];
    for (;;) {
      skipSpace();
      let value: string | null;
      if (sql[i] === "'") value = readString(false);
      else if (/[eE]/.test(sql[i]!) && sql[i + 1] === "'") {
        i++;
        value = readString(true);
      } else {
        const m = /^(NULL|true|false|DEFAULT|-?\d+(\.\d+)?([eE][+-]?\d+)?)/i.exec(sql.slice(i));
        if (!m) fail(`unexpected value ${JSON.stringify(sql.slice(i, i + 16))}`);
        i += m![0].length;
        value = /^null$/i.test(m![0]) || /^default$/i.test(m![0]) ? null : m![0].toLowerCase();
      }
      skipSpace();
      readCast();
      row.push(value);
      if (sql[i] === ",") {
        i++;
        continue;
      }
      if (sql[i] === ")") {
        i++;
        break;
      }
      fail(`expected "," or ")" in a row, found ${JSON.stringify(sql.slice(i, i + 12))}`);
    }
    rows.push(row);
    skipSpace();
    if (sql[i] === ",") {
      i++;
      continue;
    }
    return rows; // ";" or a trailing clause (ON CONFLICT …) ends the rows
  }
}

/** `a, "b", c` → ["a","b","c"] (identifiers as pg_dump quotes them). */
export function parseColumnList(list: string): string[] {
  return list.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1").replace(/""/g, '"'));
}
