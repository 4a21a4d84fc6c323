/**
 * A local stand-in for an API Gateway HTTP API with a Lambda authorizer, so `make dev` shows the
 * second half of the design: the browser calls a backend with its JWT, the gateway asks the real
 * authorizer (functions/authorizer/handler.ts, the code the Lambda runs) with the payload 2.0
 * event API Gateway would send, and only on `isAuthorized: true` invokes the backend with the
 * authorizer's context in `requestContext.authorizer.lambda`. Backends hold no auth code.
 *
 * One API, one stage per app: the stage's variables (`authplane_app`, `authplane_routes`) are how a
 * backend tells the shared authorizer which app it belongs to and what each route needs.
 * URLs are `<gateway>/<stage>/<path>`, as for a named HTTP API stage.
 *
 * What API Gateway does that this does too: a request without the identity source (no
 * Authorization header) gets 401 `{"message":"Unauthorized"}` without calling the authorizer; a
 * deny is 403 `{"message":"Forbidden"}`; an unknown route is 404 `{"message":"Not Found"}`; CORS
 * preflights are answered by the gateway itself. What it adds, for people reading the demo: the
 * authorizer's deny reason (from its own log line, matched by request id) in an
 * `x-local-gateway-deny-reason` header. What it leaves out: the authorizer result cache.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The authorizer's simple response (HTTP API, `enableSimpleResponses`). */
export interface SimpleAuthorizerResponse {
  isAuthorized: boolean;
  context?: Record<string, string | number | boolean>;
}

export type AuthorizerFn = (event: HttpApiAuthorizerEvent) => Promise<unknown>;

interface RequestContext {
  accountId: string;
  apiId: string;
  domainName: string;
  domainPrefix: string;
  http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
  requestId: string;
  routeKey: string;
  stage: string;
  time: string;
  timeEpoch: number;
}

/** Payload format 2.0 as API Gateway sends it to a REQUEST authorizer. */
export interface HttpApiAuthorizerEvent {
  version: "2.0";
  type: "REQUEST";
  routeArn: string;
  identitySource: string[];
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: RequestContext;
  pathParameters?: Record<string, string>;
  stageVariables: Record<string, string>;
}

/** Payload format 2.0 as API Gateway sends it to a Lambda integration behind that authorizer. */
export interface HttpApiEvent extends Omit<HttpApiAuthorizerEvent, "type" | "routeArn" | "identitySource"> {
  body?: string;
  isBase64Encoded: boolean;
  requestContext: RequestContext & { authorizer: { lambda: Record<string, string | number | boolean> } };
}

export interface HttpApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface GatewayStage {
  /** Stage name, the first path segment (the app's slug in `make dev`). */
  name: string;
  stageVariables: Record<string, string>;
  /** Route keys, e.g. "GET /claims", "POST /notes", "GET /notes/{id}". */
  routes: string[];
  backend: (event: HttpApiEvent) => Promise<HttpApiResult>;
}

export interface LocalGatewayOptions {
  stages: GatewayStage[];
  authorizer: AuthorizerFn;
  /** Origins the CORS configuration allows (the apps). */
  corsOrigins: string[];
  /** @default "authplane-local" */
  apiId?: string;
  /**
   * Identity sources in API Gateway's syntax. @default the Authorization header, both stage
   * variables and the route key (contract 2: the cache key differs per app and route).
   */
  identitySource?: string[];
}

const DEFAULT_IDENTITY_SOURCE = ["$request.header.Authorization", "$stageVariables.authplane_app", "$stageVariables.authplane_routes", "$context.routeKey"];

const jsonResult = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** "GET /notes/{id}" matches "GET /notes/42" with { id: "42" }; `{proxy+}` takes the rest. */
function matchRoute(routes: string[], method: string, path: string): { routeKey: string; params: Record<string, string> } | undefined {
  for (const routeKey of routes) {
    const [m, pattern] = routeKey.split(" ") as [string, string];
    if (m !== method && m !== "ANY") continue;
    const want = pattern.split("/");
    const got = path.split("/");
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      if (/^\{\w+\+\}$/.test(w)) {
        params[w.slice(1, -2)] = got.slice(i).join("/");
        return { routeKey, params };
      }
      const g = got[i];
      if (g === undefined) ok = false;
      else if (/^\{\w+\}$/.test(w)) params[w.slice(1, -1)] = decodeURIComponent(g);
      else if (w !== g) ok = false;
      if (!ok) break;
    }
    if (ok && got.length === want.length) return { routeKey, params };
  }
  return undefined;
}

/** HTTP APIs lower-case header names and join repeated headers with commas; cookies travel apart. */
function headersOf(req: Request): { headers: Record<string, string>; cookies?: string[] } {
  const headers: Record<string, string> = {};
  req.headers.forEach((value, name) => {
    if (name === "cookie") return;
    headers[name] = value;
  });
  const cookie = req.headers.get("cookie");
  return { headers, cookies: cookie ? cookie.split(/;\s*/) : undefined };
}

function identityValues(sources: string[], event: Omit<HttpApiAuthorizerEvent, "identitySource">): string[] | undefined {
  const values: string[] = [];
  for (const source of sources) {
    let value: string | undefined;
    if (source.startsWith("$request.header.")) value = event.headers[source.slice("$request.header.".length).toLowerCase()];
    else if (source.startsWith("$stageVariables.")) value = event.stageVariables[source.slice("$stageVariables.".length)];
    else if (source === "$context.routeKey") value = event.routeKey;
    // API Gateway skips the authorizer (401) when a header or query source is missing; an unset
    // stage variable is simply not part of the key.
    if (value === undefined || value === "") {
      if (source.startsWith("$request.")) return undefined;
      continue;
    }
    values.push(value);
  }
  return values;
}

