/**
 * CPU per token of the signing step alone, for `bench:service`: process CPU time (user + system,
 * every thread, so libuv's pool counts too) over 2,000 signatures, eight in flight, and beside
 * it the main thread's share alone (Linux schedstat, nanoseconds): the async crypto.sign runs
 * OpenSSL on libuv's pool, so the event loop pays only for building and encoding the token.
 *   ours: the service's path (signing-key.ts: the KeyObject held in memory, async crypto.sign).
 *   seed: what Better Auth's jwt plugin does per token without `jwt.sign`: decrypt the stored
 *         private key with the auth secret, import it, sign through jose/WebCrypto.
 *   raw:  a bare async crypto.sign of a token-sized input, the floor neither path can go under.
 */
import { symmetricDecrypt, symmetricEncrypt } from "better-auth/crypto";
import { importJWK, SignJWT } from "jose";
import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { signCompact } from "../functions/auth/signing-key.js";

const N = 2000;
const IN_FLIGHT = 8;
const SECRET = "bench-secret-0123456789abcdef0123456789abcdef";

/** The main thread's CPU time in ns (its tid is the pid), or undefined off Linux. */
function mainThreadNs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return undefined;
  }
}

interface CpuPerCall {
  /** Every thread, ms per call. */
  all: number;
  /** The main (event loop) thread alone, ms per call; null where schedstat is unavailable. */
  main: number | null;
}

const ms3 = (n: number) => Math.round(n * 1000) / 1000;

async function cpuPerCall(fn: (i: number) => Promise<unknown>): Promise<CpuPerCall> {
  for (let i = 0; i < 200; i++) await fn(i); // warm up
  const mainStart = mainThreadNs();
  const start = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) await fn(next++);
    }),
  );
  const used = process.cpuUsage(start);
  const mainEnd = mainThreadNs();
  return {
    all: ms3((used.user + used.system) / 1000 / N),
    main: mainStart === undefined || mainEnd === undefined ? null : ms3((mainEnd - mainStart) / 1e6 / N),
  };
}

export async function measureMintCpu(): Promise<{ ours: CpuPerCall; seed: CpuPerCall; raw: CpuPerCall }> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  const stored = JSON.stringify(await symmetricEncrypt({ key: SECRET, data: JSON.stringify(jwk) }));
  const key = { kid: "bench", alg: "RS256", key: createPrivateKey({ key: jwk, format: "jwk" }) };
  const payload = (i: number) => {
    const iat = Math.floor(Date.now() / 1000);
    return { iat, sub: `user_${i}`, email: "bench@example.org", org_id: "org_bench", org_slug: "hiring", role: "recruiter", permissions: { candidate: ["read", "update"], job: ["read"] }, exp: iat + 900, iss: "https://auth.example.org", aud: "bench" };
  };
  const ours = await cpuPerCall((i) => signCompact(payload(i), undefined, key));
  const seed = await cpuPerCall(async (i) => {
    const decrypted = await symmetricDecrypt({ key: SECRET, data: JSON.parse(stored) });
    const imported = await importJWK(JSON.parse(decrypted), "RS256");
    const p = payload(i);
    return new SignJWT(p).setProtectedHeader({ alg: "RS256", kid: "bench" }).setExpirationTime(p.exp).setIssuer(p.iss).setAudience(p.aud).setIssuedAt(p.iat).setSubject(p.sub).sign(imported);
  });
  const input = Buffer.from(`${"h".repeat(60)}.${Buffer.from(JSON.stringify(payload(0))).toString("base64url")}`);
  const raw = await cpuPerCall(() => new Promise((resolve, reject) => sign("sha256", input, key.key, (err, sig) => (err ? reject(err) : resolve(sig)))));
  return { ours, seed, raw };
}
