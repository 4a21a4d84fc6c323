/**
 * The migration itself: read the whole dump first (so a malformed or truncated dump fails before
 * anything is written), then write users and their accounts in batches, one transaction each.
 * Every insert is conditional on the natural key (email; provider + account id), so a re-run
 * inserts nothing and a failed batch can simply be run again.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { inTransaction } from "../db.js";
import { readAuthRows } from "./dump-reader.js";
import { mapIdentity, mapUser, type MigratedAccount, type MigratedUser, type SkipReason } from "./mapping.js";

export interface MigrationReport {
  dry_run: boolean;
  users_read: number;
  users_created: number;
  users_already_present: number;
  users_skipped: Record<SkipReason, number>;
  identities_read: number;
  identities_linked: number;
  identities_already_linked: number;
  /** Identities whose user was skipped or absent from the dump. */
  identities_without_user: number;
  passwords_kept: number;
}

export interface MigrateOptions {
  dump: string;
  pool: pg.Pool;
  batchSize?: number;
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
}

interface Parsed {
  users: MigratedUser[];
  accounts: Map<string, MigratedAccount[]>;
  report: MigrationReport;
}

async function parseDump(dump: string, dryRun: boolean): Promise<Parsed> {
  const report: MigrationReport = {
    dry_run: dryRun,
    users_read: 0,
    users_created: 0,
    users_already_present: 0,
    users_skipped: { no_email: 0, deleted: 0, duplicate_email: 0 },
    identities_read: 0,
    identities_linked: 0,
    identities_already_linked: 0,
    identities_without_user: 0,
    passwords_kept: 0,
  };
  const users: MigratedUser[] = [];
  const seenEmails = new Set<string>();
  const accounts = new Map<string, MigratedAccount[]>();
  for await (const row of readAuthRows(dump)) {
    if (row.table === "users") {
      report.users_read++;
      const user = mapUser(row);
      if (typeof user === "string") report.users_skipped[user]++;
      else if (seenEmails.has(user.email)) report.users_skipped.duplicate_email++;
      else {
        seenEmails.add(user.email);
        users.push(user);
      }
    } else {
      report.identities_read++;
      const account = mapIdentity(row);
      if (account) accounts.set(account.sourceUserId, [...(accounts.get(account.sourceUserId) ?? []), account]);
    }
  }
  return { users, accounts, report };
}

/**
 * What the target already holds, loaded once: a re-run then filters in memory and issues no
 * writes at all, instead of anti-joining every batch against the whole user and account tables.
 * The inserts keep their NOT EXISTS guards, so a sign-up racing the migration cannot duplicate.
 */
interface Known {
  userIdByEmail: Map<string, string>;
  accountKeys: Set<string>;
  credentialUserIds: Set<string>;
}

async function loadKnown(pool: pg.Pool): Promise<Known> {
  const [users, accounts] = await Promise.all([
    pool.query<{ id: string; email: string }>(`SELECT id, lower(email) AS email FROM "user"`),
    pool.query<{ providerId: string; accountId: string; userId: string }>(`SELECT "providerId", "accountId", "userId" FROM "account"`),
  ]);
  const known: Known = { userIdByEmail: new Map(users.rows.map((r) => [r.email, r.id])), accountKeys: new Set(), credentialUserIds: new Set() };
  for (const a of accounts.rows) {
    if (a.providerId === "credential") known.credentialUserIds.add(a.userId);
    else known.accountKeys.add(`${a.providerId}\u0000${a.accountId}`);
  }
  return known;
}