/** The deny reasons the authorizer logged, by request id (it logs one JSON line per deny). */
const denyReasons = new Map<string, string>();
let tapping = false;

function tapAuthorizerLog(): void {
  if (tapping) return;
  tapping = true;
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : "";
    if (text.includes('"authorizer.deny"')) {
      for (const line of text.split("\n")) {
        try {
          const entry = JSON.parse(line) as { msg?: string; reason?: string; requestId?: string };
          if (entry.msg === "authorizer.deny" && entry.requestId && entry.reason) {
            denyReasons.set(entry.requestId, entry.reason);
            if (denyReasons.size > 1000) denyReasons.delete(denyReasons.keys().next().value!);
          }
        } catch {
          // not one of the authorizer's lines
        }
      }
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}

function isSimpleResponse(value: unknown): value is SimpleAuthorizerResponse {
  return typeof value === "object" && value !== null && typeof (value as SimpleAuthorizerResponse).isAuthorized === "boolean";
}

export function localGateway(opts: LocalGatewayOptions): (req: Request, sourceIp?: string) => Promise<Response> {
  const apiId = opts.apiId ?? "authplane-local";
  const sources = opts.identitySource ?? DEFAULT_IDENTITY_SOURCE;
  const stages = new Map(opts.stages.map((s) => [s.name, s]));
  tapAuthorizerLog();

  const cors = (req: Request): Record<string, string> => {
    const origin = req.headers.get("origin");
    if (!origin || !opts.corsOrigins.includes(origin)) return {};
    return {
      "access-control-allow-origin": origin,
      "access-control-expose-headers": "x-local-gateway-deny-reason, apigw-requestid",
      vary: "origin",
    };
  };

  return async (req, sourceIp = "127.0.0.1") => {
    const url = new URL(req.url);
    const [, stageName = "", ...rest] = url.pathname.split("/");
    const stage = stages.get(stageName);
    const headers = cors(req);
    if (req.method === "OPTIONS" && req.headers.get("access-control-request-method")) {
      if (!headers["access-control-allow-origin"]) return new Response(null, { status: 204 });
      return new Response(null, {
        status: 204,
        headers: { ...headers, "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE", "access-control-allow-headers": "authorization,content-type", "access-control-max-age": "300" },
      });
    }
    if (!stage) return jsonResult(404, { message: "Not Found" }, headers);
    const path = `/${rest.join("/")}`;
    const route = matchRoute(stage.routes, req.method, path);
    if (!route) return jsonResult(404, { message: "Not Found" }, headers);

    const now = new Date();
    const requestId = randomUUID();
    const { headers: reqHeaders, cookies } = headersOf(req);
    const query = Object.fromEntries(url.searchParams);
    const requestContext: RequestContext = {
      accountId: "000000000000",
      apiId,
      domainName: url.hostname,
      domainPrefix: url.hostname.split(".")[0]!,
      // A named stage keeps its name in the path API Gateway reports.
      http: { method: req.method, path: url.pathname, protocol: "HTTP/1.1", sourceIp, userAgent: req.headers.get("user-agent") ?? "" },
      requestId,
      routeKey: route.routeKey,
      stage: stage.name,
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    };
    const base = {
      version: "2.0" as const,
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(cookies ? { cookies } : {}),
      headers: reqHeaders,
      ...(url.search ? { queryStringParameters: query } : {}),
      requestContext,
      ...(Object.keys(route.params).length ? { pathParameters: route.params } : {}),
      stageVariables: { ...stage.stageVariables },
    };
    const identity = identityValues(sources, { ...base, type: "REQUEST", routeArn: "" });
    if (!identity) return jsonResult(401, { message: "Unauthorized" }, { ...headers, "apigw-requestid": requestId });
    const authEvent: HttpApiAuthorizerEvent = {
      ...base,
      type: "REQUEST",
      routeArn: `arn:aws:execute-api:local:000000000000:${apiId}/${stage.name}/${req.method}${path}`,
      identitySource: identity,
    };

    let decision: unknown;
    try {
      decision = await opts.authorizer(authEvent);
    } catch {
      // An authorizer that throws is a 500 at API Gateway too.
      return jsonResult(500, { message: "Internal Server Error" }, { ...headers, "apigw-requestid": requestId });
    }
    if (!isSimpleResponse(decision) || !decision.isAuthorized) {
      const reason = denyReasons.get(requestId);
      denyReasons.delete(requestId);
      return jsonResult(403, { message: "Forbidden" }, { ...headers, "apigw-requestid": requestId, ...(reason ? { "x-local-gateway-deny-reason": reason } : {}) });
    }

    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.text();
    const event: HttpApiEvent = {
      ...base,
      ...(body ? { body } : {}),
      isBase64Encoded: false,
      requestContext: { ...requestContext, authorizer: { lambda: { ...(decision.context ?? {}) } } },
    };
    let result: HttpApiResult;
    try {
      result = await stage.backend(event);
    } catch {
      return jsonResult(500, { message: "Internal Server Error" }, { ...headers, "apigw-requestid": requestId });
    }
    return new Response(result.body ?? null, {
      status: result.statusCode,
      headers: { "content-type": "application/json", ...result.headers, ...headers, "apigw-requestid": requestId },
    });
  };
}

/** The peer address @hono/node-server hands through as `env.incoming`. */
export function sourceIpOf(env: unknown): string {
  return ((env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
}
