/**
 * The API Gateway side: which kind of authorizer event arrived, where its Authorization header is,
 * and the response shape that kind expects. HTTP APIs (payload 2.0) get simple responses; REST
 * TOKEN/REQUEST authorizers (and HTTP API payload 1.0) get an IAM policy. The identity context is
 * the same in both.
 */
import { DENY, Denied } from "./deny-codes.js";

export type EventKind = "http-v2" | "rest-token" | "rest-request" | "unknown";

/** What API Gateway passes on to the backend: strings only, null claims left out. */
export type AuthorizerContext = Record<string, string>;

export interface SimpleResponse {
  isAuthorized: boolean;
  context?: AuthorizerContext;
}

export interface PolicyResponse {
  principalId: string;
  policyDocument: {
    Version: "2012-10-17";
    Statement: [{ Action: "execute-api:Invoke"; Effect: "Allow" | "Deny"; Resource: string }];
  };
  context?: AuthorizerContext;
}

export type AuthorizerResponse = SimpleResponse | PolicyResponse | (SimpleResponse & PolicyResponse);

type Event = Record<string, unknown>;

export function eventKind(event: unknown): EventKind {
  if (typeof event !== "object" || event === null) return "unknown";
  const e = event as Event;
  if (e.version === "2.0" && e.type === "REQUEST") return "http-v2";
  // REST events without a usable methodArn could not be answered with a policy anyway.
  if (stageResource(e) !== undefined) {
    if (e.type === "TOKEN") return "rest-token";
    if (e.type === "REQUEST") return "rest-request";
  }
  return "unknown";
}

/**
 * The raw Authorization value. Duplicates are refused rather than resolved: HTTP APIs join repeated
 * headers with commas, REST APIs list them in multiValueHeaders, and a client may also send two
 * spellings of the name; whichever copy a backend would read, we will not guess.
 */
export function authorizationOf(event: unknown, kind: EventKind): string | undefined {
  const e = event as Event;
  if (kind === "rest-token") return typeof e.authorizationToken === "string" ? e.authorizationToken : undefined;
  if (kind === "unknown") throw new Denied(DENY.eventShape);
  const multi = e.multiValueHeaders;
  if (typeof multi === "object" && multi !== null) {
    let copies = 0;
    for (const [name, values] of Object.entries(multi)) {
      if (name.toLowerCase() === "authorization") copies += Array.isArray(values) ? values.length : 1;
    }
    if (copies > 1) throw new Denied(DENY.headerDuplicate);
  }
  const headers = e.headers;
  if (typeof headers !== "object" || headers === null) return undefined;
  let value: unknown;
  let found = 0;
  for (const name in headers) {
    if (name.length === 13 && name.toLowerCase() === "authorization") {
      value = (headers as Event)[name];
      found++;
    }
  }
  if (found > 1) throw new Denied(DENY.headerDuplicate);
  return typeof value === "string" ? value : undefined;
}

/** The token out of `Bearer <token>`; the scheme is matched exactly as the auth clients send it. */
export function bearerToken(value: string | undefined, maxTokenLength: number): string {
  if (value === undefined || value === "") throw new Denied(DENY.headerMissing);
  if (value.length > maxTokenLength + 7) throw new Denied(DENY.tooLarge);
  if (value.includes(",")) throw new Denied(DENY.headerDuplicate);
  if (value.startsWith("Bearer ")) return value.slice(7);
  if (value.slice(0, 7).toLowerCase() === "bearer ") throw new Denied(DENY.schemeCase);
  throw new Denied(DENY.schemeNotBearer);
}

/**
 * The policy resource: the whole API stage rather than the one method, so that API Gateway's
 * result cache (keyed on the token) serves every route the token may call.
 */
function stageResource(event: unknown): string | undefined {
  const arn = (event as Event | null)?.methodArn;
  if (typeof arn !== "string") return undefined;
  const [api, stage] = arn.split("/");
  return api?.startsWith("arn:") && stage ? `${api}/${stage}/*` : undefined;
}

function policy(principalId: string, effect: "Allow" | "Deny", resource: string): PolicyResponse {
  return {
    principalId,
    policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: resource }] },
  };
}

export function allowResponse(kind: EventKind, event: unknown, principalId: string, context: AuthorizerContext): AuthorizerResponse {
  if (kind === "http-v2") return { isAuthorized: true, context: { ...context } };
  if (kind === "unknown") return denyResponse(kind, event);
  return { ...policy(principalId, "Allow", stageResource(event)!), context: { ...context } };
}

export function denyResponse(kind: EventKind, event: unknown): AuthorizerResponse {
  if (kind === "http-v2") return { isAuthorized: false };
  const deny = policy("unauthorized", "Deny", stageResource(event) ?? "*");
  // Unknown shape: answer in both dialects so that whichever API Gateway reads it, it denies.
  return kind === "unknown" ? { isAuthorized: false, ...deny } : deny;
}
