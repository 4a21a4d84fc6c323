/**
 * RFC 7515 §2/§3.1: every compact JWS segment is unpadded base64url. A "=" or any character outside
 * [A-Za-z0-9_-], in the header, the payload or the signature, makes the token malformed: denied as
 * ERR_JWS_BASE64URL naming the segment, before any key is looked up (so no JWKS fetch either).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer, type LogLine } from "../../../functions/authorizer/authorizer.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { decodeBase64urlStrict } from "../../../functions/authorizer/jws.js";
import { b64, httpEvent, jwksServer, rsaKey, segment, sign, testConfig, type SigningKey } from "./support.js";

let key: SigningKey;
let valid: string;
beforeAll(async () => {
  key = await rsaKey();
  valid = await sign(key);
});

/** A character that is not base64url, in every spelling that could slip through a lenient decoder. */
const STRAYS = ["=", "==", "+", "/", " ", "\t", "\n", ".", "%", "*", "\u0000", "é", "\u00ff", "😀", "\\", "~"];

async function reasonFor(token: string, seed: SigningKey[] = [key]) {
  const logs: LogLine[] = [];
  const authorizer = createAuthorizer(testConfig(seed.map((k) => k.jwk)), { log: (l) => logs.push(l) });
  const response = await authorizer.handle(httpEvent(`Bearer ${token}`));
  expect(response).toEqual({ isAuthorized: false });
  const deny = logs.find((l) => l.msg === "authorizer.deny");
  return { reason: deny?.reason, field: deny?.field };
}

describe("strict base64url segments", () => {
  it("the decoder accepts exactly the canonical alphabet, unpadded", () => {
    expect(decodeBase64urlStrict("")).toEqual(Buffer.alloc(0));
    expect(decodeBase64urlStrict("AQID")).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeBase64urlStrict("AQI")).toEqual(Buffer.from([1, 2]));
    expect(decodeBase64urlStrict("AQ")).toEqual(Buffer.from([1]));
    expect(decodeBase64urlStrict("-_-_")).toEqual(Buffer.from("-_-_", "base64url"));
    for (const bad of ["A", "AQ==", "AQI=", "AQ=I", "AQ I", "AQ\u00e9I", "AQIDA"]) expect(decodeBase64urlStrict(bad), JSON.stringify(bad)).toBeUndefined();
  });

  it.each(["header", "payload", "signature"] as const)("a stray character anywhere in the %s is malformed", async (part) => {
    const segments = valid.split(".") as [string, string, string];
    const index = { header: 0, payload: 1, signature: 2 }[part];
    for (const stray of STRAYS) {
      if (stray === ".") continue; // a dot is a segment count error, tested elsewhere
      const s = segments[index]!;
      for (const at of [0, Math.floor(s.length / 2), s.length]) {
        const edited = [...segments];
        edited[index] = `${s.slice(0, at)}${stray}${s.slice(at)}`;
        expect(await reasonFor(edited.join(".")), `${JSON.stringify(stray)} at ${at} of the ${part}`).toEqual({ reason: DENY.base64url, field: part });
      }
    }
  });

  it("padding a segment to a multiple of four is malformed, though every decoder would read the same bytes", async () => {
    const [h, p, s] = valid.split(".") as [string, string, string];
    const pad = (x: string) => x + "=".repeat((4 - (x.length % 4)) % 4 || 4);
    expect(await reasonFor(`${pad(h)}.${p}.${s}`)).toEqual({ reason: DENY.base64url, field: "header" });
    expect(await reasonFor(`${h}.${pad(p)}.${s}`)).toEqual({ reason: DENY.base64url, field: "payload" });
    expect(await reasonFor(`${h}.${p}.${pad(s)}`)).toEqual({ reason: DENY.base64url, field: "signature" });
  });

  it("a header signed with padding by someone holding a real key is still refused", async () => {
    const { signRaw } = await import("./support.js");
    const token = signRaw(key, { alg: "RS256", kid: key.kid, typ: "JWT" }, JSON.parse(Buffer.from(valid.split(".")[1]!, "base64url").toString()));
    const [h, p] = token.split(".") as [string, string];
    const { sign: cryptoSign, KeyObject } = await import("node:crypto");
    const padded = `${h}==`;
    const input = `${padded}.${p}`;
    const forged = `${input}.${b64(cryptoSign("sha256", Buffer.from(input), KeyObject.from(key.privateKey)))}`;
    expect(await reasonFor(forged)).toEqual({ reason: DENY.base64url, field: "header" });
  });

  it("non-ASCII claims (inside the base64url) still decode as UTF-8", async () => {
    const { claims } = await import("./support.js");
    const token = await sign(key, claims({ email: "zoë.😀@example.test" }));
    const authorizer = createAuthorizer(testConfig([key.jwk]), { log: () => {} });
    expect(await authorizer.handle(httpEvent(`Bearer ${token}`))).toMatchObject({ isAuthorized: true, context: { email: "zoë.😀@example.test" } });
  });

  it("a malformed token never reaches the JWKS, even with an unknown kid", async () => {
    const server = await jwksServer(() => ({ keys: [key.jwk] }));
    try {
      const authorizer = createAuthorizer(testConfig([], { jwksUrl: server.url, seedJwks: undefined }), { log: () => {} });
      const other = await rsaKey("unknown-kid");
      const [h, p, s] = (await sign(other)).split(".") as [string, string, string];
      for (const token of [`${h}=.${p}.${s}`, `${h}.${p}+.${s}`, `${h}.${p}.${s}/`, `${segment({ alg: "RS256", kid: "x" })}.${p} .${s}`]) {
        expect(await authorizer.handle(httpEvent(`Bearer ${token}`))).toEqual({ isAuthorized: false });
      }
      expect(server.state.requests).toBe(0);
    } finally {
      await server.close();
    }
  });
});
