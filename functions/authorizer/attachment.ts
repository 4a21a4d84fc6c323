/**
 * What the backend behind this request asks for, read from its API Gateway stage (the attachment
 * contract): `authplane_app` names the app (organization slug) the API belongs to, or `*` for a
 * platform-wide API; `authplane_routes`, optional, is base64url JSON mapping route keys
 * ("POST /candidates", HTTP API `routeKey` or REST `httpMethod + " " + resource`) to the
 * permission each needs ("candidate:write"), with "*" as the default for other routes.
 *
 * One shared function serves every backend, so nothing here is per app: a backend changes what it
 * requires by changing its stage, never this code. Stage variables arrive with every event, so a
 * route table is parsed once per distinct value and kept in a small bounded map; the hot path then
 * costs two property reads and two Map look-ups.
 */
import { CLAIM, type Permissions } from "../claims.js";
import type { VerifiedClaims } from "./claims-check.js";
import { DENY, Denied } from "./deny-codes.js";
import type { EventKind } from "./events.js";
import { decodeBase64urlStrict } from "./jws.js";

/** Stage variable names (the contract). */
export const STAGE_VARIABLE = { app: "authplane_app", routes: "authplane_routes" } as const;

/**
 * Values of `authplane_app` that accept a token for any app. `*` is the contract; API Gateway
 * refuses `*` in a stage variable value (values must match [A-Za-z0-9-._~:/?#&=,]+), so the
 * attachment helpers write `~any`, which no organization slug can spell.
 */
export const ANY_APP = "*";
export const ANY_APP_STAGE_VALUE = "~any";

/** A permission a route requires, split once at parse time. */
export interface RequiredPermission {
  resource: string;
  action: string;
}

/** A parsed `authplane_routes`: route key → permission, and the "*" default. */
export interface RouteTable {
  routes: Map<string, RequiredPermission>;
  fallback: RequiredPermission | undefined;
}

/** Longest `authplane_routes`: API Gateway caps a stage variable value at 512 characters. */
export const MAX_STAGE_VARIABLE_LENGTH = 512;
/** Distinct route tables remembered per instance (one per backend stage it serves). */
const ROUTE_TABLES = 64;
/** The same alphabet claims-check allows in resource and action names. */
const PERMISSION = /^([^\s:]+):([^\s:]+)$/;

/** Parses an `authplane_routes` value; undefined when it is not what the contract says. */
export function parseRouteTable(raw: string): RouteTable | undefined {
  if (raw.length > MAX_STAGE_VARIABLE_LENGTH || raw.includes("+") || raw.includes("/")) return undefined;
  const bytes = decodeBase64urlStrict(raw);
  if (!bytes) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const routes = new Map<string, RequiredPermission>();
  let fallback: RequiredPermission | undefined;
  for (const [route, permission] of Object.entries(json)) {
    const match = typeof permission === "string" ? PERMISSION.exec(permission) : null;
    if (!match || route === "") return undefined;
    const required = { resource: match[1]!, action: match[2]! };
    if (route === "*") fallback = required;
    else routes.set(route, required);
  }
  return { routes, fallback };
}

/** The app and permission one request requires. */
export interface Requirement {
  /** Organization slug, or undefined for any app. */
  app: string | undefined;
  permission: RequiredPermission | undefined;
}

type Event = Record<string, unknown>;

function routeKeyOf(event: Event, kind: EventKind): string | undefined {
  if (kind === "http-v2") return typeof event.routeKey === "string" ? event.routeKey : undefined;
  const { httpMethod, resource } = event;
  return typeof httpMethod === "string" && typeof resource === "string" ? `${httpMethod} ${resource}` : undefined;
}

export class Attachments {
  private readonly tables = new Map<string, RouteTable | null>();

  /**
   * What `event`'s stage requires; throws Denied(app_not_configured) when the stage names no app
   * (a REST TOKEN authorizer carries no stage variables, so it always lands here: attach as REQUEST)
   * or its route table is malformed.
   */
  requirementOf(event: unknown, kind: EventKind): Requirement {
    const e = event as Event;
    const vars = e.stageVariables as Record<string, unknown> | null | undefined;
    const app = typeof vars === "object" && vars !== null ? vars[STAGE_VARIABLE.app] : undefined;
    if (typeof app !== "string" || app === "") throw new Denied(DENY.appNotConfigured, STAGE_VARIABLE.app);
    const raw = vars![STAGE_VARIABLE.routes];
    let permission: RequiredPermission | undefined;
    if (raw !== undefined && raw !== null && raw !== "") {
      if (typeof raw !== "string") throw new Denied(DENY.appNotConfigured, STAGE_VARIABLE.routes);
      const table = this.table(raw);
      if (!table) throw new Denied(DENY.appNotConfigured, STAGE_VARIABLE.routes);
      const route = routeKeyOf(e, kind);
      permission = (route === undefined ? undefined : table.routes.get(route)) ?? table.fallback;
    }
    return { app: app === ANY_APP || app === ANY_APP_STAGE_VALUE ? undefined : app, permission };
  }

  private table(raw: string): RouteTable | null {
    let table = this.tables.get(raw);
    if (table === undefined) {
      table = parseRouteTable(raw) ?? null;
      // Bounded: a stage's value changes only on deploy, so dropping the oldest is enough.
      if (this.tables.size >= ROUTE_TABLES) this.tables.delete(this.tables.keys().next().value!);
      this.tables.set(raw, table);
    }
    return table;
  }
}

function holds(permissions: Permissions, { resource, action }: RequiredPermission): boolean {
  return Object.hasOwn(permissions, resource) && permissions[resource]!.includes(action);
}

/** Throws Denied unless `claims` are for the required app and carry the required permission. */
export function checkRequirement(claims: VerifiedClaims, requirement: Requirement): void {
  if (requirement.app !== undefined) {
    if (claims.org_slug === null || claims.org_slug === "") throw new Denied(DENY.noApp, CLAIM.orgSlug);
    if (claims.org_slug !== requirement.app) throw new Denied(DENY.wrongApp, CLAIM.orgSlug);
  }
  if (requirement.permission && !holds(claims.permissions, requirement.permission)) {
    throw new Denied(DENY.missingPermission, CLAIM.permissions);
  }
}
