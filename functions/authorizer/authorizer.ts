/**
 * The authorizer as a plain function of an API Gateway event: find the bearer token, answer from
 * the verified-token cache or verify it, and build the response for the event's kind. Every
 * failure becomes a deny with a stable reason code in one JSON log line; nothing throws out, and
 * neither the token nor any claim value is ever logged.
 */
import { CLAIM, flattenPermissions } from "../claims.js";
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
import { TokenVerifier, type KeySource } from "./verify.js";

export type LogLine = Record<string, string | number | undefined>;

export interface AuthorizerDeps {
  /** Where keys come from. @default a JwksCache built from the config */
  keys?: KeySource;
  /** Receives one object per deny or JWKS failure. @default a JSON line on stdout */
  log?: (line: LogLine) => void;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
}

export interface Authorizer {
  handle(event: unknown): Promise<AuthorizerResponse>;
  verifier: TokenVerifier;
  keys: KeySource;
}

interface Identity {
  principalId: string;
  context: AuthorizerContext;
}

export function writeLogLine(line: LogLine): void {
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
  const verifier = new TokenVerifier(config, keys);
  const cache = new ExpiringLru<Identity>(config.cacheEntries, now);

  async function handle(event: unknown): Promise<AuthorizerResponse> {
    let kind: EventKind = "unknown";
    try {
      kind = eventKind(event);
      const token = bearerToken(authorizationOf(event, kind), config.maxTokenLength);
      let identity = cache.get(token);
      if (!identity) {
        const claims = await verifier.verify(token, Math.floor(now() / 1000));
        identity = { principalId: claims.sub, context: contextOf(claims) };
        // The entry dies with the token (exp is in seconds).
        cache.set(token, identity, claims.exp * 1000);
      }
      return allowResponse(kind, event, identity.principalId, identity.context);
    } catch (error) {
      const denied = error instanceof Denied ? error : undefined;
      try {
        log({
          level: "warn",
          msg: "authorizer.deny",
          reason: denied?.code ?? DENY.internal,
          field: denied?.field,
          error: denied ? undefined : error instanceof Error ? error.name : typeof error,
          kind,
          requestId: requestIdOf(event),
        });
      } catch {
        // A broken log sink must not turn a deny into an exception.
      }
      return safeDeny(kind, event);
    }
  }

  return { handle, verifier, keys };
}
