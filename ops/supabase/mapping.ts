/**
 * Supabase users → Better Auth users and accounts. People are matched by email (trimmed,
 * lower-cased), never by id: Supabase's user UUIDs and provider ids mean nothing to Better Auth,
 * and the same person may already exist there with another id.
 */
import type { DumpRow } from "./dump-reader.js";

export interface MigratedUser {
  /** Supabase id, only to attach identities. */
  sourceId: string;
  email: string;
  name: string;
  image: string | null;
  emailVerified: boolean;
  /** bcrypt hash from Supabase, kept as the credential password. */
  passwordHash: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface MigratedAccount {
  sourceUserId: string;
  providerId: string;
  accountId: string;
}

export type SkipReason = "no_email" | "deleted" | "duplicate_email";

function json(raw: string | null | undefined, line: number): Record<string, unknown> {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    throw new Error(`line ${line}: metadata is not valid JSON`);
  }
}

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim() : null);

export function normalizeEmail(email: string | null | undefined): string | null {
  const e = email?.trim().toLowerCase();
  return e ? e : null;
}

export function mapUser(row: DumpRow): MigratedUser | SkipReason {
  const v = row.values;
  if (v.deleted_at) return "deleted";
  const email = normalizeEmail(v.email);
  if (!email) return "no_email";
  const meta = json(v.raw_user_meta_data, row.line);
  const now = new Date().toISOString();
  return {
    sourceId: v.id ?? "",
    email,
    name: str(meta.full_name) ?? str(meta.name) ?? email.split("@")[0]!,
    image: str(meta.avatar_url) ?? str(meta.picture),
    emailVerified: Boolean(v.email_confirmed_at ?? v.confirmed_at),
    passwordHash: str(v.encrypted_password),
    createdAt: v.created_at ?? now,
    updatedAt: v.updated_at ?? v.created_at ?? now,
  };
}

/**
 * An OAuth identity → an account row. Email identities carry no external account (the password
 * becomes the credential account instead). Google's subject is the stable account id.
 */
export function mapIdentity(row: DumpRow): MigratedAccount | null {
  const v = row.values;
  const provider = v.provider?.trim();
  if (!provider || provider === "email" || provider === "phone" || !v.user_id) return null;
  const data = json(v.identity_data, row.line);
  const accountId = str(data.sub) ?? str(v.provider_id) ?? str(data.provider_id) ?? str(v.id);
  if (!accountId) return null;
  return { sourceUserId: v.user_id, providerId: provider, accountId };
}
