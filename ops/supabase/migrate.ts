/**
 * The Supabase migration: the dump streams through the reader (dump-reader.ts) straight into
 * the staging table, then people are matched, merged and written by set-based SQL in the same
 * transaction (ops/import/people.ts). A malformed or truncated dump fails while staging, before
 * anything is written to Better Auth's tables; a re-run inserts nothing.
 */
import type pg from "pg";
import { importPeople, type ImportCounts } from "../import/people.js";
import type { StagedRow } from "../import/staging.js";
import { readAuthRowBatches } from "./dump-reader.js";
import { mapIdentity, mapUser, type SkipReason } from "./mapping.js";

export interface MigrationReport extends ImportCounts {
  source: "supabase";
  dry_run: boolean;
  users_read: number;
  users_skipped: Record<SkipReason, number>;
  identities_read: number;
}

export interface Progress {
  phase: "staging" | "writing" | "done";
  rowsRead: number;
  usersWritten: number;
}

export interface MigrateOptions {
  dump: string;
  pool: pg.Pool;
  dryRun?: boolean;
  /** List the merged people (their emails) in the report. */
  verbose?: boolean;
  onProgress?: (p: Progress) => void;
  onPhase?: (phase: string, ms: number) => void;
}

export async function migrateSupabase({ dump, pool, dryRun = false, verbose = false, onProgress, onPhase }: MigrateOptions): Promise<MigrationReport> {
  const read = { users_read: 0, users_skipped: { no_email: 0, deleted: 0, anonymous: 0 } as Record<SkipReason, number>, identities_read: 0 };
  async function* staged(): AsyncGenerator<StagedRow[]> {
    for await (const rows of readAuthRowBatches(dump)) {
      const out: StagedRow[] = [];
      for (const row of rows) {
        if (row.table === "users") {
          read.users_read++;
          const user = mapUser(row);
          if (typeof user === "string") read.users_skipped[user]++;
          else out.push(user);
        } else {
          read.identities_read++;
          const identity = mapIdentity(row);
          if (identity) out.push(identity);
        }
      }
      yield out;
    }
  }
  const counts = await importPeople({
    pool,
    rows: staged(),
    dryRun,
    verbose,
    auditAction: "migrate.supabase",
    auditDetail: () => ({ ...read }),
    onPhase,
    onProgress: (p) => onProgress?.({ ...p, rowsRead: read.users_read + read.identities_read }),
  });
  return { source: "supabase", dry_run: dryRun, ...read, ...counts };
}
