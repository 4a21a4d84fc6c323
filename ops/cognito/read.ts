/**
 * The two shapes a Cognito user pool's users arrive in, read into one record per user with the
 * line it starts on:
 *  - the JSON `aws cognito-idp list-users` prints (one file per page, or the CLI's merged
 *    output): `{"Users":[{"Username","Attributes":[{"Name","Value"}],"UserCreateDate",
 *    "UserLastModifiedDate","Enabled","UserStatus"}],"PaginationToken"?}`;
 *  - a CSV export whose header row names the attributes (`cognito:username`, `email`,
 *    `email_verified`, `identities`, …, optionally `enabled` and `cognito:user_status`).
 * Errors name the file and line.
 */
import { readFileSync } from "node:fs";

export class CognitoInputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = "CognitoInputError";
  }
}

export interface CognitoUser {
  file: string;
  line: number;
  username: string;
  attributes: Record<string, string>;
  enabled: boolean;
  /** CONFIRMED, UNCONFIRMED, EXTERNAL_PROVIDER, FORCE_CHANGE_PASSWORD, RESET_REQUIRED, ARCHIVED, … */
  status: string;
  createdAt: string | null;
  updatedAt: string | null;
}

const lineAt = (text: string, index: number) => {
  let n = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) n++;
  return n;
};

/** The CLI prints ISO strings (v2) or epoch seconds (v1); the API's own JSON uses epoch seconds. */
function timestamp(v: unknown): string | null {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v === "string" && v.trim()) {
    if (/^\d+(\.\d+)?$/.test(v.trim())) return new Date(Number(v) * (v.includes(".") || v.length <= 10 ? 1000 : 1)).toISOString();
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : new Date(t).toISOString();
  }
  return null;
}

function readJsonPage(file: string, text: string): CognitoUser[] {
  let page: unknown;
  try {
    page = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const lc = /line (\d+)/.exec(msg);
    const pos = /position (\d+)/.exec(msg);
    throw new CognitoInputError(file, lc ? Number(lc[1]) : pos ? lineAt(text, Number(pos[1])) : 1, `not valid JSON (${msg})`);
  }
  const users = (page as { Users?: unknown })?.Users;
  if (!Array.isArray(users)) throw new CognitoInputError(file, 1, `no "Users" array: expected the output of \`aws cognito-idp list-users\``);
  // Line of each user: the n-th "Username" key in the text belongs to the n-th user.
  const starts: number[] = [];
  for (const m of text.matchAll(/"Username"\s*:/g)) starts.push(lineAt(text, m.index));
  return users.map((u: Record<string, unknown>, i) => {
    const line = starts[i] ?? 1;
    if (!u || typeof u !== "object" || typeof u.Username !== "string" || !u.Username) throw new CognitoInputError(file, line, `Users[${i}] has no Username`);
    const attributes: Record<string, string> = {};
    const list = u.Attributes ?? [];
    if (!Array.isArray(list)) throw new CognitoInputError(file, line, `Users[${i}].Attributes is not a list`);
    for (const a of list as { Name?: unknown; Value?: unknown }[]) {
      if (typeof a?.Name !== "string") throw new CognitoInputError(file, line, `Users[${i}].Attributes has an entry without a Name`);
      attributes[a.Name] = typeof a.Value === "string" ? a.Value : String(a.Value ?? "");
    }
    return {
      file,
      line,
      username: u.Username,
      attributes,
      enabled: u.Enabled !== false,
      status: typeof u.UserStatus === "string" ? u.UserStatus : "CONFIRMED",
      createdAt: timestamp(u.UserCreateDate),
      updatedAt: timestamp(u.UserLastModifiedDate),
    };
  });
}

/** RFC 4180 fields; quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(file: string, text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let quoteLine = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      quoteLine = line;
    } else if (c === ",") {
      fields.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      fields.push(field);
      if (fields.length > 1 || fields[0] !== "") rows.push({ line: rowLine, fields });
      fields = [];
      field = "";
      line++;
      rowLine = line;
    } else field += c;
  }
  if (quoted) throw new CognitoInputError(file, quoteLine, "a quoted field is never closed: truncated?");
  if (field !== "" || fields.length) {
    fields.push(field);
    rows.push({ line: rowLine, fields });
  }
  return rows;
}

const STATUS_COLUMNS = ["cognito:user_status", "userstatus", "user_status", "status"];
const ENABLED_COLUMNS = ["cognito:enabled", "enabled"];
const CREATED_COLUMNS = ["usercreatedate", "user_create_date", "created_at"];
const MODIFIED_COLUMNS = ["userlastmodifieddate", "user_last_modified_date", "updated_at"];

function readCsv(file: string, text: string): CognitoUser[] {
  const [header, ...rows] = parseCsv(file, text.replace(/^\uFEFF/, ""));
  if (!header) throw new CognitoInputError(file, 1, "empty file");
  const columns = header.fields.map((c) => c.trim());
  const lower = columns.map((c) => c.toLowerCase());
  if (!lower.includes("cognito:username")) throw new CognitoInputError(file, header.line, `the header has no cognito:username column (found: ${columns.join(", ")})`);
  if (!lower.includes("email")) throw new CognitoInputError(file, header.line, "the header has no email column");
  const pick = (record: Record<string, string>, names: string[]) => names.map((n) => record[n]).find((v) => v !== undefined && v !== "");
  return rows.map(({ line, fields }) => {
    if (fields.length !== columns.length) throw new CognitoInputError(file, line, `${fields.length} fields for ${columns.length} columns`);
    const byLower: Record<string, string> = {};
    const attributes: Record<string, string> = {};
    columns.forEach((c, i) => {
      byLower[lower[i]!] = fields[i]!;
      if (fields[i] !== "" && !c.startsWith("cognito:")) attributes[c] = fields[i]!;
    });
    const username = byLower["cognito:username"]!;
    if (!username) throw new CognitoInputError(file, line, "cognito:username is empty");
    const enabled = pick(byLower, ENABLED_COLUMNS);
    return {
      file,
      line,
      username,
      attributes,
      enabled: enabled === undefined || /^(true|1|yes)$/i.test(enabled),
      status: (pick(byLower, STATUS_COLUMNS) ?? "CONFIRMED").toUpperCase(),
      createdAt: timestamp(pick(byLower, CREATED_COLUMNS)),
      updatedAt: timestamp(pick(byLower, MODIFIED_COLUMNS)),
    };
  });
}

/** One file, JSON page or CSV (by its first character, not its name). */
export function readCognitoFile(file: string): CognitoUser[] {
  const text = readFileSync(file, "utf8");
  return text.trimStart().startsWith("{") ? readJsonPage(file, text) : readCsv(file, text);
}
