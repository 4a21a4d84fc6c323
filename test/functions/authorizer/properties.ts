/**
 * The authorizer's properties, shared by the test suite (a small sample) and `npm run fuzz:authorizer`
 * (≥ 100,000 cases): (1) whatever is done to a valid token or its event, nothing throws and nothing
 * but the untouched token in a well-formed event is allowed; (2) on arbitrary claims, the fast path
 * never allows what jose's own `jwtVerify` refuses.
 */
import fc from "fast-check";
import { createLocalJWKSet, jwtVerify } from "jose";
import { createAuthorizer, type Authorizer } from "../../../functions/authorizer/authorizer.js";
import { Denied, DENY, type DenyCode } from "../../../functions/authorizer/deny-codes.js";
import type { AuthorizerResponse } from "../../../functions/authorizer/events.js";
import { AUDIENCE, b64, httpEvent, ISSUER, KID, METHOD_ARN, restRequestEvent, restTokenEvent, rsaKey, segment, sign, signRaw, testConfig, type SigningKey } from "./support.js";

export interface Fixture {
  key: SigningKey;
  valid: string;
  authorizer: Authorizer;
  /** Deny codes seen, for the fuzz summary. */
  reasons: Map<string, number>;
}

export async function fixture(): Promise<Fixture> {
  const key = await rsaKey();
  const reasons = new Map<string, number>();
  const authorizer = createAuthorizer(testConfig([key.jwk]), {
    log: (line) => {
      if (line.msg !== "authorizer.deny") return;
      const reason = String(line.reason);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    },
  });
  return { key, valid: await sign(key), authorizer, reasons };
}

export function isAllowed(response: AuthorizerResponse): boolean {
  const r = response as { isAuthorized?: unknown; policyDocument?: { Statement?: Array<{ Effect?: unknown }> } };
  return r.isAuthorized === true || r.policyDocument?.Statement?.some((s) => s.Effect === "Allow") === true;
}

const decoded = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

/** Ways to damage a compact JWS, from single characters to re-encoded JSON. */
function tokenMutation(valid: string): fc.Arbitrary<string> {
  const [h, p, s] = valid.split(".") as [string, string, string];
  const index = fc.nat({ max: valid.length - 1 });
  const junk = fc.oneof(
    fc.string({ maxLength: 4 }),
    fc.constantFrom(".", "=", "+", "/", " ", "\u0000", "é", "%2E", "A", "_", "-"),
    fc.string({ unit: "binary", maxLength: 3 }),
  );
  const json = fc.jsonValue({ maxDepth: 2 });
  const headerKey = fc.constantFrom("alg", "kid", "typ", "crit", "jku", "jwk", "x5u", "b64", "zip");
  const claimKey = fc.constantFrom("iss", "aud", "sub", "exp", "iat", "nbf", "email", "org_id", "role", "permissions");
  return fc.oneof(
    fc.tuple(index, junk).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
    fc.tuple(index, junk).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i)),
    fc.tuple(index, fc.nat({ max: 40 })).map(([i, n]) => valid.slice(0, i) + valid.slice(i + n + 1)),
    fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc.constantFrom(`${p}.${h}.${s}`, `${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}..${s}`, `.${p}.${s}`, `${h}.${p}.`, `${valid}${valid}`, valid.toUpperCase(), valid.toLowerCase()),
    fc.tuple(headerKey, json).map(([k, v]) => `${segment({ ...decoded(h), [k]: v })}.${p}.${s}`),
    fc.tuple(claimKey, json).map(([k, v]) => `${h}.${segment({ ...decoded(p), [k]: v })}.${s}`),
    fc.constantFrom("none", "HS256", "RS384", "PS256", "ES256", "EdDSA", "rs256", "RS256 ").map((alg) => `${segment({ ...decoded(h), alg })}.${p}.${s}`),
    fc.tuple(fc.nat({ max: 255 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const sig = Buffer.from(s, "base64url");
      sig[i % sig.length] = sig[i % sig.length]! ^ x;
      return `${h}.${p}.${b64(sig)}`;
    }),
    fc.string({ maxLength: 64 }),
  );
}

interface Wrapped {
  event: unknown;
  token: string;
  /** True when the event carries `token` exactly once in a well-formed Bearer header. */
  clean: boolean;
}

