/**
 * An app's OpenID Connect client, as data. `oidc` in `apps/<slug>.json` declares it; `apply`
 * creates or updates the row in Better Auth's "oauthClient" table (the OAuth provider plugin's
 * schema) so that it says what the file says, and a second apply changes nothing.
 *
 * A confidential client's secret is generated here, printed once and stored only as its hash
 * (`hashClientSecret`, the format the service verifies against). Removing `oidc` from the file
 * disables the client rather than deleting it, so its issued tokens stay attributable.
 */
import { isReverseDomainPrivateUseRedirectUri, SafeUrlSchema } from "@better-auth/core/utils/redirect-uri";
import { randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";
import { inTransaction } from "../db.js";
import * as z from "zod";
import { hashClientSecret } from "../../functions/auth/oidc-provider.js";

const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;

/**
 * An exact redirect URI: https, http only on a loopback host (local tools), or an RFC 8252
 * private-use scheme in reverse-domain form (`org.example.app:/callback`) for native apps.
 * No wildcards, no fragments, no credentials, never `javascript:`/`data:`/`file:` and friends.
 */
const redirectUri = z
  .string()
  .refine((s) => !s.includes("*"), { message: "wildcards are not allowed: list each redirect URI exactly" })
  .refine((s) => URL.canParse(s) && !s.includes("#") && !new URL(s).username && !new URL(s).password, {
    message: "must be an absolute URI without a fragment or credentials",
  })
  .refine(
    (s) => {
      const url = new URL(s);
      if (url.protocol === "http:" || url.protocol === "https:") return SafeUrlSchema.safeParse(s).success;
      return isReverseDomainPrivateUseRedirectUri(url);
    },
    { message: "must be https (http only on localhost/127.0.0.1/[::1]) or a native app's reverse-domain scheme like org.example.app:/callback" },
  );

export const OidcClientSchema = z
  .object({
    /** The client_id the tool is configured with. @default the app's slug */
    clientId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$/, { message: "letters, digits, '.', '_' and '-' (2-128 characters)" }).optional(),
    /** Shown on the consent page. @default the app's name */
    name: z.string().min(1).optional(),
    redirectUris: z.array(redirectUri).min(1, { message: "list at least one redirect URI" }),
    /** Where RP-initiated logout may return to (exact match). @default [] */
    postLogoutRedirectUris: z.array(redirectUri).default([]),
    /** `confidential`: a server holding a secret (Grafana, most tools). `public`: SPA or native app, PKCE only. */
    type: z.enum(["public", "confidential"]),
    /** @default ["openid", "profile", "email"] (+ "offline_access" with refreshTokens) */
    scopes: z.array(z.enum(OIDC_SCOPES)).min(1).optional(),
    /** The organization's own tool: skip the consent screen. @default false */
    trusted: z.boolean().default(false),
    /** Issue (rotating) refresh tokens for the `offline_access` scope. @default false */
    refreshTokens: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.scopes && !c.scopes.includes("openid")) ctx.addIssue({ code: "custom", path: ["scopes"], message: 'must include "openid"' });
    if (c.scopes?.includes("offline_access") && !c.refreshTokens) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: '"offline_access" needs "refreshTokens": true' });
    }
    if (c.type === "confidential") {
      for (const [i, uri] of c.redirectUris.entries()) {
        if (!/^https?:/.test(uri)) ctx.addIssue({ code: "custom", path: ["redirectUris", i], message: "a confidential client is a server: use an https redirect URI" });
      }
    }
  });

export type OidcClientDefinition = z.output<typeof OidcClientSchema>;

/** How a report line hands over a new secret (and how the audit trail finds it to leave it out). */
const SECRET_MARK = "; client secret (shown once, store it now): ";

/** A report line as it may be kept (audit trail): the secret itself replaced. */
export function redactClientSecrets(line: string): string {
  const at = line.indexOf(SECRET_MARK);
  return at < 0 ? line : `${line.slice(0, at)}; client secret issued (not recorded)`;
}

/** What the "oauthClient" row should hold for this definition (only the columns we own). */
interface DesiredClient {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scopes: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: "none" | "client_secret_basic";
  applicationType: "web" | "native";
  skipConsent: boolean;
}

