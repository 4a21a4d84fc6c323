/**
 * The floor for `bench:auth-cold`: the smallest Lambda that can answer get-session for real,
 * Hono's Lambda adapter and pg doing the one query a session read needs. Not shipped.
 */
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
const app = new Hono();
app.get("/api/auth/get-session", async (c) => {
  const token = /session_token=([^;.]+)/.exec(c.req.header("cookie") ?? "")?.[1];
  if (!token) return c.json(null);
  const { rows } = await pool.query(
    `SELECT s.*, u.email FROM "session" s JOIN "user" u ON u.id = s."userId" WHERE s.token = $1 AND s."expiresAt" > now()`,
    [token],
  );
  return c.json(rows[0] ? { session: rows[0], user: { email: rows[0].email } } : null);
});
export const handler = handle(app);
