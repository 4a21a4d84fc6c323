/**
 * Supabase users → staged people (ops/import). People are matched by email (trimmed,
 * lower-cased), never by id: Supabase's user UUIDs and provider ids mean nothing to Better Auth,
 * and the same person may already exist there with another id.
 */
import { isTimestamp, type StagedIdentity, type StagedUser } from "../import/staging.js";
import type { DumpRow } from "./dump-reader.js";
import { DumpSyntaxError } from "./sql-values.js";

export type SkipReason = "no_email" | "deleted" | "anonymous";

function json(raw: string | null | undefined, line: number): Record<string, unknown> {
  if (!raw || raw === "{}") return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    throw new DumpSyntaxError(line, "metadata is not valid JSON");
  }
}

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim() : null);

export function normalizeEmail(email: string | null | undefined): string | null {
  const e = email?.trim().toLowerCase();
  return e ? e : null;
}

function timestamp(v: string | null | undefined, column: string, line: number): string | null {
  if (v === null || v === undefined || v.trim() === "") return null;
  if (!isTimestamp(v.trim())) throw new DumpSyntaxError(line, `${column} is not a timestamp: ${JSON.stringify(v.slice(0, 40))}`);
  return v.trim();
}

const truthy = (v: string | null | undefined) => v === "t" || v === "true";

export function mapUser(row: DumpRow): StagedUser | SkipReason {
  const v = row.values;
  if (v.deleted_at) return "deleted";
  if (truthy(v.is_anonymous)) return "anonymous";
  const email = normalizeEmail(v.email);
  if (!email) return "no_email";
  const meta = json(v.raw_user_meta_data, row.line);
  const createdAt = timestamp(v.created_at, "created_at", row.line);
  return {
    kind: "user",
    line: row.line,
    sourceId: v.id ?? "",
    email,
    name: str(meta.full_name) ?? str(meta.name),
    image: str(meta.avatar_url) ?? str(meta.picture),
    emailVerified: Boolean(v.email_confirmed_at ?? v.confirmed_at),
    passwordHash: str(v.encrypted_password),
    createdAt,
    updatedAt: timestamp(v.updated_at, "updated_at", row.line) ?? createdAt,
    lastSignInAt: timestamp(v.last_sign_in_at, "last_sign_in_at", row.line),
  };
}

/**
 * An OAuth identity → an account row. Email identities carry no external account (the password
 * becomes the credential account instead). Google's subject is the stable account id.
 */
export function mapIdentity(row: DumpRow): StagedIdentity | null {
  const v = row.values;
  const provider = v.provider?.trim();
  if (!provider || provider === "email" || provider === "phone" || !v.user_id) return null;
  const data = json(v.identity_data, row.line);
  const accountId = str(data.sub) ?? str(v.provider_id) ?? str(data.provider_id) ?? str(v.id);
  if (!accountId) return null;
  return { kind: "identity", line: row.line, sourceUserId: v.user_id, providerId: provider, accountId };
}
