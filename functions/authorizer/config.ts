/**
 * Authorizer settings from the environment. Checked by hand rather than with zod: zod alone is
 * several times the whole authorizer's 20 KB bundle budget, and there are only a handful of
 * variables, each a string, a list or a bounded integer.
 */
import { JWT_ALG, JWT_TTL_SECONDS } from "../claims.js";
import { SUPPORTED_ALGORITHMS, type JwsAlgorithm } from "./algorithms.js";

export interface AuthorizerConfig {
  /** Where the auth service publishes its public keys (https, or http on loopback for dev). */
  jwksUrl: URL;
  /** Exact `iss` every token must carry. */
  issuer: string;
  /** Accepted `aud` values; a token passes when any of its audiences is one of these. */
  audiences: readonly string[];
  /** Header `alg` values accepted. @default ["RS256"] (what the auth service signs with) */
  algorithms: readonly JwsAlgorithm[];
  /** Leeway for exp/nbf/iat against clock skew, in seconds. @default 5 */
  clockToleranceSeconds: number;
  /** Longest accepted `exp - iat`, in seconds. @default 900 (the auth service's token lifetime) */
  maxLifetimeSeconds: number;
  /** Largest accepted token, in characters. @default 8192 */
  maxTokenLength: number;
  /** Verified tokens remembered per instance. @default 1000 */
  cacheEntries: number;
  /** Least time between two JWKS fetches caused by unknown `kid`s, in ms. @default 30000 */
  jwksCooldownMs: number;
  /** Age after which cached keys are refreshed in the background, in ms. @default 600000 */
  jwksMaxAgeMs: number;
  /** Give up on a JWKS fetch after this long, in ms. @default 1500 */
  jwksTimeoutMs: number;
  /** Public keys known before any fetch (JSON JWKS in JWKS_SEED), so a cold start needs no network. */
  seedJwks?: unknown;
  /**
   * The auth service's revocation feed. @default JWKS_URL's origin + "/revocations";
   * REVOCATIONS_URL=off turns revocation off (tokens then live until they expire).
   */
  revocationsUrl: URL | undefined;
  /** Background refresh interval of the feed, in ms. @default 15000 */
  revocationsRefreshMs: number;
  /** Past this age of the last good copy every token is refused (revocations_stale), in ms. @default 300000 */
  revocationsMaxStaleMs: number;
  /** Least time between two metric flushes (EMF log lines), in ms. @default 10000 */
  metricsFlushMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** Reads and checks the environment; throws a ConfigError naming the first bad variable. */
export function configFromEnv(env: Env = process.env): AuthorizerConfig {
  const jwks = httpsUrl("JWKS_URL", required(env, "JWKS_URL"));
  const refreshMs = int(env, "REVOCATIONS_REFRESH_MS", 15_000, 100, 3_600_000);
  return {
    jwksUrl: jwks,
    issuer: required(env, "JWT_ISSUER"),
    audiences: list(required(env, "JWT_AUDIENCE")),
    algorithms: algorithms(env.JWT_ALGORITHMS),
    clockToleranceSeconds: int(env, "JWT_CLOCK_TOLERANCE_SECONDS", 5, 0, 300),
    maxLifetimeSeconds: int(env, "JWT_MAX_LIFETIME_SECONDS", JWT_TTL_SECONDS, 1, 86_400),
    maxTokenLength: int(env, "JWT_MAX_TOKEN_LENGTH", 8192, 256, 65_536),
    cacheEntries: int(env, "JWT_CACHE_ENTRIES", 1000, 0, 100_000),
    jwksCooldownMs: int(env, "JWKS_COOLDOWN_MS", 30_000, 0, 3_600_000),
    jwksMaxAgeMs: int(env, "JWKS_MAX_AGE_MS", 600_000, 1000, 86_400_000),
    jwksTimeoutMs: int(env, "JWKS_TIMEOUT_MS", 1500, 100, 30_000),
    seedJwks: seed(env.JWKS_SEED),
    revocationsUrl: revocationsUrl(env.REVOCATIONS_URL, jwks),
    revocationsRefreshMs: refreshMs,
    revocationsMaxStaleMs: int(env, "REVOCATIONS_MAX_STALE_MS", 300_000, refreshMs, 86_400_000),
    metricsFlushMs: int(env, "METRICS_FLUSH_MS", 10_000, 0, 600_000),
  };
}

function revocationsUrl(value: string | undefined, jwks: URL): URL | undefined {
  const raw = value?.trim();
  if (raw === "off") return undefined;
  if (!raw) return new URL("/revocations", jwks.origin);
  return httpsUrl("REVOCATIONS_URL", raw);
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
}

function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

function httpsUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${value}`);
  }
  const loopback = url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new ConfigError(`${name} must be https (plain http only on loopback)`);
  }
  return url;
}

function algorithms(value: string | undefined): JwsAlgorithm[] {
  if (value === undefined || value.trim() === "") return [JWT_ALG];
  const algs = list(value);
  for (const alg of algs) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(`JWT_ALGORITHMS: "${alg}" is not one of ${SUPPORTED_ALGORITHMS.join(", ")}`);
    }
  }
  return algs as JwsAlgorithm[];
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function seed(value: string | undefined): unknown {
  if (!value?.trim()) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError("JWKS_SEED is not JSON");
  }
}
