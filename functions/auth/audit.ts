/**
 * The audit trail: one append-only table (`authplane_audit`, created from own-tables.ts) for
 * operator actions (ops/ CLIs, in the same transaction as their change) and the service's
 * security events (the `auditTrail` plugin below). Rows carry who, about whom, which app,
 * from where and how it ended; never secrets, tokens, codes or passwords.
 */
import { createAuthMiddleware } from "@better-auth/core/api";
import type { BetterAuthPlugin } from "@better-auth/core";
import { getSessionFromCtx } from "better-auth/api";
import { CLIENT_IP_HEADER } from "./client-ip.js";

export interface AuditEvent {
  /** Dotted verb, e.g. "sign_in", "apps.grant", "migrate.supabase". */
  action: string;
  /** Who did it: an operator ("ops:alice@host") or a user id; absent for anonymous requests. */
  actor?: string | null;
  /** Whom it is about: an email (lower-cased) when known, else a user id. */
  subject?: string | null;
  /** App (organization) slug. */
  app?: string | null;
  ip?: string | null;
  /** "success", "failure" or "blocked". */
  outcome: string;
  detail?: Record<string, unknown> | null;
}

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Keys whose values must never reach the table, whatever a caller passes in `detail`. Counts and
 * flags under such names ("passwords_kept") are harmless and kept; strings and objects are not.
 */
const SECRET_KEY = /token|secret|passw|hash|^code$|_code$|cookie|authorization|credential|private_?key|api_?key|otp|challenge/i;
const harmless = (v: unknown) => typeof v === "number" || typeof v === "boolean" || v === null;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== "object") return typeof value === "string" && value.length > 500 ? `${value.slice(0, 500)}…` : value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => !SECRET_KEY.test(k) || harmless(v)).map(([k, v]) => [k, scrub(v, depth + 1)]));
}

const INSERT = `INSERT INTO authplane_audit (action, actor, subject, app, ip, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`;

function params(e: AuditEvent): unknown[] {
  return [e.action, e.actor ?? null, e.subject?.trim().toLowerCase() ?? null, e.app ?? null, e.ip ?? null, e.outcome, e.detail ? JSON.stringify(scrub(e.detail)) : null];
}

/**
 * Append one event; throws if it cannot be written. For a caller's transaction that must not
 * commit without its audit row (operator commands, migrations).
 */
export async function writeAudit(db: Queryable, event: AuditEvent): Promise<void> {
  await db.query(INSERT, params(event));
}

/**
 * Append one event and never throw (a request must not fail because its audit row did); a
 * failure is logged as a structured line and reported as `false`. Inside a transaction prefer
 * `writeAudit`: a failed insert aborts the transaction either way.
 */
export async function recordAudit(db: Queryable, event: AuditEvent): Promise<boolean> {
  try {
    await writeAudit(db, event);
    return true;
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "audit event not recorded", action: event.action, error: err instanceof Error ? err.message : String(err) }));
    return false;
  }
}

/* ---------- service events ---------- */

type HookCtx = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

interface Returned {
  statusCode?: number;
  status?: number | string;
  body?: { code?: string };
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

function signInMethod(path: string): string | null {
  if (SIGN_IN[path]) return SIGN_IN[path]!;
  const callback = /^\/(?:oauth2\/)?callback\/([^/]+)$/.exec(path);
  return callback ? callback[1]! : null;
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
  return (r.statusCode ?? 0) >= 400 ? (r.body?.code ?? String(r.statusCode)) : null;
}

const BLOCKED = /banned|blocked/i;

async function orgSlug(pool: Queryable, orgId: unknown): Promise<string | null> {
  if (typeof orgId !== "string" || !orgId) return null;
  const r = (await pool.query(`SELECT slug FROM "organization" WHERE id = $1`, [orgId])) as { rows: { slug: string }[] };
  return r.rows[0]?.slug ?? null;
}

async function sessionOf(ctx: HookCtx): Promise<{ user: { id: string; email: string }; session: { activeOrganizationId?: string | null } } | null> {
  const known = (ctx.context as { session?: unknown }).session as Awaited<ReturnType<typeof sessionOf>> | undefined;
  if (known?.user) return known;
  return ((await getSessionFromCtx(ctx).catch(() => null)) as Awaited<ReturnType<typeof sessionOf>>) ?? null;
}

/** What happened in this request, if it is an event the trail keeps. */
async function describe(ctx: HookCtx, pool: Queryable, signedOut: Map<object, { id: string; email: string }>): Promise<AuditEvent | null> {
  const path = ctx.path ?? "";
  const returned = ctx.context.returned;
  const failed = errorCode(returned);
  const created = ctx.context.newSession as { user: { id: string; email: string }; session: { activeOrganizationId?: string | null } } | null | undefined;
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const method = signInMethod(path);
  if (method && (created || failed)) {
    const blocked = failed !== null && BLOCKED.test(failed);
    return {
      action: blocked ? "sign_in.blocked" : path === "/sign-up/email" ? "sign_up" : "sign_in",
      actor: created?.user.id ?? null,
      subject: created?.user.email ?? (typeof body.email === "string" ? body.email : null),
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
      app: await orgSlug(pool, s.session.activeOrganizationId),
      outcome: failed ? "failure" : "success",
      detail: failed ? { error: failed } : null,
    };
  }
  if (MEMBERSHIP[path]) {
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
