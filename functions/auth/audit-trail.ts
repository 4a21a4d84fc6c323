/**
 * The service's security events into the audit trail (audit.ts): a Better Auth plugin that only
 * observes. Sign-in by method and its failures, blocked sign-ins (banned users), sign-up,
 * sign-out, passkeys added and removed, tokens minted for an app and membership changes.
 */
import { createAuthMiddleware } from "@better-auth/core/api";
import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { BetterAuthPlugin } from "@better-auth/core";
import { getSessionFromCtx } from "better-auth/api";
import { recordAudit, type AuditEvent, type Queryable } from "./audit.js";
import { CLIENT_IP_HEADER } from "./client-ip.js";
import { CLAIM } from "../claims.js";


type HookCtx = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

interface Returned {
  statusCode?: number;
  status?: number | string;
  body?: { code?: string; error?: string };
  headers?: Headers | Record<string, string>;
}

const SIGN_IN: Record<string, string> = {
  "/sign-in/email": "password",
  "/sign-up/email": "password",
  "/passkey/verify-authentication": "passkey",
  "/native/exchange": "native_code",
};

const MEMBERSHIP: Record<string, string> = {
  "/organization/add-member": "membership.add",
  "/organization/remove-member": "membership.remove",
  "/organization/update-member-role": "membership.update_role",
  "/organization/accept-invitation": "membership.accept_invitation",
  "/organization/leave": "membership.leave",
};

/** ctx.path is the route pattern ("/callback/:id"); the provider is in the params. */
function signInMethod(path: string, params: Record<string, unknown> | undefined): string | null {
  if (SIGN_IN[path]) return SIGN_IN[path]!;
  if (!/^\/(?:oauth2\/)?callback\//.test(path)) return null;
  const id = params?.id ?? params?.providerId;
  return typeof id === "string" && id ? id : path.split("/").pop()!;
}

function isError(r: unknown): r is Returned {
  return !!r && typeof r === "object" && "statusCode" in r && typeof (r as Returned).statusCode === "number";
}

function errorCode(r: unknown): string | null {
  if (!isError(r)) return null;
  // OAuth callbacks fail with a redirect carrying ?error=…; everything else with an APIError body.
  const location = r.headers instanceof Headers ? r.headers.get("location") : (r.headers as Record<string, string> | undefined)?.location;
  if (location) {
    const url = URL.canParse(location) ? new URL(location) : URL.canParse(location, "http://x") ? new URL(location, "http://x") : null;
    return url?.searchParams.get("error") ?? null;
  }
  // OAuth endpoints (the OpenID Provider) carry RFC 6749's `error` instead of a code.
  return (r.statusCode ?? 0) >= 400 ? (r.body?.code ?? r.body?.error ?? String(r.statusCode)) : null;
}

const BLOCKED = /banned|blocked/i;

async function orgSlug(pool: Queryable, orgId: unknown): Promise<string | null> {
  if (typeof orgId !== "string" || !orgId) return null;
  const r = (await pool.query(`SELECT slug FROM "organization" WHERE id = $1`, [orgId])) as { rows: { slug: string }[] };
  return r.rows[0]?.slug ?? null;
}

/** A refused passkey assertion names its credential; its owner is whom the attempt was about. */
async function passkeyOwner(pool: Queryable, body: Record<string, unknown>): Promise<{ id: string; email: string } | null> {
  const credentialId = (body.response as { id?: unknown } | undefined)?.id;
  if (typeof credentialId !== "string" || !credentialId) return null;
  const r = (await pool.query(`SELECT u.id, u.email FROM "passkey" p JOIN "user" u ON u.id = p."userId" WHERE p."credentialID" = $1`, [credentialId])) as {
    rows: { id: string; email: string }[];
  };
  return r.rows[0] ?? null;
}

async function sessionOf(ctx: HookCtx): Promise<{ user: { id: string; email: string }; session: { activeOrganizationId?: string | null } } | null> {
  const known = (ctx.context as { session?: unknown }).session as Awaited<ReturnType<typeof sessionOf>> | undefined;
  if (known?.user) return known;
  return ((await getSessionFromCtx(ctx).catch(() => null)) as Awaited<ReturnType<typeof sessionOf>>) ?? null;
}

/** The client a token request authenticates as: `client_id` in the form, or HTTP Basic (RFC 6749 §2.3.1). */
function tokenClientId(ctx: HookCtx, body: Record<string, unknown>): string | null {
  if (typeof body.client_id === "string" && body.client_id) return body.client_id.slice(0, 200);
  const basic = /^Basic\s+(\S+)$/i.exec((ctx.request?.headers ?? ctx.headers)?.get("authorization") ?? "");
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  try {
    return decodeURIComponent(decoded.slice(0, colon)).slice(0, 200);
  } catch {
    return null;
  }
}

/** A string claim of a JWT, read without verifying: this service has just signed it. The token itself is never kept. */
function jwtClaim(token: unknown, claim: string): string | null {
  if (typeof token !== "string") return null;
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const value = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>)[claim];
    return typeof value === "string" && value ? value : null;
  } catch {
    return null;
  }
}
const jwtSubject = (token: unknown) => jwtClaim(token, "sub");

