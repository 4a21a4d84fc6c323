/**
 * The per-account backoff against a stranger with many addresses: password guessing is slowed
 * per account, the owner's passkey keeps working, a valid passkey assertion always succeeds,
 * and the state is shared by every instance (it lives in PostgreSQL).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { BASE_BLOCK_SECONDS, FREE_FAILURES } from "../../../functions/auth/account-limit.js";
import { baseEnv, type AuthApp } from "../clients/fixture.js";
import { PASSWORD, startBackoffService } from "./account-limit-support.js";

describe("per-account backoff on sign-in attempts", () => {
  let auth: AuthApp;
  let db: pg.Pool;
  let signIn: Awaited<ReturnType<typeof startBackoffService>>["signIn"];
  let passkeySignIn: Awaited<ReturnType<typeof startBackoffService>>["passkeySignIn"];

  beforeAll(async () => {
    const env = await baseEnv("account_limit");
    ({ auth, signIn, passkeySignIn } = await startBackoffService(env, "victim@example.org", "bystander@example.org", "198.51"));
    db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  });
  afterAll(() => db?.end());

  it("a stranger guessing one account's password from many addresses is slowed to 429 with Retry-After", async () => {
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await signIn("Victim@Example.org", `guess-${i}-wrong-password`);
      statuses.push(res.status);
      retryAfter.push(res.headers.get("retry-after"));
    }
    // The free failures and the one that starts the backoff are checked; the rest are not.
    expect(statuses.slice(0, FREE_FAILURES + 1)).toEqual(Array(FREE_FAILURES + 1).fill(401));
    expect(statuses.slice(FREE_FAILURES + 1)).toEqual(Array(12 - FREE_FAILURES - 1).fill(429));
    for (const r of retryAfter.slice(FREE_FAILURES + 1)) expect(Number(r)).toBeGreaterThanOrEqual(1);
    // During the wait even the right password waits: that is what slows guessing.
    const right = await signIn("victim@example.org", PASSWORD);
    expect(right.status).toBe(429);
    expect(await right.json()).toMatchObject({ error: "account_rate_limited" });
  });

  it("meanwhile the owner signs in with the passkey, and other accounts are untouched", async () => {
    const res = await passkeySignIn();
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { user: { email: string } }).user.email).toBe("victim@example.org");
    expect((await signIn("bystander@example.org", PASSWORD)).status).toBe(200);
  });

  it("every instance sees the same backoff: it lives in the shared database", async () => {
    // Whatever the machine's speed, the block is still on when the second instance is asked.
    await db.query(`UPDATE authplane_attempt_backoff SET blocked_until = now() + interval '10 minutes' WHERE blocked_until IS NOT NULL`);
    const other = createApp(auth.config);
    expect((await signIn("victim@example.org", PASSWORD, other)).status).toBe(429);
  });

  it("after the wait one attempt is checked again; a wrong one doubles the wait, a right one clears it", async () => {
    await db.query(`UPDATE authplane_attempt_backoff SET blocked_until = now() - interval '1 second'`);
    const wrong = await signIn("victim@example.org", "still-the-wrong-password");
    expect(wrong.status).toBe(401);
    const blocked = await signIn("victim@example.org", PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(BASE_BLOCK_SECONDS);
    await db.query(`UPDATE authplane_attempt_backoff SET blocked_until = now() - interval '1 second'`);
    expect((await signIn("victim@example.org", PASSWORD)).status).toBe(200);
    // Cleared: the next failures are free again.
    for (let i = 0; i < FREE_FAILURES; i++) expect((await signIn("victim@example.org", `wrong-again-${i}`)).status).toBe(401);
    expect((await signIn("victim@example.org", PASSWORD)).status).toBe(200);
  });

  it("forged passkey assertions are answered 429 once in backoff, yet a valid one still succeeds", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FREE_FAILURES + 3; i++) statuses.push((await passkeySignIn(true)).status);
    expect(statuses.slice(0, FREE_FAILURES).every((s) => s === 400 || s === 401)).toBe(true);
    expect(statuses.slice(FREE_FAILURES)).toEqual([429, 429, 429]);
    const valid = await passkeySignIn();
    expect(valid.status, await valid.clone().text()).toBe(200);
    // And the valid proof cleared the count.
    expect([400, 401]).toContain((await passkeySignIn(true)).status);
  });

  it("nothing identifying is stored: keys are hashes", async () => {
    const { rows } = await db.query<{ key: string }>(`SELECT key FROM authplane_attempt_backoff`);
    expect(rows.length).toBeGreaterThan(0);
    for (const { key } of rows) expect(key).toMatch(/^[0-9a-f]{64}$/);
  });
});
