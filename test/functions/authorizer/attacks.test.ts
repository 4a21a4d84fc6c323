import { createHmac, createPublicKey } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { JWK } from "jose";
import { DENY, type DenyCode } from "../../../functions/authorizer/deny-codes.js";
import {
  b64,
  claims,
  httpEvent,
  KID,
  nowSeconds,
  restRequestEvent,
  restTokenEvent,
  rsaKey,
  seededAuthorizer,
  segment,
  sign,
  signRaw,
  type SigningKey,
} from "./support.js";

let key: SigningKey;
let valid: string;

beforeAll(async () => {
  key = await rsaKey();
  valid = await sign(key);
});

/** Runs `event` through a seeded authorizer; returns whether it was allowed and the deny code logged. */
async function decide(event: unknown, keys: JWK[] = [key.jwk], overrides = {}) {
  const { authorizer, logs } = seededAuthorizer(keys, overrides);
  const response = await authorizer.handle(event);
  const deny = logs.find((line) => line.msg === "authorizer.deny");
  return { response, reason: deny?.reason, logs };
}

async function expectDenied(token: string, code: DenyCode, overrides = {}, keys?: JWK[]) {
  const { response, reason, logs } = await decide(httpEvent(`Bearer ${token}`), keys, overrides);
  expect(response).toEqual({ isAuthorized: false });
  expect(reason).toBe(code);
  // The token is never logged, not even in part.
  const logged = JSON.stringify(logs);
  for (const part of token.split(".")) if (part.length > 8) expect(logged).not.toContain(part);
}

function reseal(token: string, edit: { header?: (h: any) => any; payload?: (p: any) => any; signature?: string }) {
  const [h, p, s] = token.split(".");
  const header = edit.header ? segment(edit.header(JSON.parse(Buffer.from(h!, "base64url").toString()))) : h;
  const payload = edit.payload ? segment(edit.payload(JSON.parse(Buffer.from(p!, "base64url").toString()))) : p;
  return `${header}.${payload}.${edit.signature ?? s}`;
}