/**
 * Whom the provider minted tokens for: the ID token's subject (openid scope), else a JWT access
 * token's (a resource was named). An opaque access token alone names nobody we can read here.
 */
async function tokenUser(pool: Queryable, returned: unknown): Promise<{ id: string; email: string | null } | null> {
  if (!returned || typeof returned !== "object") return null;
  const body = returned as { id_token?: unknown; access_token?: unknown };
  const id = jwtSubject(body.id_token) ?? jwtSubject(body.access_token);
  if (!id) return null;
  const r = (await pool.query(`SELECT email FROM "user" WHERE id = $1`, [id])) as { rows: { email: string }[] };
  return { id, email: r.rows[0]?.email ?? null };
}

async function clientApp(pool: Queryable, clientId: string | null): Promise<string | null> {
  if (!clientId) return null;
  const r = (await pool.query(`SELECT o.slug FROM "oauthClient" c JOIN "organization" o ON o.id = c."referenceId" WHERE c."clientId" = $1`, [clientId])) as {
    rows: { slug: string }[];
  };
  return r.rows[0]?.slug ?? null;
}

const GRANT_TYPES = new Set(["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"]);

/** What happened in this request, if it is an event the trail keeps. */
async function describe(ctx: HookCtx, pool: Queryable, signedOut: Map<object, { id: string; email: string }>): Promise<AuditEvent | null> {
  const path = ctx.path ?? "";
  const returned = ctx.context.returned;
  const failed = errorCode(returned);
  const created = ctx.context.newSession as { user: { id: string; email: string }; session: { activeOrganizationId?: string | null } } | null | undefined;
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const method = signInMethod(path, ctx.params as Record<string, unknown> | undefined);
  if (method && (created || failed)) {
    const blocked = failed !== null && BLOCKED.test(failed);
    const who = created?.user ?? (method === "passkey" && failed ? await passkeyOwner(pool, body) : null);
    return {
      action: blocked ? "sign_in.blocked" : path === "/sign-up/email" ? "sign_up" : "sign_in",
      actor: who?.id ?? null,
      subject: who?.email ?? (typeof body.email === "string" ? body.email : null),
      outcome: created && !failed ? "success" : blocked ? "blocked" : "failure",
      detail: { method, ...(failed ? { error: failed } : {}) },
    };
  }
  if (path === "/sign-out") {
    const who = signedOut.get(ctx.request ?? ctx);
    return who ? { action: "sign_out", actor: who.id, subject: who.email, outcome: failed ? "failure" : "success" } : null;
  }
  if (path === "/passkey/verify-registration" || path === "/passkey/delete-passkey") {
    const s = await sessionOf(ctx);
    return {
      action: path === "/passkey/verify-registration" ? "passkey.added" : "passkey.removed",
      actor: s?.user.id ?? null,
      subject: s?.user.email ?? null,
      outcome: failed ? "failure" : "success",
      detail: failed ? { error: failed } : null,
    };
  }
  if (path === "/token") {
    const s = await sessionOf(ctx);
    if (!s) return null; // no session: nothing was minted and nobody to name
    return {
      action: "token.minted",
      actor: s.user.id,
      subject: s.user.email,
      // The app the token was minted for is in it (one query fewer per token); a refused mint has none.
      app: jwtClaim((returned as { token?: unknown } | null)?.token, CLAIM.orgSlug) ?? (await orgSlug(pool, s.session.activeOrganizationId)),
      outcome: failed ? "failure" : "success",
      detail: failed ? { error: failed } : null,
    };
  }
  if (path === "/oauth2/token") {
    // Tokens the OpenID Provider minted for an app's client (code or refresh grant), or refused.
    const clientId = tokenClientId(ctx, body);
    const grant = typeof body.grant_type === "string" ? (GRANT_TYPES.has(body.grant_type) ? body.grant_type : "other") : null;
    const who = failed ? null : await tokenUser(pool, returned);
    return {
      action: "token.minted",
      actor: who?.id ?? null,
      subject: who?.email ?? who?.id ?? null,
      app: await clientApp(pool, clientId),
      outcome: failed ? "failure" : "success",
      detail: { via: "oidc", grant_type: grant, client_id: clientId, ...(failed ? { error: failed } : {}) },
    };
  }
  if (MEMBERSHIP[path] && (failed || path === "/organization/leave")) {
    // Successful changes are recorded by membershipAudit (the organization plugin's own hooks,
    // which see the member and the person); a refusal never reaches those hooks.
    const s = await sessionOf(ctx);
    const target = body.memberIdOrEmail ?? body.email ?? body.memberId ?? body.userId;
    return {
      action: MEMBERSHIP[path]!,
      actor: s?.user.id ?? null,
      subject: typeof target === "string" ? target : (s?.user.email ?? null),
      app: await orgSlug(pool, body.organizationId ?? s?.session.activeOrganizationId),
      outcome: failed ? "failure" : "success",
      detail: { ...(typeof body.role === "string" || Array.isArray(body.role) ? { role: body.role } : {}), ...(failed ? { error: failed } : {}) },
    };
  }
  return null;
}