/** Ways to put a token into an event, some well-formed and many not. */
function eventOf(token: fc.Arbitrary<string>): fc.Arbitrary<Wrapped> {
  const clean = (event: unknown, t: string): Wrapped => ({ event, token: t, clean: true });
  const dirty = (event: unknown, t: string): Wrapped => ({ event, token: t, clean: false });
  const scheme = fc.constantFrom("bearer ", "BEARER ", "Bearer  ", "Bearer\t", "Basic ", "", " Bearer ", "Token ");
  return fc.oneof(
    token.map((t) => clean(httpEvent(`Bearer ${t}`), t)),
    // TOKEN events carry no stage variables, so no app: always denied.
    token.map((t) => dirty(restTokenEvent(`Bearer ${t}`), t)),
    token.map((t) => clean(restRequestEvent({ Authorization: `Bearer ${t}` }), t)),
    fc.tuple(token, scheme).map(([t, sc]) => dirty(httpEvent(`${sc}${t}`), t)),
    fc.tuple(token, scheme).map(([t, sc]) => dirty(restTokenEvent(`${sc}${t}`), t)),
    token.map((t) => dirty(httpEvent(`Bearer ${t}, Bearer ${t}`), t)),
    token.map((t) => dirty(httpEvent(`Bearer ${t} `), t)),
    token.map((t) => dirty(restRequestEvent({ Authorization: `Bearer ${t}` }, { Authorization: [`Bearer ${t}`, `Bearer ${t}`] }), t)),
    token.map((t) => dirty(restRequestEvent({ Authorization: `Bearer ${t}`, AUTHORIZATION: `Bearer ${t}` }, {}), t)),
    token.map((t) => dirty({ ...httpEvent(), headers: { authorization: [`Bearer ${t}`] } }, t)),
    token.map((t) => dirty({ type: "TOKEN", authorizationToken: `Bearer ${t}`, methodArn: "not-an-arn" }, t)),
    token.map((t) => dirty({ version: "1.0", headers: { authorization: `Bearer ${t}` } }, t)),
    fc.tuple(token, fc.anything({ maxDepth: 2 })).map(([t, noise]) => dirty({ noise, authorization: `Bearer ${t}`, methodArn: METHOD_ARN }, t)),
    fc.anything({ maxDepth: 3 }).map((event) => dirty(event, "")),
  );
}

export interface PropertyFailure {
  kind: "threw" | "allowed";
  detail: string;
}

/** Property 1: returns the failure found in one case, if any. */
export async function checkMutated(f: Fixture, w: Wrapped): Promise<PropertyFailure | undefined> {
  let response: AuthorizerResponse;
  try {
    response = await f.authorizer.handle(w.event);
  } catch (error) {
    return { kind: "threw", detail: String(error) };
  }
  if (isAllowed(response) && !(w.clean && w.token === f.valid)) return { kind: "allowed", detail: JSON.stringify(w.event).slice(0, 2000) };
  return undefined;
}

export function mutationArbitrary(f: Fixture): fc.Arbitrary<Wrapped> {
  return eventOf(fc.oneof({ weight: 1, arbitrary: fc.constant(f.valid) }, { weight: 12, arbitrary: tokenMutation(f.valid) }));
}

/** Claims around "now": right, wrong, missing and mistyped. */
export function claimsArbitrary(now: number): fc.Arbitrary<Record<string, unknown>> {
  const time = fc.oneof(fc.integer({ min: now - 2000, max: now + 2000 }), fc.constantFrom(undefined, "123", null, now + 0.5, Number.MAX_SAFE_INTEGER));
  return fc.record({
    iss: fc.constantFrom(ISSUER, `${ISSUER}/`, "https://evil.test", undefined, 5),
    aud: fc.constantFrom(AUDIENCE, [AUDIENCE], ["x", AUDIENCE], "x", [], undefined, [5]),
    sub: fc.constantFrom("user_1", "", undefined, 7, null),
    exp: time,
    iat: time,
    nbf: fc.option(time, { nil: undefined }),
    role: fc.constantFrom("member", null, 3, undefined),
    permissions: fc.constantFrom({ a: ["read"] }, {}, { a: "read" }, { "a b": ["read"] }, undefined, []),
  });
}

/** Rules authplane adds on top of jose's: the only reasons a jose-accepted token may be denied. */
const STRICTER_THAN_JOSE: readonly DenyCode[] = [DENY.lifetime, DENY.claimInvalid, DENY.subMissing];

/** Property 2: our verdict never allows what jose refuses; returns the disagreement, if any. */
export async function checkAgainstJose(f: Fixture, payload: Record<string, unknown>, now: number): Promise<PropertyFailure | undefined> {
  const token = signRaw(f.key, { alg: "RS256", kid: KID, typ: "JWT" }, JSON.parse(JSON.stringify(payload)));
  let ours: DenyCode | "allow";
  try {
    await f.authorizer.verifier.verify(token, now);
    ours = "allow";
  } catch (error) {
    if (!(error instanceof Denied)) return { kind: "threw", detail: String(error) };
    ours = error.code;
  }
  let joseAllows: boolean;
  try {
    await jwtVerify(token, createLocalJWKSet({ keys: [f.key.jwk] }), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      clockTolerance: 5,
      maxTokenAge: 900,
      requiredClaims: ["exp", "iat", "sub"],
      currentDate: new Date(now * 1000),
    });
    joseAllows = true;
  } catch {
    joseAllows = false;
  }
  if (ours === "allow" && !joseAllows) return { kind: "allowed", detail: `jose refuses ${JSON.stringify(payload)}` };
  if (ours !== "allow" && joseAllows && !STRICTER_THAN_JOSE.includes(ours)) {
    return { kind: "allowed", detail: `denied ${ours} what jose accepts: ${JSON.stringify(payload)}` };
  }
  return undefined;
}
