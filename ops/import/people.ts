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
  /** Rows one by one or in batches. */
  rows: AsyncIterable<StagedRow | StagedRow[]>;
  dryRun?: boolean;
  verbose?: boolean;
  /** Audit action recorded in the same transaction, e.g. "migrate.supabase". */
  auditAction: string;
  auditDetail?: () => Record<string, unknown>;
  onProgress?: (p: { phase: "staging" | "writing" | "done"; rowsRead: number; usersWritten: number }) => void;
  /** Wall time of each phase (staging, person, users, passwords, identities, report, audit, commit), for --verbose and the benchmark. */
  onPhase?: (phase: string, ms: number) => void;
}

/** One row per person (normalised email): how many source rows, the user it maps to, new or not. */
const M = `authplane_import_person`;
/** One row per person with a password on any row: the hash the rules choose, and why. */
const PW = `authplane_import_password`;

/** Order of "most recently signed in" among one person's rows; line breaks ties deterministically. */
const RECENT = `last_sign_in_at DESC NULLS LAST, updated_at DESC NULLS LAST, created_at DESC NULLS LAST, line`;

/**
 * Ids for the rows one statement inserts, increasing in the order given: a per-statement prefix
 * (time in ms, 16 random bits), the row's rank, then 64 bits from a strong random source
 * (gen_random_uuid). Inserted in that order, a million rows append to the right edge of the
 * primary key (and, for users ranked by email, of the email index) instead of touching a random
 * page each (a 1M-user insert took 7.6 s this way here, 26-35 s with random ids, once the
 * indexes outgrow the buffer cache).
 */
function orderedId(rankOver: string): string {
  const prefix = Date.now().toString(16).padStart(12, "0") + Math.floor(Math.random() * 0x10000).toString(16).padStart(4, "0");
  return `('${prefix}' || lpad(to_hex(row_number() OVER (ORDER BY ${rankOver})), 8, '0') || substr(md5(gen_random_uuid()::text), 1, 16))`;
}

/** Reports the time since the previous lap under the given phase name. */
function lapTimer(onPhase?: (phase: string, ms: number) => void): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    onPhase?.(phase, Math.round(now - last));
    last = now;
  };
}

/** The new people's user rows: singletons straight from their row, merged people by the rules above; in id order. */
const NEW_USERS = `
  SELECT * FROM (
  SELECT m.user_id, coalesce(s.name, split_part(s.email, '@', 1)), s.email, s.verified, s.image,
         coalesce(s.created_at, now()), coalesce(s.updated_at, s.created_at, now())
  FROM ${STAGE_TABLE} s JOIN ${M} m ON m.email = s.email
  WHERE s.kind = 'u' AND m.is_new AND m.rows = 1
  UNION ALL
  SELECT m.user_id,
    coalesce((array_agg(s.name ORDER BY ${RECENT}) FILTER (WHERE s.name IS NOT NULL))[1], split_part(m.email, '@', 1)),
    m.email, bool_or(s.verified),
    (array_agg(s.image ORDER BY ${RECENT}) FILTER (WHERE s.image IS NOT NULL))[1],
    coalesce(min(s.created_at), now()), coalesce(max(s.updated_at), min(s.created_at), now())
  FROM ${STAGE_TABLE} s JOIN ${M} m ON m.email = s.email
  WHERE s.kind = 'u' AND m.is_new AND m.rows > 1
  GROUP BY m.user_id, m.email
  ) n ORDER BY n.user_id COLLATE "C"`;

async function insertNewUsers(db: pg.PoolClient, fresh: number): Promise<number> {
  const insert = `INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt") ${NEW_USERS}`;
  if (fresh === 0) return 0;
  // A plain insert costs about half of ON CONFLICT's speculative insertion per row; only a
  // sign-up racing the import (same email, since the match) needs that slow path.
  await db.query("SAVEPOINT authplane_import_users");
  try {
    const n = (await db.query(insert)).rowCount ?? 0;
    await db.query("RELEASE SAVEPOINT authplane_import_users");
    return n;
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw err;
    await db.query("ROLLBACK TO SAVEPOINT authplane_import_users");
  }
  const created = (await db.query(`${insert} ON CONFLICT DO NOTHING`)).rowCount ?? 0;
  // Whoever signed up meanwhile is the person.
  await db.query(`UPDATE ${M} p SET user_id = u.id, is_new = false FROM "user" u WHERE p.is_new AND lower(u.email) = p.email AND u.id <> p.user_id`);
  return created;
}