export function desiredClient(app: { slug: string; name: string }, def: OidcClientDefinition): DesiredClient {
  const scopes = def.scopes ?? ["openid", "profile", "email", ...(def.refreshTokens ? ["offline_access"] : [])];
  const native = def.redirectUris.some((u) => !u.startsWith("https:"));
  return {
    clientId: def.clientId ?? app.slug,
    name: def.name ?? app.name,
    redirectUris: def.redirectUris,
    postLogoutRedirectUris: def.postLogoutRedirectUris,
    scopes,
    grantTypes: def.refreshTokens ? ["authorization_code", "refresh_token"] : ["authorization_code"],
    tokenEndpointAuthMethod: def.type === "public" ? "none" : "client_secret_basic",
    applicationType: native ? "native" : "web",
    skipConsent: def.trusted,
  };
}

interface ClientRow {
  id: string;
  referenceId: string | null;
  name: string | null;
  redirectUris: string[] | null;
  postLogoutRedirectUris: string[] | null;
  scopes: string[] | null;
  grantTypes: string[] | null;
  tokenEndpointAuthMethod: string | null;
  applicationType: string | null;
  skipConsent: boolean | null;
  clientSecret: string | null;
  disabled: boolean | null;
  requirePKCE: boolean | null;
  enableEndSession: boolean | null;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** 32 random characters from A-Z a-z 0-9 (190 bits), like the plugin's own secrets. */
function newSecret(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(48)].filter((b) => b < 248).slice(0, 32).map((b) => alphabet[b % 62]).join("");
}

/**
 * Make the app's client say what the file says. Returns one line per change; a new or newly
 * confidential client's secret appears in its line, once, unless this is a dry run.
 */
