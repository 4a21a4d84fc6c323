/**
 * App onboarding and offboarding against Better Auth's tables: organizations (apps), their
 * dynamic roles ("organizationRole"), memberships and sessions. Every command runs in one
 * transaction and reports what it changed.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { readAppBinding, sameBinding, writeAppBinding } from "../../functions/auth/app-origin.js";
import { recordRevocation } from "../../functions/auth/revocations.js";
import { inTransaction } from "../db.js";
import { AppsError, canonicalPermissions, type AppDefinition } from "./definition.js";
import { applyOidcClient } from "./oidc-clients.js";

type Db = pg.PoolClient;

/** Reason stored in `user.banReason` when `offboard` blocks sign-in. */
export const BANNED_REASON_OFFBOARDED = "offboarded";

async function orgBySlug(db: Db, slug: string): Promise<{ id: string; name: string }> {
  const { rows } = await db.query<{ id: string; name: string }>(`SELECT id, name FROM "organization" WHERE slug = $1`, [slug]);
  if (rows[0]) return rows[0];
  const known = await db.query<{ slug: string }>(`SELECT slug FROM "organization" ORDER BY slug`);
  throw new AppsError(`unknown app "${slug}"; known apps: ${known.rows.map((r) => r.slug).join(", ") || "(none — run `apps apply` first)"}`);
}

async function userByEmail(db: Db, email: string): Promise<{ id: string; email: string }> {
  const { rows } = await db.query<{ id: string; email: string }>(`SELECT id, email FROM "user" WHERE lower(email) = lower($1)`, [email.trim()]);
  if (!rows[0]) throw new AppsError(`unknown email "${email}": no such user (they must sign in once, or be migrated)`);
  return rows[0];
}

async function rolesOf(db: Db, orgId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ role: string; permission: string }>(`SELECT role, permission FROM "organizationRole" WHERE "organizationId" = $1`, [orgId]);
  return new Map(rows.map((r) => [r.role, r.permission]));
}

/** Make the database say what the app files say. Returns one line per change. */
export function applyApps(pool: pg.Pool, apps: AppDefinition[], { dryRun = false } = {}): Promise<string[]> {
  return inTransaction(
    pool,
    async (db) => {
      const changes: string[] = [];
      for (const app of apps) {
        let org = (await db.query<{ id: string; name: string; metadata: string | null }>(`SELECT id, name, metadata FROM "organization" WHERE slug = $1`, [app.slug])).rows[0];
        if (!org) {
          org = { id: randomUUID(), name: app.name, metadata: null };
          await db.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ($1, $2, $3, now())`, [org.id, app.name, app.slug]);
          changes.push(`created app ${app.slug}`);
        } else if (org.name !== app.name) {
          await db.query(`UPDATE "organization" SET name = $2 WHERE id = $1`, [org.id, app.name]);
          changes.push(`renamed app ${app.slug} to "${app.name}"`);
        }
        // Origins and native client ids live in the organization's metadata (read by app-origin.ts).
        const binding = { origins: app.origins, nativeClientIds: app.nativeClientIds };
        if (!sameBinding(readAppBinding(org.metadata), binding)) {
          await db.query(`UPDATE "organization" SET metadata = $2 WHERE id = $1`, [org.id, writeAppBinding(org.metadata, binding)]);
          const listed = [...binding.origins, ...binding.nativeClientIds];
          changes.push(`set origins of app ${app.slug}: ${listed.length ? listed.join(", ") : "(none)"}`);
        }
        const existing = await rolesOf(db, org.id);
        for (const [role, def] of Object.entries(app.roles)) {
          const permission = canonicalPermissions(def.permissions);
          const current = existing.get(role);
          if (current === undefined) {
            await db.query(`INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, now(), now())`, [randomUUID(), org.id, role, permission]);
            changes.push(`added role ${app.slug}/${role}`);
          } else if (canonicalPermissions(JSON.parse(current)) !== permission) {
            await db.query(`UPDATE "organizationRole" SET permission = $3, "updatedAt" = now() WHERE "organizationId" = $1 AND role = $2`, [org.id, role, permission]);
            changes.push(`updated role ${app.slug}/${role}`);
          }
        }
        for (const role of existing.keys()) {
          if (role in app.roles) continue;
          const holders = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "member" WHERE "organizationId" = $1 AND $2 = ANY(string_to_array(role, ','))`,
            [org.id, role],
          );
          if (holders.rows[0]!.n > 0) {
            throw new AppsError(`${app.slug}: role "${role}" is no longer declared but ${holders.rows[0]!.n} member(s) hold it; revoke it from them first (apps revoke --app ${app.slug} --role ${role} --email …)`);
          }
          await db.query(`DELETE FROM "organizationRole" WHERE "organizationId" = $1 AND role = $2`, [org.id, role]);
          changes.push(`removed role ${app.slug}/${role}`);
        }
        changes.push(...(await applyOidcClient(db, app, org.id, { dryRun })));
      }
      return changes;
    },
    { dryRun },
  );
}

