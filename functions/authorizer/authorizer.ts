/**
 * The authorizer as a plain function of an API Gateway event: read what the backend's stage
 * requires (app, route permission), find the bearer token, answer from the verified-token cache or
 * verify it, then check the requirement and the revocation feed, and build the response for the
 * event's kind. The cache holds only what the token proves (its claims); the app, route and
 * revocation checks run after it on every request, so one backend's or route's decision is never
 * reused for another. Every failure becomes a deny with a stable reason code in one JSON log line;
 * nothing throws out, and neither the token nor any claim value is ever logged.
 */
import { CLAIM, flattenPermissions } from "../claims.js";
import { Attachments, checkRequirement, type Requirement } from "./attachment.js";
import type { AuthorizerConfig } from "./config.js";
import type { VerifiedClaims } from "./claims-check.js";
import { DENY, Denied } from "./deny-codes.js";
import {
  allowResponse,
  authorizationOf,
  bearerToken,
  denyResponse,
  eventKind,
  type AuthorizerContext,
  type EventKind,
  type AuthorizerResponse,
} from "./events.js";
import { JwksCache } from "./jwks-cache.js";
import { ExpiringLru } from "./lru.js";
import { AuthorizerMetrics } from "./metrics.js";
import { RevocationFeed } from "./revocations.js";
import { TokenVerifier, type KeySource } from "./verify.js";

export type LogLine = Record<string, string | number | undefined>;

export interface AuthorizerDeps {
  /** Where keys come from. @default a JwksCache built from the config */
  keys?: KeySource;
  /** Receives one object per deny or fetch failure. @default a JSON line on stdout */
  log?: (line: LogLine) => void;
  /** Receives the EMF metric documents. @default a JSON line on stdout */
  metrics?: (document: Record<string, unknown>) => void;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
}

export interface Authorizer {
  handle(event: unknown): Promise<AuthorizerResponse>;
  /** The same decision, synchronous whenever no fetch is needed (what `handle` awaits). */
  decide(event: unknown): AuthorizerResponse | Promise<AuthorizerResponse>;
  verifier: TokenVerifier;
  keys: KeySource;
  attachments: Attachments;
  /** undefined when REVOCATIONS_URL=off. */
  revocations: RevocationFeed | undefined;
  metrics: AuthorizerMetrics;
}

interface Identity {
  principalId: string;
  context: AuthorizerContext;
  claims: VerifiedClaims;
}