async function merge(db: pg.PoolClient, verbose: boolean, onWritten: (n: number) => void, lap: (phase: string) => void): Promise<ImportCounts> {
  // Temp tables have no statistics until analysed; without them the planner guesses nested loops.
  await db.query(`ANALYZE ${STAGE_TABLE}`);
  lap("analyze");
  // Only counts and the mapping here: the ordered aggregates of the rules run for the people who
  // need them (new people, people with a password), so a re-run does almost nothing.
  await db.query(`CREATE TEMP TABLE ${M} ON COMMIT DROP AS
    WITH person AS (
      SELECT email, count(*)::int AS rows FROM ${STAGE_TABLE} WHERE kind = 'u' GROUP BY email
    ), existing AS (
      SELECT lower(email) COLLATE "C" AS email, min(id) AS id FROM "user" GROUP BY 1
    ), matched AS (
      SELECT p.email, p.rows, x.id FROM person p LEFT JOIN existing x USING (email)
    )
    -- Fresh ids are ranked over the new people only: a re-run sorts nothing.
    SELECT email, rows, id AS user_id, false AS is_new FROM matched WHERE id IS NOT NULL
    UNION ALL
    SELECT email, rows, ${orderedId("email")}, true FROM matched WHERE id IS NULL`);
  await db.query(`ANALYZE ${M}`);
  // Every ordered aggregate shares one ORDER BY, so PostgreSQL sorts each person's rows once.
  await db.query(`CREATE TEMP TABLE ${PW} ON COMMIT DROP AS
    SELECT email,
      CASE WHEN bool_or(verified)
        THEN (array_agg(password ORDER BY ${RECENT}) FILTER (WHERE password IS NOT NULL AND verified))[1]
        ELSE (array_agg(password ORDER BY ${RECENT}) FILTER (WHERE password IS NOT NULL))[1] END AS password,
      CASE WHEN bool_or(verified)
        THEN count(DISTINCT password) FILTER (WHERE password IS NOT NULL AND verified)
        ELSE count(DISTINCT password) FILTER (WHERE password IS NOT NULL) END::int AS hashes,
      CASE WHEN bool_or(verified) THEN count(*) FILTER (WHERE password IS NOT NULL AND NOT verified) ELSE 0 END::int AS unconfirmed_dropped
    FROM ${STAGE_TABLE}
    WHERE kind = 'u' AND email IN (SELECT email FROM ${STAGE_TABLE} WHERE kind = 'u' AND password IS NOT NULL)
    GROUP BY email`);
  const stats = (
    await db.query<{ people: number; fresh: number; groups: number; merged: number; conflicts: number; dropped: number }>(
      `SELECT count(*)::int AS people, count(*) FILTER (WHERE is_new)::int AS fresh, count(*) FILTER (WHERE rows > 1)::int AS groups,
              coalesce(sum(rows - 1), 0)::int AS merged,
              (SELECT count(*) FILTER (WHERE hashes > 1) FROM ${PW})::int AS conflicts,
              (SELECT coalesce(sum(unconfirmed_dropped), 0) FROM ${PW})::int AS dropped
       FROM ${M}`,
    )
  ).rows[0]!;
  lap("match");

  const created = await insertNewUsers(db, stats.fresh);
  onWritten(created);
  lap("users");

  const passwords = await db.query(`INSERT INTO "account" (id, "accountId", "providerId", "userId", password, "createdAt", "updatedAt")
    SELECT ${orderedId(`m.user_id COLLATE "C"`)}, m.user_id, 'credential', m.user_id, w.password, now(), now()
    FROM ${PW} w JOIN ${M} m USING (email)
    WHERE w.password IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = 'credential' AND a."userId" = m.user_id)
    ORDER BY m.user_id COLLATE "C"`);
  lap("passwords");

  // Identities of every kept row of a person, each external account once (listed under two
  // people, which a sane source never does, the first row's wins). Those already linked drop
  // out before the join to their people, so a re-run only scans.
  const identities = (
    await db.query<{ with_user: number; linked: number; without_user: number }>(`WITH candidate AS (
        SELECT i.provider, i.account_id, i.source_id, i.line FROM ${STAGE_TABLE} i
        WHERE i.kind = 'i' AND EXISTS (SELECT 1 FROM ${STAGE_TABLE} u WHERE u.kind = 'u' AND u.source_id = i.source_id)
      ), fresh AS (
        SELECT c.* FROM candidate c
        WHERE NOT EXISTS (SELECT 1 FROM "account" a WHERE a."providerId" = c.provider AND a."accountId" = c.account_id)
      ), link AS (
        SELECT DISTINCT ON (f.provider, f.account_id) m.user_id, f.provider, f.account_id
        FROM fresh f
        JOIN ${STAGE_TABLE} u ON u.kind = 'u' AND u.source_id = f.source_id
        JOIN ${M} m ON m.email = u.email
        ORDER BY f.provider, f.account_id, u.line
      ), inserted AS (
        INSERT INTO "account" (id, "accountId", "providerId", "userId", "createdAt", "updatedAt")
        -- In user order: the foreign-key checks and the userId index then walk "user" once.
        SELECT ${orderedId(`l.user_id COLLATE "C", l.provider, l.account_id`)}, l.account_id, l.provider, l.user_id, now(), now() FROM link l
        ORDER BY l.user_id COLLATE "C", l.provider, l.account_id
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM (SELECT DISTINCT provider, account_id FROM candidate) d)::int AS with_user,
             (SELECT count(*) FROM inserted)::int AS linked,
             (SELECT count(*) FROM ${STAGE_TABLE} WHERE kind = 'i')::int - (SELECT count(*) FROM candidate)::int AS without_user`)
  ).rows[0]!;
  lap("identities");

  const counts: ImportCounts = {
    users_created: created,
    users_already_present: stats.people - created,
    users_merged: stats.merged,
    merged_groups: stats.groups,
    identities_linked: identities.linked,
    identities_already_linked: identities.with_user - identities.linked,
    identities_without_user: identities.without_user,
    passwords_kept: passwords.rowCount ?? 0,
    password_conflicts: stats.conflicts,
    passwords_unconfirmed_dropped: stats.dropped,
  };
  if (verbose) {
    // One join for all groups, not a subquery (a scan of the staging table) per group.
    const { rows } = await db.query<MergedGroup>(`SELECT m.email, m.rows, coalesce(e.n, 0)::int AS external_accounts,
        CASE WHEN w.hashes > 1 THEN 'conflict_latest_kept' WHEN w.password IS NOT NULL THEN 'kept' ELSE 'none' END AS password
      FROM ${M} m
      LEFT JOIN ${PW} w USING (email)
      LEFT JOIN (
        SELECT u.email, count(DISTINCT (i.provider, i.account_id)) AS n
        FROM ${STAGE_TABLE} u JOIN ${STAGE_TABLE} i ON i.kind = 'i' AND i.source_id = u.source_id
        WHERE u.kind = 'u' AND u.email IN (SELECT email FROM ${M} WHERE rows > 1)
        GROUP BY u.email
      ) e USING (email)
      WHERE m.rows > 1 ORDER BY m.email`);
    counts.merged = rows;
    lap("merged_list");
  }
  return counts;
}

