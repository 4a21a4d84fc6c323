/**
 * People from another identity system into Better Auth's tables, as set-based SQL over the
 * staging table (staging.ts). One transaction: the source is staged, checked, matched and
 * written, or (any error, or a dry run) nothing is. Every insert is conditional on the natural
 * key (email; provider + account id; one credential per user), so a re-run inserts nothing.
 *
 * Merge rules, for the rows of one person (same normalised email):
 *  - one Better Auth user; name and image from the most recently signed-in row that has one;
 *    verified if any row is;
 *  - every external identity (Google) of every row;
 *  - the password hash of a row that has one; several different hashes → the most recently
 *    signed-in row's, reported as a conflict. A hash from an unconfirmed row is not merged into a
 *    person whose email another row confirmed: whoever typed that password never proved they
 *    own the address, and merging it would hand them the confirmed person's account.
 */
import type pg from "pg";
import { recordOperatorAudit } from "../audit.js";
import { STAGE_TABLE, stageRows, type StagedRow } from "./staging.js";

export interface MergedGroup {
  email: string;
  rows: number;
  external_accounts: number;
  password: "none" | "kept" | "conflict_latest_kept";
}

export interface ImportCounts {
  users_created: number;
  users_already_present: number;
  /** Source rows folded into another row of the same person. */
  users_merged: number;
  merged_groups: number;
  identities_linked: number;
  identities_already_linked: number;
  /** Identities whose user was skipped or absent from the source. */
  identities_without_user: number;
  passwords_kept: number;
  /** People whose rows carried different hashes (the most recently signed-in row's was kept). */
  password_conflicts: number;
  passwords_unconfirmed_dropped: number;
  /** Only with verbose: who was merged (emails are personal data; stdout may be a CI log). */
  merged?: MergedGroup[];
}

export interface ImportOptions {
  pool: pg.Pool;
  rows: AsyncIterable<StagedRow>;
  dryRun?: boolean;
  verbose?: boolean;
  /** Audit action recorded in the same transaction, e.g. "migrate.supabase". */
  auditAction: string;
  auditDetail?: () => Record<string, unknown>;
  onProgress?: (p: { phase: "staging" | "writing" | "done"; rowsRead: number; usersWritten: number }) => void;
}

const M = `authplane_import_person`;

/** Order of "most recently signed in" among one person's rows; line breaks ties deterministically. */
const RECENT = `last_sign_in_at DESC NULLS LAST, updated_at DESC NULLS LAST, created_at DESC NULLS LAST, line`;

async function count(db: pg.PoolClient, sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql)).rows[0]!.n;
}

const LINKS = `authplane_import_link`;