export function writeLogLine(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function contextOf(claims: VerifiedClaims): AuthorizerContext {
  const context: AuthorizerContext = {
    [CLAIM.sub]: claims.sub,
    [CLAIM.email]: claims.email,
    [CLAIM.permissions]: flattenPermissions(claims.permissions),
  };
  if (claims.org_id !== null) context[CLAIM.orgId] = claims.org_id;
  if (claims.org_slug !== null) context[CLAIM.orgSlug] = claims.org_slug;
  if (claims.role !== null) context[CLAIM.role] = claims.role;
  return context;
}

function requestIdOf(event: unknown): string | undefined {
  const id = (event as { requestContext?: { requestId?: unknown } } | null)?.requestContext?.requestId;
  return typeof id === "string" ? id.slice(0, 128) : undefined;
}

/** A deny that cannot fail, even for an event whose fields throw when read. */
export function safeDeny(kind: EventKind, event: unknown): AuthorizerResponse {
  try {
    return denyResponse(kind, event);
  } catch {
    return denyResponse("unknown", undefined);
  }
}

export function createAuthorizer(config: AuthorizerConfig, deps: AuthorizerDeps = {}): Authorizer {
  const log = deps.log ?? writeLogLine;
  const now = deps.now ?? Date.now;
  const keys =
    deps.keys ??
    new JwksCache({
      url: config.jwksUrl,
      algorithms: config.algorithms,
      cooldownMs: config.jwksCooldownMs,
      maxAgeMs: config.jwksMaxAgeMs,
      timeoutMs: config.jwksTimeoutMs,
      seed: config.seedJwks,
      onFetchError: (reason) => log({ level: "warn", msg: "authorizer.jwks_fetch_failed", reason }),
      now,
    });
  const revocations = config.revocationsUrl
    ? new RevocationFeed({
        url: config.revocationsUrl,
        refreshMs: config.revocationsRefreshMs,
        maxStaleMs: config.revocationsMaxStaleMs,
        timeoutMs: config.jwksTimeoutMs,
        onFetchError: (reason) => log({ level: "warn", msg: "authorizer.revocations_fetch_failed", reason }),
        now,
      })
    : undefined;
  const metrics = new AuthorizerMetrics({ write: deps.metrics ?? writeLogLine, flushIntervalMs: config.metricsFlushMs, now });
  const verifier = new TokenVerifier(config, keys);
  const attachments = new Attachments();
  const cache = new ExpiringLru<Identity>(config.cacheEntries, now);

  function denied(kind: EventKind, event: unknown, error: unknown): AuthorizerResponse {
    const reason = error instanceof Denied ? error : undefined;
    const code = reason?.code ?? DENY.internal;
    try {
      metrics.deny(code, now());
      log({
        level: "warn",
        msg: "authorizer.deny",
        reason: code,
        field: reason?.field,
        error: reason ? undefined : error instanceof Error ? error.name : typeof error,
        kind,
        requestId: requestIdOf(event),
      });
    } catch {
      // A broken log sink must not turn a deny into an exception.
    }
    return safeDeny(kind, event);
  }

  function allowed(kind: EventKind, event: unknown, identity: Identity, nowMs: number): AuthorizerResponse {
    if (revocations) {
      const { claims } = identity;
      const code = revocations.check(claims.sub, claims.sid, claims.iat, nowMs);
      if (code) throw new Denied(code, code === DENY.revoked ? CLAIM.sub : undefined);
    }
    metrics.allow(nowMs);
    return allowResponse(kind, event, identity.principalId, identity.context);
  }

  /** The requirement and revocation checks, after the token is known good. */
  function finish(kind: EventKind, event: unknown, identity: Identity, requirement: Requirement, nowMs: number): AuthorizerResponse | Promise<AuthorizerResponse> {
    checkRequirement(identity.claims, requirement);
    const pending = revocations?.ready(nowMs);
    // After a wait the clock is read again: the copy is judged as of the decision.
    if (pending) return pending.then(() => allowed(kind, event, identity, now())).catch((error) => denied(kind, event, error));
    return allowed(kind, event, identity, nowMs);
  }

  function remember(token: string, claims: VerifiedClaims, nowMs: number): Identity {
    const identity = { principalId: claims.sub, context: contextOf(claims), claims };
    // The entry dies with the token (exp is in seconds).
    cache.set(token, identity, claims.exp * 1000, nowMs);
    return identity;
  }

  function decide(event: unknown): AuthorizerResponse | Promise<AuthorizerResponse> {
    let kind: EventKind = "unknown";
    try {
      kind = eventKind(event);
      const token = bearerToken(authorizationOf(event, kind), config.maxTokenLength);
      const requirement = attachments.requirementOf(event, kind);
      // One clock reading per request: on some hosts Date.now costs a sizeable share of a verify.
      const nowMs = now();
      const known = cache.get(token, nowMs);
      if (known) return finish(kind, event, known, requirement, nowMs);
      const claims = verifier.verify(token, Math.floor(nowMs / 1000), nowMs);
      if (claims instanceof Promise) {
        const k = kind;
        return claims
          .then((c) => {
            const later = now();
            return finish(k, event, remember(token, c, later), requirement, later);
          })
          .catch((error) => denied(k, event, error));
      }
      return finish(kind, event, remember(token, claims, nowMs), requirement, nowMs);
    } catch (error) {
      return denied(kind, event, error);
    }
  }

  async function handle(event: unknown): Promise<AuthorizerResponse> {
    return decide(event);
  }

  return { handle, decide, verifier, keys, attachments, revocations, metrics };
}
