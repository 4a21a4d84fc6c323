/**
 * Test fixtures for the authorizer: real RSA keys, tokens signed with jose, a JWKS served over
 * real HTTP, and API Gateway events of each kind.
 */
import { KeyObject, sign as cryptoSign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { JWT_TTL_SECONDS } from "../../../functions/claims.js";
import { createAuthorizer, type LogLine } from "../../../functions/authorizer/authorizer.js";
import type { AuthorizerConfig } from "../../../functions/authorizer/config.js";

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "https://api.example.test";
export const KID = "k1VvQ2xTz8c0M5nA";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function rsaKey(kid = KID, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Claims the auth service would put in a fresh token. */
export function claims(overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSeconds();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user_123",
    email: "ada@example.test",
    org_id: "org_1",
    org_slug: "hiring",
    role: "recruiter,member",
    permissions: { candidate: ["read", "write"], job: ["read"] },
    iat,
    exp: iat + JWT_TTL_SECONDS,
    ...overrides,
  };
}

/** Signs `payload` as the auth service would (jose, RS256, kid in the header). */
export async function sign(key: SigningKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT", ...header }).sign(key.privateKey);
}

/** Signs any header and payload, even ones jose refuses to produce (unknown `crit`, odd types). */
export function signRaw(key: SigningKey, header: Record<string, unknown>, payload: unknown): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${b64(cryptoSign("sha256", Buffer.from(input), KeyObject.from(key.privateKey)))}`;
}

export const b64 = (value: string | Buffer): string => Buffer.from(value).toString("base64url");
export const segment = (value: unknown): string => b64(JSON.stringify(value));

export function testConfig(keys: JWK[], overrides: Partial<AuthorizerConfig> = {}): AuthorizerConfig {
  return {
    jwksUrl: new URL("http://127.0.0.1:9/jwks"),
    issuer: ISSUER,
    audiences: [AUDIENCE],
    algorithms: ["RS256"],
    clockToleranceSeconds: 5,
    maxLifetimeSeconds: JWT_TTL_SECONDS,
    maxTokenLength: 8192,
    cacheEntries: 100,
    jwksCooldownMs: 30_000,
    jwksMaxAgeMs: 600_000,
    jwksTimeoutMs: 1000,
    seedJwks: { keys },
    // Off unless a test serves a feed: the revocation tests run their own over real HTTP.
    revocationsUrl: undefined,
    revocationsRefreshMs: 15_000,
    revocationsMaxStaleMs: 300_000,
    metricsFlushMs: 10_000,
    ...overrides,
  };
}

/** An authorizer over seeded keys, with its log lines collected. */
export function seededAuthorizer(keys: JWK[], overrides: Partial<AuthorizerConfig> = {}) {
  const logs: LogLine[] = [];
  const authorizer = createAuthorizer(testConfig(keys, overrides), { log: (line) => logs.push(line) });
  return { authorizer, logs };
}

/** The stage of the hiring API: the app the test tokens are for. `null` stands for a stage without variables. */
export const HIRING_STAGE: Record<string, string> = { authplane_app: "hiring" };

/** base64url JSON of a route table, as a backend's `authplane_routes` stage variable carries it. */
export const routesVariable = (routes: Record<string, string>): string => b64(JSON.stringify(routes));

export function httpEvent(authorization?: string, headers: Record<string, string> = {}, stageVariables: Record<string, string> | null = HIRING_STAGE, routeKey = "GET /candidates") {
  const [method, path] = routeKey.split(" ");
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:eu-west-1:123456789012:abcdef123/$default/${method}${path}`,
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey,
    rawPath: path,
    headers: { ...(authorization === undefined ? {} : { authorization }), host: "api.example.test", ...headers },
    requestContext: { requestId: "req-1", http: { method, path } },
    ...(stageVariables ? { stageVariables } : {}),
  };
}

export const METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/candidates";

export function restTokenEvent(authorizationToken?: string) {
  return { type: "TOKEN", methodArn: METHOD_ARN, ...(authorizationToken === undefined ? {} : { authorizationToken }) };
}

export function restRequestEvent(
  headers: Record<string, string>,
  multiValueHeaders?: Record<string, string[]>,
  stageVariables: Record<string, string> | null = HIRING_STAGE,
  route = { httpMethod: "GET", resource: "/candidates" },
) {
  return {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    resource: route.resource,
    path: route.resource,
    httpMethod: route.httpMethod,
    headers,
    multiValueHeaders: multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: { requestId: "req-2" },
    ...(stageVariables ? { stageVariables } : {}),
  };
}

/** Serves `jwks()` at /jwks on 127.0.0.1 (a free port), counting requests; `down` answers 503. */
export async function jwksServer(jwks: () => unknown) {
  const state = { requests: 0, down: false };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/jwks`),
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