export interface MembershipInput {
  app: string;
  email: string;
  role: string;
}

/** Give a person a role in an app (adding to roles they already hold there). */
export function grant(pool: pg.Pool, { app, email, role }: MembershipInput): Promise<string> {
  return inTransaction(pool, async (db) => {
    const org = await orgBySlug(db, app);
    const roles = await rolesOf(db, org.id);
    if (!roles.has(role)) throw new AppsError(`unknown role "${role}" in ${app}; roles: ${[...roles.keys()].sort().join(", ")}`);
    const user = await userByEmail(db, email);
    const { rows } = await db.query<{ id: string; role: string }>(`SELECT id, role FROM "member" WHERE "organizationId" = $1 AND "userId" = $2`, [org.id, user.id]);
    const member = rows[0];
    if (!member) {
      await db.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ($1, $2, $3, $4, now())`, [randomUUID(), org.id, user.id, role]);
      return `granted ${role} in ${app} to ${user.email}`;
    }
    const held = member.role.split(",").filter(Boolean);
    if (held.includes(role)) return `${user.email} already holds ${role} in ${app}`;
    await db.query(`UPDATE "member" SET role = $2 WHERE id = $1`, [member.id, [...held, role].join(",")]);
    return `granted ${role} in ${app} to ${user.email} (now ${[...held, role].join(", ")})`;
  });
}

/** Take one role away, or (without a role) the whole membership. Sessions with the app active lose it. */
export function revoke(pool: pg.Pool, { app, email, role }: Omit<MembershipInput, "role"> & { role?: string }): Promise<string> {
  return inTransaction(pool, async (db) => {
    const org = await orgBySlug(db, app);
    const user = await userByEmail(db, email);
    const { rows } = await db.query<{ id: string; role: string }>(`SELECT id, role FROM "member" WHERE "organizationId" = $1 AND "userId" = $2`, [org.id, user.id]);
    const member = rows[0];
    if (!member) throw new AppsError(`${user.email} is not a member of ${app}`);
    const held = member.role.split(",").filter(Boolean);
    if (role && !held.includes(role)) throw new AppsError(`${user.email} does not hold ${role} in ${app} (holds: ${held.join(", ")})`);
    const remaining = role ? held.filter((r) => r !== role) : [];
    // Tokens already minted still carry the old role: publish the person on the revocation
    // feed so every authorizer refuses them within its bound. Their sessions stay, so apps
    // simply mint a new token with what is left.
    await recordRevocation(db, "subject", [user.id]);
    if (remaining.length) {
      await db.query(`UPDATE "member" SET role = $2 WHERE id = $1`, [member.id, remaining.join(",")]);
      return `revoked ${role} in ${app} from ${user.email} (still ${remaining.join(", ")})`;
    }
    await db.query(`DELETE FROM "member" WHERE id = $1`, [member.id]);
    await db.query(`UPDATE "session" SET "activeOrganizationId" = NULL WHERE "userId" = $1 AND "activeOrganizationId" = $2`, [user.id, org.id]);
    return `removed ${user.email} from ${app}`;
  });
}

export interface Member {
  email: string;
  name: string;
  roles: string[];
}

export async function members(pool: pg.Pool, app: string): Promise<Member[]> {
  return inTransaction(pool, async (db) => {
    const org = await orgBySlug(db, app);
    const { rows } = await db.query<{ email: string; name: string; role: string }>(
      `SELECT u.email, u.name, m.role FROM "member" m JOIN "user" u ON u.id = m."userId" WHERE m."organizationId" = $1 ORDER BY lower(u.email)`,
      [org.id],
    );
    return rows.map((r) => ({ email: r.email, name: r.name, roles: r.role.split(",").filter(Boolean) }));
  });
}

export interface OffboardResult {
  email: string;
  /** Sign-in is blocked (Better Auth's admin ban) until `reinstate`. */
  blocked: boolean;
  apps: string[];
  sessionsRevoked: number;
  passkeysDeleted: number;
  /** Session tokens, for deleting their copies in secondary storage (Redis). Never printed. */
  sessionTokens: string[];
  userId: string;
}

export interface OffboardOptions {
  email: string;
  deletePasskeys?: boolean;
  /** Leave sign-in open (memberships and sessions still go). @default false */
  keepSignIn?: boolean;
  dryRun?: boolean;
}

/**
 * Remove a person from every app, block their sign-in, end every session and publish the
 * revocation (tokens already issued are refused once the authorizers' feed refreshes), in one
 * transaction.
 */
export function offboard(pool: pg.Pool, { email, deletePasskeys = false, keepSignIn = false, dryRun = false }: OffboardOptions): Promise<OffboardResult> {
  return inTransaction(
    pool,
    async (db) => {
      const user = await userByEmail(db, email);
      const apps = await db.query<{ slug: string }>(
        `DELETE FROM "member" m USING "organization" o WHERE o.id = m."organizationId" AND m."userId" = $1 RETURNING o.slug`,
        [user.id],
      );
      const sessions = await db.query<{ token: string }>(`DELETE FROM "session" WHERE "userId" = $1 RETURNING token`, [user.id]);
      const passkeys = deletePasskeys ? await db.query(`DELETE FROM "passkey" WHERE "userId" = $1`, [user.id]) : { rowCount: 0 };
      // The same columns Better Auth's admin plugin writes; its session hook refuses every sign-in.
      if (!keepSignIn) {
        await db.query(`UPDATE "user" SET banned = true, "banReason" = $2, "banExpires" = NULL, "updatedAt" = now() WHERE id = $1`, [user.id, BANNED_REASON_OFFBOARDED]);
      }
      await recordRevocation(db, "subject", [user.id]);
      return {
        email: user.email,
        blocked: !keepSignIn,
        userId: user.id,
        apps: apps.rows.map((r) => r.slug).sort(),
        sessionsRevoked: sessions.rowCount ?? 0,
        passkeysDeleted: passkeys.rowCount ?? 0,
        sessionTokens: sessions.rows.map((r) => r.token),
      };
    },
    { dryRun },
  );
}

/** Lift the sign-in block `offboard` set. Memberships are not restored: `grant` them again. */
export function reinstate(pool: pg.Pool, { email }: { email: string }): Promise<string> {
  return inTransaction(pool, async (db) => {
    const user = await userByEmail(db, email);
    const { rowCount } = await db.query(`UPDATE "user" SET banned = false, "banReason" = NULL, "banExpires" = NULL, "updatedAt" = now() WHERE id = $1 AND banned`, [user.id]);
    return rowCount ? `reinstated ${user.email}: they can sign in again (grant app roles with \`apps grant\`)` : `${user.email} is not blocked; nothing to do`;
  });
}
