/**
 * Cognito users → staged people, then the same merge as the Supabase migration
 * (ops/import/people.ts): matched by verified email with the same normalisation, merged rows keep
 * every Google identity. Cognito never exports password hashes, so nobody arrives with a
 * password: they sign in with Google or a passkey, or reset their password.
 */
import type pg from "pg";
import { importPeople, type ImportCounts } from "../import/people.js";
import type { StagedRow } from "../import/staging.js";
import { normalizeEmail } from "../supabase/mapping.js";
import { CognitoInputError, readCognitoFile, type CognitoUser } from "./read.js";

export type CognitoSkipReason = "no_email" | "disabled" | "unconfirmed" | "unverified_email";

export const NO_PASSWORDS =
  "Cognito never exports password hashes: no password was migrated. People sign in with Google or a passkey, or set a new password through a reset.";

export interface CognitoReport extends ImportCounts {
  source: "cognito";
  dry_run: boolean;
  users_read: number;
  users_skipped: Record<CognitoSkipReason, number>;
  identities_read: number;
  /** Federated identities of providers other than Google (SAML, Facebook, …): not linked. */
  identities_unsupported: number;
  passwords: string;
}

interface CognitoIdentity {
  userId?: unknown;
  providerName?: unknown;
  providerType?: unknown;
}

function identitiesOf(u: CognitoUser): CognitoIdentity[] {
  const raw = u.attributes.identities;
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (Array.isArray(parsed)) return parsed as CognitoIdentity[];
  } catch {
    // reported below with the line
  }
  throw new CognitoInputError(u.file, u.line, `${u.username}: the identities attribute is not a JSON list`);
}

const isGoogle = (i: CognitoIdentity) => i.providerName === "Google" || i.providerType === "Google";

function nameOf(a: Record<string, string>): string | null {
  const full = a.name?.trim() || [a.given_name, a.family_name].filter((s) => s?.trim()).join(" ").trim();
  return full || null;
}

export interface CognitoOptions {
  files: string[];
  pool: pg.Pool;
  dryRun?: boolean;
  verbose?: boolean;
  onProgress?: Parameters<typeof importPeople>[0]["onProgress"];
}

export async function migrateCognito({ files, pool, dryRun = false, verbose = false, onProgress }: CognitoOptions): Promise<CognitoReport> {
  const read = {
    users_read: 0,
    users_skipped: { no_email: 0, disabled: 0, unconfirmed: 0, unverified_email: 0 } as Record<CognitoSkipReason, number>,
    identities_read: 0,
    identities_unsupported: 0,
  };
  // Every file is read and checked before the import starts: a bad file fails with nothing staged.
  const users = files.flatMap(readCognitoFile);
  async function* staged(): AsyncGenerator<StagedRow> {
    for (const u of users) {
      read.users_read++;
      const identities = identitiesOf(u);
      read.identities_read += identities.length;
      if (!u.enabled || u.status === "ARCHIVED") {
        read.users_skipped.disabled++;
        continue;
      }
      if (u.status === "UNCONFIRMED" || u.status === "UNKNOWN") {
        read.users_skipped.unconfirmed++;
        continue;
      }
      const email = normalizeEmail(u.attributes.email);
      if (!email) {
        read.users_skipped.no_email++;
        continue;
      }
      const google = identities.filter(isGoogle);
      read.identities_unsupported += identities.length - google.length;
      // Google asserts the addresses it federates; Cognito's attribute mapping often leaves
      // email_verified unset for them, so a Google identity counts as verification.
      const verified = u.attributes.email_verified === "true" || google.length > 0;
      if (!verified) {
        read.users_skipped.unverified_email++;
        continue;
      }
      yield {
        kind: "user",
        line: u.line,
        sourceId: u.username,
        email,
        name: nameOf(u.attributes),
        image: u.attributes.picture?.trim() || null,
        emailVerified: true,
        passwordHash: null,
        createdAt: u.createdAt,
        updatedAt: u.updatedAt,
        lastSignInAt: null,
      };
      for (const g of google) {
        const accountId = typeof g.userId === "string" ? g.userId.trim() : typeof g.userId === "number" ? String(g.userId) : "";
        if (!accountId) throw new CognitoInputError(u.file, u.line, `${u.username}: a Google identity without a userId`);
        yield { kind: "identity", line: u.line, sourceUserId: u.username, providerId: "google", accountId };
      }
    }
  }
  const counts = await importPeople({
    pool,
    rows: staged(),
    dryRun,
    verbose,
    auditAction: "migrate.cognito",
    auditDetail: () => ({ ...read, files: files.length }),
    onProgress,
  });
  return { source: "cognito", dry_run: dryRun, ...read, ...counts, passwords: NO_PASSWORDS };
}