async function merge(db: pg.PoolClient, verbose: boolean, onWritten: (n: number) => void): Promise<ImportCounts> {
  // Temp tables have no statistics until analysed; without them the planner guesses nested loops.
  await db.query(`ANALYZE ${STAGE_TABLE}`);
  // One row per person, with the password chosen by the rules above and the Better Auth user it
  // maps to: an existing one (same email, any letter case) or a fresh id.
  await db.query(`CREATE TEMP TABLE ${M} ON COMMIT DROP AS
    WITH person AS (
      -- Every ordered aggregate shares one ORDER BY, so PostgreSQL sorts each person's rows once.
      SELECT email,
        count(*)::int AS rows,
        bool_or(verified) AS verified,
        coalesce((array_agg(name ORDER BY ${RECENT}) FILTER (WHERE name IS NOT NULL))[1], split_part(email, '@', 1)) AS name,
        (array_agg(image ORDER BY ${RECENT}) FILTER (WHERE image IS NOT NULL))[1] AS image,
        min(created_at) AS created_at,
        max(updated_at) AS updated_at,
        CASE WHEN bool_or(verified)
          THEN (array_agg(password ORDER BY ${RECENT}) FILTER (WHERE password IS NOT NULL AND verified))[1]
          ELSE (array_agg(password ORDER BY ${RECENT}) FILTER (WHERE password IS NOT NULL))[1] END AS password,
        CASE WHEN bool_or(verified)
          THEN count(DISTINCT password) FILTER (WHERE password IS NOT NULL AND verified)
          ELSE count(DISTINCT password) FILTER (WHERE password IS NOT NULL) END::int AS hashes,
        CASE WHEN bool_or(verified) THEN count(*) FILTER (WHERE password IS NOT NULL AND NOT verified) ELSE 0 END::int AS unconfirmed_dropped
      FROM ${STAGE_TABLE} WHERE kind = 'u' GROUP BY email
    ), existing AS (
      SELECT lower(email) AS email, min(id) AS id FROM "user" GROUP BY 1
    )
    SELECT p.*, coalesce(x.id, gen_random_uuid()::text) AS user_id, x.id IS NULL AS is_new
    FROM person p LEFT JOIN existing x USING (email)`);
  await db.query(`ANALYZE ${M}`);
  const stats = (
    await db.query<{ fresh: number; groups: number; merged: number; conflicts: number; dropped: number }>(
      `SELECT count(*) FILTER (WHERE is_new)::int AS fresh, count(*) FILTER (WHERE rows > 1)::int AS groups, coalesce(sum(rows - 1), 0)::int AS merged,
              count(*) FILTER (WHERE hashes > 1)::int AS conflicts, coalesce(sum(unconfirmed_dropped), 0)::int AS dropped FROM ${M}`,
    )
  ).rows[0]!;
  const people = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${M}`)).rows[0]!.n;

  const inserted = await db.query(`INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt")
    SELECT user_id, name, email, verified, image, coalesce(created_at, now()), coalesce(updated_at, created_at, now())
    FROM ${M} WHERE is_new
    ON CONFLICT DO NOTHING`);
  const created = inserted.rowCount ?? 0;
  onWritten(created);
  if (created < stats.fresh) {
    // A sign-up raced the insert (same email): that user is the person.
    await db.query(`UPDATE ${M} p SET user_id = u.id, is_new = false FROM "user" u WHERE p.is_new AND lower(u.email) = p.email AND u.id <> p.user_id`);
  }

  const passwords = await db.query(`INSERT INTO "account" (id, "accountId", "providerId", "userId", password, "createdAt", "updatedAt")
    SELECT gen_random_uuid()::text, p.user_id, 'credential', p.user_id, p.password, now(), now()
    FROM ${M} p
    WHERE p.password IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = 'credential' AND a."userId" = p.user_id)`);

  // Identities of every kept row of a person, each external account once (listed under two
  // people, which a sane source never does, the first row's wins).
  const withUser =
    (
      await db.query(`CREATE TEMP TABLE ${LINKS} ON COMMIT DROP AS
        SELECT DISTINCT ON (i.provider, i.account_id) p.user_id, i.provider, i.account_id
        FROM ${STAGE_TABLE} i
        JOIN ${STAGE_TABLE} u ON u.kind = 'u' AND u.source_id = i.source_id
        JOIN ${M} p ON p.email = u.email
        WHERE i.kind = 'i'
        ORDER BY i.provider, i.account_id, u.line`)
    ).rowCount ?? 0;
  const linked = await db.query(`INSERT INTO "account" (id, "accountId", "providerId", "userId", "createdAt", "updatedAt")
    SELECT gen_random_uuid()::text, l.account_id, l.provider, l.user_id, now(), now() FROM ${LINKS} l
    WHERE NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = l.provider AND a."accountId" = l.account_id)`);
  const withoutUser = await count(
    db,
    `SELECT count(*)::int AS n FROM ${STAGE_TABLE} i WHERE i.kind = 'i' AND NOT EXISTS (SELECT 1 FROM ${STAGE_TABLE} u WHERE u.kind = 'u' AND u.source_id = i.source_id)`,
  );

  const counts: ImportCounts = {
    users_created: created,
    users_already_present: people - created,
    users_merged: stats.merged,
    merged_groups: stats.groups,
    identities_linked: linked.rowCount ?? 0,
    identities_already_linked: withUser - (linked.rowCount ?? 0),
    identities_without_user: withoutUser,
    passwords_kept: passwords.rowCount ?? 0,
    password_conflicts: stats.conflicts,
    passwords_unconfirmed_dropped: stats.dropped,
  };
  if (verbose) {
    const { rows } = await db.query<MergedGroup>(`SELECT p.email, p.rows,
        (SELECT count(DISTINCT (i.provider, i.account_id))::int FROM ${STAGE_TABLE} u JOIN ${STAGE_TABLE} i ON i.kind = 'i' AND i.source_id = u.source_id
          WHERE u.kind = 'u' AND u.email = p.email) AS external_accounts,
        CASE WHEN p.hashes > 1 THEN 'conflict_latest_kept' WHEN p.password IS NOT NULL THEN 'kept' ELSE 'none' END AS password
      FROM ${M} p WHERE p.rows > 1 ORDER BY p.email`);
    counts.merged = rows;
  }
  return counts;
}

/** Stage, merge and write in one transaction on one connection (the temp tables live there). */
export async function importPeople(opts: ImportOptions): Promise<ImportCounts> {
  const db = await opts.pool.connect();
  let rowsRead = 0;
  try {
    await db.query("BEGIN");
    // Session memory for the staging table and the sorts; the server's defaults spill to disk early.
    await db.query(`SET LOCAL temp_buffers = '64MB'`);
    await db.query(`SET LOCAL work_mem = '64MB'`);
    await stageRows(db, opts.rows, (n) => opts.onProgress?.({ phase: "staging", rowsRead: (rowsRead = n), usersWritten: 0 }));
    opts.onProgress?.({ phase: "writing", rowsRead, usersWritten: 0 });
    const counts = await merge(db, opts.verbose ?? false, (n) => opts.onProgress?.({ phase: "writing", rowsRead, usersWritten: n }));
    const { merged: _emails, ...summary } = counts;
    await recordOperatorAudit(db, { action: opts.auditAction, outcome: "success", detail: { ...summary, ...opts.auditDetail?.() } });
    await db.query(opts.dryRun ? "ROLLBACK" : "COMMIT");
    opts.onProgress?.({ phase: "done", rowsRead, usersWritten: counts.users_created });
    return counts;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    db.release();
  }
}