describe("a valid token", () => {
  it("is allowed on an HTTP API with the identity as context", async () => {
    const { response, logs } = await decide(httpEvent(`Bearer ${valid}`));
    expect(response).toEqual({
      isAuthorized: true,
      context: {
        sub: "user_123",
        email: "ada@example.test",
        org_id: "org_1",
        org_slug: "hiring",
        role: "recruiter,member",
        permissions: "candidate:read candidate:write job:read",
      },
    });
    expect(logs).toEqual([]);
  });

  it("is denied on a REST TOKEN authorizer, which carries no stage variables (attach as REQUEST)", async () => {
    const { response, reason } = await decide(restTokenEvent(`Bearer ${valid}`));
    expect(reason).toBe(DENY.appNotConfigured);
    expect(response).toMatchObject({ principalId: "unauthorized", policyDocument: { Statement: [{ Effect: "Deny" }] } });
  });

  it("is allowed on a REST REQUEST authorizer with a stage-wide policy and the same context", async () => {
    const { response } = await decide(restRequestEvent({ Authorization: `Bearer ${valid}` }));
    expect(response).toMatchObject({
      principalId: "user_123",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/*" }],
      },
      context: { sub: "user_123", org_slug: "hiring", permissions: "candidate:read candidate:write job:read" },
    });
  });

  it("is allowed on a REST REQUEST authorizer", async () => {
    const { response } = await decide(restRequestEvent({ Authorization: `Bearer ${valid}` }));
    expect(response).toMatchObject({ principalId: "user_123", policyDocument: { Statement: [{ Effect: "Allow" }] } });
  });

  it("is allowed when aud is an array holding our audience, and null org claims are left out (on a platform-wide API)", async () => {
    const token = await sign(key, claims({ aud: ["other", "https://api.example.test"], org_id: null, org_slug: null, role: null, permissions: {} }));
    const { response } = await decide(httpEvent(`Bearer ${token}`, {}, { authplane_app: "*" }));
    expect(response).toEqual({ isAuthorized: true, context: { sub: "user_123", email: "ada@example.test", permissions: "" } });
  });
});

describe("every attack is denied with its own code", () => {
  it("alg none", async () => {
    const token = `${segment({ alg: "none", kid: KID })}.${segment(claims())}.`;
    await expectDenied(token, DENY.algNotAllowed);
  });

  it("HS256 signed with the public key (alg confusion)", async () => {
    const pem = createPublicKey({ key: key.jwk as never, format: "jwk" }).export({ type: "spki", format: "pem" });
    const input = `${segment({ alg: "HS256", kid: KID, typ: "JWT" })}.${segment(claims())}`;
    const token = `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    await expectDenied(token, DENY.algNotAllowed);
    // Even if an operator listed it, HS256 is not an algorithm the authorizer knows.
    await expect(import("../../../functions/authorizer/config.js").then((m) => m.configFromEnv({ JWKS_URL: "https://a.test/jwks", JWT_ISSUER: "i", JWT_AUDIENCE: "a", JWT_ALGORITHMS: "HS256" }))).rejects.toThrow(/JWT_ALGORITHMS/);
  });

  it("an unknown kid fails closed", async () => {
    await expectDenied(await sign(key, claims(), { kid: "someOtherKid" }), DENY.noMatchingKey);
  });

  it.each([
    ["a path", "../../../etc/passwd"],
    ["SQL", "' OR '1'='1' --"],
    ["a very long kid", "k".repeat(1000)],
    ["a non-string kid", 42],
  ])("an injected kid: %s", async (_name, kid) => {
    await expectDenied(await sign(key, claims(), { kid }), DENY.kidInvalid);
  });

  it("no kid", async () => {
    await expectDenied(reseal(valid, { header: ({ kid: _kid, ...h }) => h }), DENY.kidMissing);
  });

  it("expired", async () => {
    const now = nowSeconds();
    await expectDenied(await sign(key, claims({ iat: now - 960, exp: now - 60 })), DENY.expired);
  });

  it("nbf in the future", async () => {
    await expectDenied(await sign(key, claims({ nbf: nowSeconds() + 120 })), DENY.notYetValid);
  });

  it("iat in the future", async () => {
    const now = nowSeconds();
    await expectDenied(await sign(key, claims({ iat: now + 120, exp: now + 900 })), DENY.issuedInFuture);
  });

  it("a lifetime longer than configured", async () => {
    const now = nowSeconds();
    await expectDenied(await sign(key, claims({ iat: now, exp: now + 3600 })), DENY.lifetime);
  });

  it("wrong iss", async () => {
    await expectDenied(await sign(key, claims({ iss: "https://evil.test" })), DENY.issuer);
  });

  it("wrong aud", async () => {
    await expectDenied(await sign(key, claims({ aud: "https://other-api.test" })), DENY.audience);
  });

  it("missing exp", async () => {
    await expectDenied(await sign(key, claims({ exp: undefined })), DENY.expMissing);
  });

  it("missing iat", async () => {
    await expectDenied(await sign(key, claims({ iat: undefined })), DENY.iatMissing);
  });

  it("missing sub", async () => {
    await expectDenied(await sign(key, claims({ sub: undefined })), DENY.subMissing);
  });

  it("a permission name that would smuggle another permission", async () => {
    await expectDenied(await sign(key, claims({ permissions: { candidate: ["read admin:all"] } })), DENY.claimInvalid);
  });

  it("a tampered header", async () => {
    await expectDenied(reseal(valid, { header: (h) => ({ ...h, typ: "at+jwt" }) }), DENY.signature);
  });

  it("a tampered payload", async () => {
    await expectDenied(reseal(valid, { payload: (p) => ({ ...p, role: "owner" }) }), DENY.signature);
  });

  it("a tampered signature", async () => {
    const sig = Buffer.from(valid.split(".")[2]!, "base64url");
    sig[10] = sig[10]! ^ 1;
    await expectDenied(reseal(valid, { signature: b64(sig) }), DENY.signature);
  });

  it("a critical header extension", async () => {
    await expectDenied(signRaw(key, { alg: "RS256", kid: KID, crit: ["exp"], exp: 1 }, claims()), DENY.crit);
  });

  it("a key of the wrong type for the header alg", async () => {
    const { alg: _alg, ...unbound } = key.jwk;
    const token = `${segment({ alg: "ES256", kid: KID })}.${segment(claims())}.${b64(Buffer.alloc(64, 7))}`;
    await expectDenied(token, DENY.keyType, { algorithms: ["RS256", "ES256"] }, [unbound]);
  });

  it("an oversized token", async () => {
    await expectDenied(`${valid}${"A".repeat(9000)}`, DENY.tooLarge);
  });

  it("a segment outside the base64url alphabet", async () => {
    const [h, p, s] = valid.split(".");
    await expectDenied(`${h}.${p!.slice(0, -2)}+/.${s}`, DENY.base64url);
  });

  it("a non-canonical base64url signature (same bytes, different string)", async () => {
    const [h, p, s] = valid.split(".");
    const last = s!.at(-1)!;
    // 256 signature bytes leave 4 unused bits in the last character; setting one keeps the bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    expect(Buffer.from(`${s!.slice(0, -1)}${twin}`, "base64url")).toEqual(Buffer.from(s!, "base64url"));
    await expectDenied(`${h}.${p}.${s!.slice(0, -1)}${twin}`, DENY.base64url);
  });

  it("a segment that is not JSON", async () => {
    await expectDenied(`${b64("not json")}.${valid.split(".")[1]}.${valid.split(".")[2]}`, DENY.json);
    await expectDenied(`${segment(["alg", "RS256"])}.${valid.split(".")[1]}.${valid.split(".")[2]}`, DENY.json);
  });

  it("two segments", async () => {
    await expectDenied(valid.split(".").slice(0, 2).join("."), DENY.segments);
  });

  it("four segments", async () => {
    await expectDenied(`${valid}.${valid.split(".")[2]}`, DENY.segments);
  });
});

describe("a bad Authorization header is denied with its own code", () => {
  async function reasonFor(event: unknown) {
    const { response, reason } = await decide(event);
    expect(JSON.stringify(response)).not.toContain("Allow");
    expect(response).not.toMatchObject({ isAuthorized: true });
    return reason;
  }

  it("missing", async () => {
    expect(await reasonFor(httpEvent())).toBe(DENY.headerMissing);
    expect(await reasonFor(restTokenEvent())).toBe(DENY.headerMissing);
  });

  it("not Bearer", async () => {
    expect(await reasonFor(httpEvent(`Basic ${b64("ada:secret")}`))).toBe(DENY.schemeNotBearer);
    expect(await reasonFor(httpEvent(valid))).toBe(DENY.schemeNotBearer);
  });

  it("lower-case bearer", async () => {
    expect(await reasonFor(httpEvent(`bearer ${valid}`))).toBe(DENY.schemeCase);
  });

  it("duplicated, in each way API Gateway shows it", async () => {
    expect(await reasonFor(httpEvent(`Bearer ${valid},Bearer ${valid}`))).toBe(DENY.headerDuplicate);
    expect(await reasonFor(restRequestEvent({ Authorization: `Bearer ${valid}` }, { Authorization: [`Bearer ${valid}`, `Bearer ${valid}`] }))).toBe(DENY.headerDuplicate);
    expect(await reasonFor(restRequestEvent({ Authorization: `Bearer ${valid}`, authorization: `Bearer ${valid}` }, {}))).toBe(DENY.headerDuplicate);
  });

  it("an event of no known shape is denied in both response dialects", async () => {
    const { response, reason } = await decide({ hello: "world", headers: { authorization: `Bearer ${valid}` } });
    expect(reason).toBe(DENY.eventShape);
    expect(response).toMatchObject({ isAuthorized: false, policyDocument: { Statement: [{ Effect: "Deny", Resource: "*" }] } });
  });

  it("a REST deny is a Deny policy, not an exception", async () => {
    const { response, reason } = await decide(restRequestEvent({ Authorization: "Bearer nope" }));
    expect(reason).toBe(DENY.segments);
    expect(response).toEqual({
      principalId: "unauthorized",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/*" }],
      },
    });
  });
});