/** Stage, merge and write in one transaction on one connection (the temp tables live there). */
export async function importPeople(opts: ImportOptions): Promise<ImportCounts> {
  const db = await opts.pool.connect();
  let rowsRead = 0;
  try {
    const lap = lapTimer(opts.onPhase);
    await db.query("BEGIN");
    // Session memory for the staging table and the sorts; the server's defaults spill to disk early.
    await db.query(`SET LOCAL temp_buffers = '64MB'`);
    await db.query(`SET LOCAL work_mem = '64MB'`);
    // Every step is a set operation over whole tables. Right after a large import the targets'
    // statistics are stale (autovacuum has not analysed them yet): the planner then takes
    // "account" for a handful of rows and nests a loop over it (10 s instead of 0.1 s).
    await db.query(`SET LOCAL enable_nestloop = off`);
    await stageRows(db, opts.rows, (n) => opts.onProgress?.({ phase: "staging", rowsRead: (rowsRead = n), usersWritten: 0 }));
    lap("staging");
    opts.onProgress?.({ phase: "writing", rowsRead, usersWritten: 0 });
    const counts = await merge(db, opts.verbose ?? false, (n) => opts.onProgress?.({ phase: "writing", rowsRead, usersWritten: n }), lap);
    const { merged: _emails, ...summary } = counts;
    await recordOperatorAudit(db, { action: opts.auditAction, outcome: "success", detail: { ...summary, ...opts.auditDetail?.() } });
    lap("audit");
    await db.query(opts.dryRun ? "ROLLBACK" : "COMMIT");
    lap("commit");
    opts.onProgress?.({ phase: "done", rowsRead, usersWritten: counts.users_created });
    return counts;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    db.release();
  }
}