async function insertUsers(db: pg.PoolClient, users: MigratedUser[], known: Known): Promise<number> {
  if (!users.length) return 0;
  const inserted = await db.query<{ id: string; email: string }>(
    `INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt")
     SELECT t.* FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::timestamptz[], $7::timestamptz[])
       AS t(id, name, email, verified, image, created, updated)
     WHERE NOT EXISTS (SELECT 1 FROM "user" u WHERE lower(u.email) = t.email)
     ON CONFLICT DO NOTHING
     RETURNING id, email`,
    [
      users.map(() => randomUUID()),
      users.map((u) => u.name),
      users.map((u) => u.email),
      users.map((u) => u.emailVerified),
      users.map((u) => u.image),
      users.map((u) => u.createdAt),
      users.map((u) => u.updatedAt),
    ],
  );
  for (const r of inserted.rows) known.userIdByEmail.set(r.email, r.id);
  // Anyone not inserted appeared since loadKnown (a concurrent sign-up): look them up.
  const racing = users.filter((u) => !known.userIdByEmail.has(u.email)).map((u) => u.email);
  if (racing.length) {
    const found = await db.query<{ id: string; email: string }>(`SELECT id, lower(email) AS email FROM "user" WHERE lower(email) = ANY($1::text[])`, [racing]);
    for (const r of found.rows) known.userIdByEmail.set(r.email, r.id);
  }
  return inserted.rowCount ?? 0;
}

async function writeBatch(db: pg.PoolClient, batch: MigratedUser[], accounts: Map<string, MigratedAccount[]>, known: Known) {
  const created = await insertUsers(db, batch.filter((u) => !known.userIdByEmail.has(u.email)), known);

  const passwords: { userId: string; hash: string }[] = [];
  const external: { userId: string; providerId: string; accountId: string }[] = [];
  let identities = 0;
  for (const user of batch) {
    const userId = known.userIdByEmail.get(user.email)!;
    if (user.passwordHash && !known.credentialUserIds.has(userId)) passwords.push({ userId, hash: user.passwordHash });
    for (const a of accounts.get(user.sourceId) ?? []) {
      identities++;
      if (!known.accountKeys.has(`${a.providerId}\u0000${a.accountId}`)) external.push({ userId, ...a });
    }
  }
  const kept = passwords.length
    ? await db.query<{ userId: string }>(
        `INSERT INTO "account" (id, "accountId", "providerId", "userId", password, "createdAt", "updatedAt")
         SELECT gen_random_uuid()::text, t.user_id, 'credential', t.user_id, t.hash, now(), now()
         FROM unnest($1::text[], $2::text[]) AS t(user_id, hash)
         WHERE NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = 'credential' AND a."userId" = t.user_id)
         RETURNING "userId"`,
        [passwords.map((p) => p.userId), passwords.map((p) => p.hash)],
      )
    : { rows: [] };
  const linked = external.length
    ? await db.query<{ providerId: string; accountId: string }>(
        `INSERT INTO "account" (id, "accountId", "providerId", "userId", "createdAt", "updatedAt")
         SELECT gen_random_uuid()::text, t.account_id, t.provider_id, t.user_id, now(), now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(user_id, provider_id, account_id)
         WHERE NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = t.provider_id AND a."accountId" = t.account_id)
         RETURNING "providerId", "accountId"`,
        [external.map((r) => r.userId), external.map((r) => r.providerId), external.map((r) => r.accountId)],
      )
    : { rows: [] };
  for (const r of kept.rows) known.credentialUserIds.add(r.userId);
  for (const r of linked.rows) known.accountKeys.add(`${r.providerId}\u0000${r.accountId}`);
  return { created, identities, linked: linked.rows.length, passwords: kept.rows.length };
}

export async function migrateSupabase({ dump, pool, batchSize = 1000, dryRun = false, onProgress }: MigrateOptions): Promise<MigrationReport> {
  const { users, accounts, report } = await parseDump(dump, dryRun);
  const withUser = new Set(users.map((u) => u.sourceId));
  for (const [sourceId, list] of accounts) if (!withUser.has(sourceId)) report.identities_without_user += list.length;

  const known = await loadKnown(pool);
  for (let i = 0; i < users.length; i += batchSize) {
    const batch = users.slice(i, i + batchSize);
    const r = await inTransaction(pool, (db) => writeBatch(db, batch, accounts, known), { dryRun });
    report.users_created += r.created;
    report.users_already_present += batch.length - r.created;
    report.identities_linked += r.linked;
    report.identities_already_linked += r.identities - r.linked;
    report.passwords_kept += r.passwords;
    onProgress?.(Math.min(i + batchSize, users.length), users.length);
  }
  return report;
}
