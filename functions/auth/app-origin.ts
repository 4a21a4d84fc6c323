/**
 * Which app a token is minted for. With one sign-in shared by every app (SSO), the session's
 * `activeOrganizationId` is one value for all the tabs a person has open, so it cannot say which
 * app is asking. The request can: an app definition lists its web origins (and native client
 * ids), `apps apply` stores them in the organization's metadata, and `/token` picks the app from
 *
 *   1. the request's origin: the SPA's `Origin` header, else the app proxy's X-Forwarded-Host
 *      (trusted only with TRUST_PROXY_HEADERS, see request-origin.ts);
 *   2. else the `x-authplane-client-id` header a native app sends;
 *   3. else (no app origin: a native client with a bearer token, a server) the session's active
 *      organization, chosen with `organization/set-active`.
 *
 * A request from an app's origin gets that app's claims when the person is a member there and no
 * app claims otherwise: never another app's active organization. None of this is a permission
 * check (a caller can only ever select among its own memberships); it keeps tabs apart.
 *
 * Better Auth's jwt plugin hands `definePayload` only the session, but it runs every endpoint
 * inside its own AsyncLocalStorage endpoint context (`runWithEndpointContext`, see
 * better-auth/dist/api/dispatch.mjs), so the request is read from there: per request, safe under
 * concurrency, no state of ours.
 */
import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { Pool } from "pg";
import { requestOrigin, type ForwardingPolicy } from "./request-origin.js";

/** Header a native app (no origin) may send to name itself; values are `nativeClientIds`. */
export const APP_CLIENT_HEADER = "x-authplane-client-id";

/** How long the origin → app map is reused before it is read again. */
export const APP_DIRECTORY_TTL_MS = 10_000;

/** What an app definition binds to its organization; kept in `organization.metadata`. */
export interface AppBinding {
  origins: string[];
  nativeClientIds: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function parseMetadata(raw: unknown): Record<string, unknown> {
  if (raw && typeof raw === "object") return raw as Record<string, unknown>;
  if (typeof raw !== "string" || !raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The binding stored in an organization's metadata (empty when none). */
export function readAppBinding(metadata: unknown): AppBinding {
  const m = parseMetadata(metadata);
  return { origins: strings(m.origins), nativeClientIds: strings(m.nativeClientIds) };
}

/** Metadata with the binding set, every other key kept (other tools may store their own). */
export function writeAppBinding(metadata: unknown, binding: AppBinding): string {
  return JSON.stringify({ ...parseMetadata(metadata), origins: [...binding.origins].sort(), nativeClientIds: [...binding.nativeClientIds].sort() });
}

/** Two bindings equal regardless of order. */
export function sameBinding(a: AppBinding, b: AppBinding): boolean {
  const key = (x: AppBinding) => JSON.stringify([[...x.origins].sort(), [...x.nativeClientIds].sort()]);
  return key(a) === key(b);
}

/** origin / client id → organization id; null marks one claimed by several apps (none wins). */
export interface AppDirectory {
  byOrigin: Map<string, string | null>;
  byClientId: Map<string, string | null>;
}

async function readDirectory(pool: Pool): Promise<AppDirectory> {
  const { rows } = await pool.query<{ id: string; metadata: unknown }>(`SELECT id, metadata FROM "organization" WHERE metadata IS NOT NULL`);
  const byOrigin = new Map<string, string | null>();
  const byClientId = new Map<string, string | null>();
  const claim = (map: Map<string, string | null>, key: string, id: string) => map.set(key, map.has(key) && map.get(key) !== id ? null : id);
  for (const row of rows) {
    const binding = readAppBinding(row.metadata);
    for (const origin of binding.origins) if (URL.canParse(origin)) claim(byOrigin, new URL(origin).origin, row.id);
    for (const clientId of binding.nativeClientIds) claim(byClientId, clientId, row.id);
  }
  return { byOrigin, byClientId };
}

/**
 * The directory, read at most once per `ttlMs` (a burst of token requests shares one query).
 * A failed read is not cached, so the next request tries again.
 */
export function cachedAppDirectory(pool: Pool, ttlMs = APP_DIRECTORY_TTL_MS): () => Promise<AppDirectory> {
  let cached: { at: number; value: Promise<AppDirectory> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > ttlMs) {
      const value = readDirectory(pool);
      cached = { at: now, value };
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}

const sharedDirectories = new WeakMap<Pool, () => Promise<AppDirectory>>();

/**
 * One cached directory per pool: every Better Auth instance on it and the lean /token path
 * (token-lean.ts) pick the app from the same copy, read once per TTL.
 */
export function sharedAppDirectory(pool: Pool): () => Promise<AppDirectory> {
  let directory = sharedDirectories.get(pool);
  if (!directory) sharedDirectories.set(pool, (directory = cachedAppDirectory(pool)));
  return directory;
}

/** Where a request comes from, as far as app selection goes. */
export interface RequestSource {
  origin: string | null;
  clientId: string | null;
}

/** The origin and client id of the request Better Auth is serving now (none outside a request). */
export function currentRequestSource(policy: ForwardingPolicy): RequestSource {
  const ctx = tryGetCurrentAuthEndpointContext();
  // Duck-typed: a Request from another realm (a bundled fetch polyfill) is a Request all the same.
  const request = typeof ctx?.request?.url === "string" ? ctx.request : undefined;
  const headers = request?.headers ?? (ctx?.headers ? new Headers(ctx.headers) : undefined);
  let origin: string | null = null;
  if (request) origin = requestOrigin(request, policy);
  else {
    const header = headers?.get("origin");
    origin = header && URL.canParse(header) ? new URL(header).origin : null;
  }
  return { origin, clientId: headers?.get(APP_CLIENT_HEADER)?.trim() || null };
}

/**
 * The organization a token should carry: the app the request comes from (its id, or null when
 * that origin belongs to several apps), else the session's active organization.
 */
export function organizationForToken(directory: AppDirectory, source: RequestSource, activeOrganizationId: string | null | undefined): string | null {
  if (source.origin && directory.byOrigin.has(source.origin)) return directory.byOrigin.get(source.origin) ?? null;
  if (source.clientId && directory.byClientId.has(source.clientId)) return directory.byClientId.get(source.clientId) ?? null;
  return activeOrganizationId ?? null;
}

/** For `definePayload`: the organization of the token being minted in the current request. */
export function tokenOrganizationResolver(pool: Pool, policy: ForwardingPolicy): (activeOrganizationId: string | null | undefined) => Promise<string | null> {
  const directory = sharedAppDirectory(pool);
  return async (activeOrganizationId) => organizationForToken(await directory(), currentRequestSource(policy), activeOrganizationId);
}