interface MemberHookData {
  member: { id: string; userId: string; role: string };
  user: { id: string; email: string };
  organization: { slug: string };
}

/**
 * Membership changes, from the organization plugin's own hooks: they run however the change was
 * made (HTTP, or `auth.api` on the server, where no request and maybe no session exist) and name
 * the member, the person and the app. The actor is the session of the request, when there is one.
 */
export function membershipAudit(pool: Queryable) {
  const record = async (action: string, data: MemberHookData, detail: Record<string, unknown> = {}) => {
    try {
      const ctx = tryGetCurrentAuthEndpointContext() as HookCtx | undefined;
      const session = (ctx?.context as { session?: { user?: { id?: string } } | null } | undefined)?.session;
      await recordAudit(pool, {
        action,
        actor: session?.user?.id ?? null,
        subject: data.user.email,
        app: data.organization.slug,
        ip: ctx ? clientAddress(ctx) : null,
        outcome: "success",
        detail: { user_id: data.user.id, role: data.member.role, ...detail, ...(ctx?.request ? {} : { via: "server" }) },
      });
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "audit hook failed", action, error: err instanceof Error ? err.message : String(err) }));
    }
  };
  return {
    afterAddMember: (data: MemberHookData) => record("membership.add", data),
    afterRemoveMember: (data: MemberHookData) => record("membership.remove", data),
    afterUpdateMemberRole: (data: MemberHookData & { previousRole: string }) => record("membership.update_role", data, { previous_role: data.previousRole }),
    afterAcceptInvitation: (data: MemberHookData & { invitation: { id: string } }) => record("membership.accept_invitation", data, { invitation_id: data.invitation.id }),
  };
}

function clientAddress(ctx: HookCtx): string | null {
  return (ctx.request?.headers ?? ctx.headers)?.get(CLIENT_IP_HEADER) ?? null;
}

/**
 * Records the service's security events: sign-in by method and its failures, blocked sign-ins
 * (banned users), sign-up, sign-out, passkeys added and removed, tokens minted for an app and
 * membership changes. It only observes: a failed audit write is logged, never returned.
 */
export const auditTrail = (pool: Queryable) => {
  // Sign-out deletes the session before the after-hook runs: remember whose it was.
  const signedOut = new WeakMap<object, { id: string; email: string }>() as unknown as Map<object, { id: string; email: string }>;
  return {
    id: "authplane-audit-trail",
    hooks: {
      before: [
        {
          matcher: (ctx: { path?: string }) => ctx.path === "/sign-out",
          handler: createAuthMiddleware(async (ctx) => {
            const s = await sessionOf(ctx);
            if (s) signedOut.set(ctx.request ?? ctx, { id: s.user.id, email: s.user.email });
          }),
        },
      ],
      after: [
        {
          matcher: () => true,
          handler: createAuthMiddleware(async (ctx) => {
            try {
              const event = await describe(ctx, pool, signedOut);
              if (event) await recordAudit(pool, { ...event, ip: clientAddress(ctx) });
            } catch (err) {
              console.error(JSON.stringify({ level: "error", msg: "audit hook failed", path: ctx.path, error: err instanceof Error ? err.message : String(err) }));
            }
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
};
