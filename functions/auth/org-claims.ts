/**
 * What a member may do in the active organization (= app), resolved from the database at the
 * moment a JWT is minted. Roles are per organization: the same person can be "recruiter" in
 * hiring and "manager" in timetracking; switching the active org switches the claims.
 */
import { defaultRoles } from "better-auth/plugins/organization/access";
import type { Pool } from "pg";
import type { AuthplaneClaims, Permissions } from "../claims.js";

type OrgClaims = Pick<AuthplaneClaims, "org_id" | "org_slug" | "role" | "permissions">;

const NO_ORG: OrgClaims = { org_id: null, org_slug: null, role: null, permissions: {} };

/** Union of several roles' statements, actions de-duplicated and sorted for stable tokens. */
export function mergePermissions(all: Permissions[]): Permissions {
  const merged = new Map<string, Set<string>>();
  for (const permissions of all) {
    for (const [resource, actions] of Object.entries(permissions)) {
      const set = merged.get(resource) ?? new Set<string>();
      for (const action of actions) set.add(action);
      merged.set(resource, set);
    }
  }
  return Object.fromEntries([...merged].sort(([a], [b]) => a.localeCompare(b)).map(([r, s]) => [r, [...s].sort()]));
}

function builtInRole(role: string): Permissions | undefined {
  const found = (defaultRoles as Record<string, { statements: Record<string, readonly string[]> }>)[role];
  return found ? Object.fromEntries(Object.entries(found.statements).map(([r, a]) => [r, [...a]])) : undefined;
}

function parsePermission(raw: unknown): Permissions {
  const value = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw;
  if (!value || typeof value !== "object") return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter((e): e is [string, string[]] => Array.isArray(e[1])),
  );
}

/**
 * Claims for `userId` in `organizationId`. A user who is not (or no longer) a member gets no
 * org claims at all rather than stale ones.
 */
export async function resolveOrgClaims(pool: Pool, userId: string, organizationId: string | null | undefined): Promise<OrgClaims> {
  if (!organizationId) return NO_ORG;
  // One round trip: the membership and the definitions of the roles it names.
  const { rows } = await pool.query<{ id: string; slug: string; role: string; defined: { role: string; permission: unknown }[] }>(
    `SELECT o.id, o.slug, m.role,
            coalesce((SELECT json_agg(json_build_object('role', r.role, 'permission', r.permission))
                        FROM "organizationRole" r
                       WHERE r."organizationId" = o.id
                         AND r.role IN (SELECT btrim(x) FROM unnest(string_to_array(m.role, ',')) AS x)), '[]'::json) AS defined
       FROM "member" m JOIN "organization" o ON o.id = m."organizationId"
      WHERE m."userId" = $1 AND m."organizationId" = $2`,
    [userId, organizationId],
  );
  const member = rows[0];
  if (!member) return NO_ORG;
  const roles = member.role.split(",").map((r) => r.trim()).filter(Boolean);
  const byRole = new Map(member.defined.map((r) => [r.role, parsePermission(r.permission)]));
  const permissions = roles.map((r) => byRole.get(r) ?? builtInRole(r) ?? {});
  return { org_id: member.id, org_slug: member.slug, role: roles.join(","), permissions: mergePermissions(permissions) };
}
