/** One transaction for a whole operator command: it changes everything it says, or nothing. */
import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";
import { writeAudit, type AuditEvent } from "../functions/auth/audit.js";
import { operatorActor } from "./operator.js";

export class Rollback extends Error {}

/** The audit row an operator command owes, written by the command's transaction before it commits. */
export interface PendingAudit extends Omit<AuditEvent, "outcome" | "detail"> {
  /** Built from the transaction's result; scrubbed of secret-looking keys by writeAudit. */
  detail?: (result: unknown) => Record<string, unknown> | null;
  written?: boolean;
}

const pendingAudit = new AsyncLocalStorage<PendingAudit>();

/**
 * Run `fn` so that the first transaction it commits through `inTransaction` also appends
 * `audit` to authplane_audit, atomically: a change that rolls back leaves no audit row, and a
 * change cannot commit without one.
 */
export function auditing<T>(audit: Omit<PendingAudit, "written">, fn: () => Promise<T>): Promise<T> {
  return pendingAudit.run({ ...audit }, fn);
}

export async function inTransaction<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>, { dryRun = false } = {}): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query("BEGIN");
    const result = await work(db);
    const audit = pendingAudit.getStore();
    if (audit && !audit.written && !dryRun) {
      const { detail, written: _w, ...event } = audit;
      await writeAudit(db, { actor: operatorActor(), ...event, outcome: "success", detail: detail?.(result) ?? null });
      audit.written = true;
    }
    // A dry run does all the work, reports it, and keeps none of it.
    await db.query(dryRun ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    db.release();
  }
}
