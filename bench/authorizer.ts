/**
 * `npm run bench:authorizer`: what a verification costs next to the raw signature check it cannot
 * avoid. Prints one JSON line last:
 *   floor_us    p50 of a bare node:crypto verify (RS256) of a fresh token's signature
 *   verify_us   p50 of a fresh token through the authorizer's verify path (parse, key, verify, claims)
 *   ratio       verify_us / floor_us, floor and verify measured interleaved in the same run
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

const tokens = Array.from({ length: FRESH + WARMUP }, (_, i) => token(i));
const authorizer = createAuthorizer(configFromEnv(env), { log: () => {} });
const { verifier } = authorizer;

// floor and verify interleaved on the same tokens, so both see the same machine state.
const floor: number[] = [];
const fresh: number[] = [];
for (let i = 0; i < tokens.length; i++) {
  const t = tokens[i]!;
  const dot = t.lastIndexOf(".");
  const data = Buffer.from(t.slice(0, dot));
  const sig = Buffer.from(t.slice(dot + 1), "base64url");
  let start = process.hrtime.bigint();
  const ok = verify("sha256", data, publicKey, sig);
  const f = us(start);
  start = process.hrtime.bigint();
  // With the key held (seeded), the verify path is synchronous: timed as the handler runs it.
  const claims = verifier.verify(t);
  const v = us(start);
  if (claims instanceof Promise) throw new Error("verify path went async with a seeded key");
  if (!ok) throw new Error("bench token does not verify");
  if (i >= WARMUP) {
    floor.push(f);
    fresh.push(v);
  }
}

const event = {
  version: "2.0",
  type: "REQUEST",
  routeArn: "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/$default/GET/x",
  headers: { authorization: `Bearer ${tokens[0]}`, host: "api.example.test" },
  requestContext: { requestId: "bench" },
};
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
const response = await handler({ version: "2.0", type: "REQUEST", headers: { authorization: "Bearer " + process.env.BENCH_TOKEN } });
if (!response.isAuthorized) throw new Error("cold verification denied");
process.stdout.write(String(performance.now() - start));
`;
const cold: number[] = [];
for (let i = 0; i < COLD_RUNS; i++) {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", child], {
    env: { PATH: process.env.PATH, ...env, BENCH_TOKEN: token(FRESH + WARMUP + i) },
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
    cached_us: round(p50(cached)),
    bundle_bytes: built.bytes,
    cold_ms: round(p50(cold)),
  }),
);
