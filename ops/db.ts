/** One transaction for a whole operator command: it changes everything it says, or nothing. */
import type pg from "pg";

export class Rollback extends Error {}

export async function inTransaction<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>, { dryRun = false } = {}): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query("BEGIN");
    const result = await work(db);
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