export async function applyOidcClient(
  db: pg.PoolClient,
  app: { slug: string; name: string; oidc?: OidcClientDefinition },
  orgId: string,
  { dryRun = false } = {},
): Promise<string[]> {
  // A database migrated before the provider existed has no client table; only a declared client needs it.
  const table = await db.query<{ t: string | null }>(`SELECT to_regclass('"oauthClient"')::text AS t`);
  if (!table.rows[0]?.t) {
    if (app.oidc) throw new OidcClientConflict(`${app.slug}: the database has no "oauthClient" table yet; run \`npm run migrate\` first`);
    return [];
  }
  const owned = await db.query<ClientRow>(`SELECT * FROM "oauthClient" WHERE "referenceId" = $1 ORDER BY "createdAt"`, [orgId]);
  if (!app.oidc) {
    const changes: string[] = [];
    for (const row of owned.rows.filter((r) => !r.disabled)) {
      await db.query(`UPDATE "oauthClient" SET disabled = true, "updatedAt" = now() WHERE id = $1`, [row.id]);
      changes.push(`disabled oidc client of ${app.slug} (no "oidc" in its file)`);
    }
    return changes;
  }
  const want = desiredClient(app, app.oidc);
  const existing = (await db.query<ClientRow>(`SELECT * FROM "oauthClient" WHERE "clientId" = $1`, [want.clientId])).rows[0];
  if (existing && existing.referenceId !== orgId) {
    throw new OidcClientConflict(`${app.slug}: oidc client id "${want.clientId}" already belongs to another app; choose another "clientId"`);
  }
  const changes: string[] = [];
  // One client per app: an earlier client under another id is retired, not left signing people in.
  for (const row of owned.rows.filter((r) => r.id !== existing?.id && !r.disabled)) {
    await db.query(`UPDATE "oauthClient" SET disabled = true, "updatedAt" = now() WHERE id = $1`, [row.id]);
    changes.push(`disabled previous oidc client of ${app.slug}`);
  }
  const confidential = want.tokenEndpointAuthMethod !== "none";
  const secret = confidential && !existing?.clientSecret ? newSecret() : undefined;
  const shown = (s: string | undefined) => (s && !dryRun ? `${SECRET_MARK}${s}` : "");
  const columns = {
    name: want.name,
    redirectUris: JSON.stringify(want.redirectUris),
    postLogoutRedirectUris: JSON.stringify(want.postLogoutRedirectUris),
    scopes: JSON.stringify(want.scopes),
    grantTypes: JSON.stringify(want.grantTypes),
    responseTypes: JSON.stringify(["code"]),
    tokenEndpointAuthMethod: want.tokenEndpointAuthMethod,
    applicationType: want.applicationType,
    skipConsent: want.skipConsent,
  };
  if (!existing) {
    await db.query(
      `INSERT INTO "oauthClient" (id, "clientId", "clientSecret", disabled, "skipConsent", "enableEndSession", "subjectType", scopes, name,
         "redirectUris", "postLogoutRedirectUris", "tokenEndpointAuthMethod", "applicationType", "grantTypes", "responseTypes", "requirePKCE",
         "referenceId", "createdAt", "updatedAt")
       VALUES ($1, $2, $3, false, $4, true, 'public', $5::jsonb, $6, $7::jsonb, $8::jsonb, $9, $10, $11::jsonb, $12::jsonb, true, $13, now(), now())`,
      [
        randomUUID(), want.clientId, secret ? hashClientSecret(secret) : null, columns.skipConsent, columns.scopes, columns.name,
        columns.redirectUris, columns.postLogoutRedirectUris, columns.tokenEndpointAuthMethod, columns.applicationType, columns.grantTypes,
        columns.responseTypes, orgId,
      ],
    );
    changes.push(`created oidc client ${want.clientId} (${app.oidc.type}) for ${app.slug}${shown(secret)}`);
    return changes;
  }
  const differs = [
    !same(existing.name, want.name) && "name",
    !same(existing.redirectUris, want.redirectUris) && "redirectUris",
    !same(existing.postLogoutRedirectUris ?? [], want.postLogoutRedirectUris) && "postLogoutRedirectUris",
    !same(existing.scopes, want.scopes) && "scopes",
    !same(existing.grantTypes, want.grantTypes) && "refreshTokens",
    (existing.tokenEndpointAuthMethod !== want.tokenEndpointAuthMethod || existing.applicationType !== want.applicationType) && "type",
    Boolean(existing.skipConsent) !== want.skipConsent && "trusted",
    existing.disabled && "enabled",
    (existing.requirePKCE !== true || existing.enableEndSession !== true) && "pkce/logout",
  ].filter((d): d is string => Boolean(d));
  if (!differs.length) return changes;
  // Becoming public drops the secret; becoming confidential mints one.
  const storedSecret = confidential ? (secret ? hashClientSecret(secret) : existing.clientSecret) : null;
  await db.query(
    `UPDATE "oauthClient" SET name = $2, "redirectUris" = $3::jsonb, "postLogoutRedirectUris" = $4::jsonb, scopes = $5::jsonb, "grantTypes" = $6::jsonb,
       "responseTypes" = $7::jsonb, "tokenEndpointAuthMethod" = $8, "applicationType" = $9, "skipConsent" = $10, "clientSecret" = $11,
       disabled = false, "requirePKCE" = true, "enableEndSession" = true, "updatedAt" = now()
     WHERE id = $1`,
    [
      existing.id, columns.name, columns.redirectUris, columns.postLogoutRedirectUris, columns.scopes, columns.grantTypes, columns.responseTypes,
      columns.tokenEndpointAuthMethod, columns.applicationType, columns.skipConsent, storedSecret,
    ],
  );
  changes.push(`updated oidc client ${want.clientId} of ${app.slug} (${differs.join(", ")})${shown(secret)}`);
  return changes;
}

export class OidcClientConflict extends Error {
  override name = "AppsError";
}

/**
 * A new secret for the app's (enabled, confidential) client, printed once; the old one stops
 * working at once. Tokens already issued stay valid until they expire.
 */
export function rotateOidcSecret(pool: pg.Pool, slug: string): Promise<string> {
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string; clientId: string; tokenEndpointAuthMethod: string | null }>(
      `SELECT c.id, c."clientId", c."tokenEndpointAuthMethod" FROM "oauthClient" c JOIN "organization" o ON o.id = c."referenceId"
        WHERE o.slug = $1 AND c.disabled IS NOT TRUE`,
      [slug],
    );
    const client = rows[0];
    if (!client) throw new OidcClientConflict(`${slug} has no enabled oidc client (declare "oidc" in its file and run apply)`);
    if (client.tokenEndpointAuthMethod === "none") throw new OidcClientConflict(`${slug}'s oidc client ${client.clientId} is public: it has no secret`);
    const secret = newSecret();
    await db.query(`UPDATE "oauthClient" SET "clientSecret" = $2, "updatedAt" = now() WHERE id = $1`, [client.id, hashClientSecret(secret)]);
    return `rotated the secret of oidc client ${client.clientId}${SECRET_MARK}${secret}`;
  });
}
