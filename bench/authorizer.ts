/**
 * `npm run bench:authorizer`: what a verification costs next to the raw signature check it cannot
 * avoid. Prints one JSON line last:
 *   floor_us    p50 of a bare node:crypto verify (RS256) of a fresh token's signature
 *   verify_us   p50 of a fresh token through the authorizer's verify path with every check on:
 *               strict parse, key, verify, claims, then the stage's app and route permission
 *               (stage variables, a parsed route table) and the revocation feed (loaded from a
 *               local HTTP server, 1,000 entries)
 *   ratio       verify_us / floor_us, floor and verify measured interleaved in the same run
 *   handler_us  p50 of a fresh token through the whole synchronous decision (event in, response
 *               out: header parsing, the verified-token cache miss and fill, context, response)
 *   cached_us   p50 of a repeated token through the whole handler (event in, response out)
 *   bundle_bytes  the shipped bundle (buildFunction("authorizer"))
 *   cold_ms     median, in fresh `node` processes, of importing the bundle + the first verification
 *               with seeded keys (no network)
 * A benchmark, not a test: nothing here asserts a time.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { JWT_ALG, JWT_TTL_SECONDS } from "../functions/claims.js";
import { buildFunction } from "../functions/build.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { checkRequirement } from "../functions/authorizer/attachment.js";
import { createAuthorizer } from "../functions/authorizer/authorizer.js";
import { configFromEnv } from "../functions/authorizer/config.js";

const FRESH = 3000;
const WARMUP = 500;
const REPEATS = 20_000;
const COLD_RUNS = 7;

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = "bench-key";
const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: JWT_ALG, use: "sig" }] };
const env = {
  JWKS_URL: "https://auth.example.test/api/auth/jwks",
  JWT_ISSUER: "https://auth.example.test",
  JWT_AUDIENCE: "https://api.example.test",
  JWKS_SEED: JSON.stringify(jwks),
};

const seg = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const header = seg({ alg: JWT_ALG, kid, typ: "JWT" });

/** A token like the auth service's, unique through its jti. */
function token(i: number): string {
  const iat = Math.floor(Date.now() / 1000);
  const input = `${header}.${seg({
    iss: env.JWT_ISSUER,
    aud: env.JWT_AUDIENCE,
    sub: `user_${i}`,
    email: `user${i}@example.test`,
    org_id: "org_1",
    org_slug: "hiring",
    role: "recruiter",
    permissions: { candidate: ["read", "write"], job: ["read"] },
    iat,
    exp: iat + JWT_TTL_SECONDS,
    jti: `jti-${i}`,
  })}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const us = (start: bigint) => Number(process.hrtime.bigint() - start) / 1000;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

// A revocation feed as the auth service serves it, over real HTTP: 1,000 revoked subjects and
// sessions, none of them the bench's.
const iatNow = Math.floor(Date.now() / 1000);
const feed = JSON.stringify({
  version: 1,
  generated_at: iatNow,
  subjects: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`revoked_${i}`, iatNow])),
  sessions: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`session_${i}`, iatNow])),
});
const feedServer = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json", etag: '"v1"' }).end(feed));
await new Promise<void>((resolve) => feedServer.listen(0, "127.0.0.1", resolve));
const feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/revocations`;

const tokens = Array.from({ length: FRESH + WARMUP }, (_, i) => token(i));
const authorizer = createAuthorizer(configFromEnv({ ...env, REVOCATIONS_URL: feedUrl, REVOCATIONS_REFRESH_MS: "600000" }), { log: () => {}, metrics: () => {} });
const { verifier, attachments, revocations } = authorizer;
await revocations!.refresh();
if (revocations!.fetches !== 1 || revocations!.ready() !== undefined) throw new Error("revocation feed did not load");

const stageVariables = {
  authplane_app: "hiring",
  authplane_routes: Buffer.from(JSON.stringify({ "POST /candidates": "candidate:write", "GET /candidates/{id}": "candidate:read", "*": "job:read" })).toString("base64url"),
};
const eventFor = (t: string) => ({
  version: "2.0",
  type: "REQUEST",
  routeKey: "POST /candidates",
  routeArn: "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/$default/POST/candidates",
  headers: { authorization: `Bearer ${t}`, host: "api.example.test" },
  stageVariables,
  requestContext: { requestId: "bench" },
});

// floor and verify interleaved on the same tokens, so both see the same machine state.
const floor: number[] = [];
const fresh: number[] = [];
for (let i = 0; i < tokens.length; i++) {
  const t = tokens[i]!;
  const e = eventFor(t);
  const dot = t.lastIndexOf(".");
  const data = Buffer.from(t.slice(0, dot));
  const sig = Buffer.from(t.slice(dot + 1), "base64url");
  let start = process.hrtime.bigint();
  const ok = verify("sha256", data, publicKey, sig);
  const f = us(start);
  start = process.hrtime.bigint();
  // With the key held (seeded), the verify path is synchronous: timed as the handler runs it,
  // with the one clock reading per request the handler takes.
  const nowMs = Date.now();
  const claims = verifier.verify(t, Math.floor(nowMs / 1000), nowMs);
  if (claims instanceof Promise) throw new Error("verify path went async with a seeded key");
  checkRequirement(claims, attachments.requirementOf(e, "http-v2"));
  const pending = revocations!.ready(nowMs);
  const revoked = revocations!.check(claims.sub, claims.sid, claims.iat, nowMs);
  const v = us(start);
  if (pending || revoked) throw new Error("revocation check failed in the bench");
  if (!ok) throw new Error("bench token does not verify");
  if (i >= WARMUP) {
    floor.push(f);
    fresh.push(v);
  }
}

// The whole decision for fresh tokens (a second signer run: these tokens are new to the cache).
const handlerTokens = Array.from({ length: FRESH / 3 + WARMUP }, (_, i) => token(FRESH + WARMUP + COLD_RUNS + i));
const handlerTimes: number[] = [];
for (let i = 0; i < handlerTokens.length; i++) {
  const e = eventFor(handlerTokens[i]!);
  const start = process.hrtime.bigint();
  const response = authorizer.decide(e);
  const t = us(start);
  if (response instanceof Promise || !(response as { isAuthorized?: boolean }).isAuthorized) throw new Error("bench decision went async or denied");
  if (i >= WARMUP) handlerTimes.push(t);
}
feedServer.close();

const event = eventFor(tokens[0]!);
const cached: number[] = [];
for (let i = 0; i < REPEATS + WARMUP; i++) {
  const start = process.hrtime.bigint();
  const response = await authorizer.handle(event);
  const t = us(start);
  if (!(response as { isAuthorized?: boolean }).isAuthorized) throw new Error("bench token denied");
  if (i >= WARMUP) cached.push(t);
}

const built = await buildFunction("authorizer");
const bundle = pathToFileURL(join(built.outdir, "index.mjs")).href;
const child = `
const start = performance.now();
const { handler } = await import(${JSON.stringify(bundle)});
const response = await handler({ version: "2.0", type: "REQUEST", routeKey: "GET /x", stageVariables: { authplane_app: "hiring" }, headers: { authorization: "Bearer " + process.env.BENCH_TOKEN } });
if (!response.isAuthorized) throw new Error("cold verification denied");
process.stdout.write(String(performance.now() - start));
`;
const cold: number[] = [];
for (let i = 0; i < COLD_RUNS; i++) {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", child], {
    // Revocation off: a cold start's first feed load is a network round trip, not import cost.
    env: { PATH: process.env.PATH, ...env, REVOCATIONS_URL: "off", BENCH_TOKEN: token(FRESH + WARMUP + i) },
    encoding: "utf8",
  });
  cold.push(Number(out));
}

const floorUs = p50(floor);
const verifyUs = p50(fresh);
console.log(
  JSON.stringify({
    alg: JWT_ALG,
    floor_us: round(floorUs),
    verify_us: round(verifyUs),
    ratio: round(verifyUs / floorUs, 3),
    handler_us: round(p50(handlerTimes)),
    cached_us: round(p50(cached)),
    bundle_bytes: built.bytes,
    cold_ms: round(p50(cold)),
  }),
);
