/**
 * The auth service's public keys, per Lambda instance. Keys are fetched once and then served from
 * memory; an unknown `kid` may trigger a refetch, but at most one per cool-down, so a flood of
 * made-up kids cannot turn the authorizer into a JWKS hammer. When the endpoint is down, the keys
 * already held keep working and unknown kids are refused (fail closed). Seeded keys (JWKS_SEED)
 * make a cold start network-free until a kid the seed lacks shows up or the keys age out.
 */
import { importVerificationKey, type JwsAlgorithm, type VerificationKey } from "./algorithms.js";

export interface JwksCacheOptions {
  url: URL;
  algorithms: readonly JwsAlgorithm[];
  /** Least time between two fetches caused by unknown kids, in ms. */
  cooldownMs: number;
  /** Age after which keys are refreshed in the background, in ms. */
  maxAgeMs: number;
  /** Abort a fetch after this long, in ms. */
  timeoutMs: number;
  /** A JWKS (`{ keys: [...] }`) to start from. */
  seed?: unknown;
  /** Told about failed fetches (never given key material). @default no-op */
  onFetchError?: (reason: string) => void;
  /** Milliseconds clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

/** First retry after a failed cold-start fetch, doubled per further failure. */
const FIRST_RETRY_MS = 1000;

/** Largest JWKS document accepted; a real one is a few KB. */
const MAX_JWKS_BYTES = 256 * 1024;

export class JwksCache {
  private keys = new Map<string, VerificationKey>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** Consecutive failed fetches. */
  private failures = 0;
  private readonly now: () => number;
  /** Fetch attempts made so far (for tests and metrics). */
  fetches = 0;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
    if (options.seed !== undefined) {
      const seeded = importKeySet(options.seed, options.algorithms);
      if (!seeded) throw new Error("JWKS seed holds no usable key for the allowed algorithms");
      this.keys = seeded;
      this.loadedAt = this.now();
    }
  }

  /** The key for `kid` if held now; starts a background refresh when the keys are old. */
  peek(kid: string, now = this.now()): VerificationKey | undefined {
    if (now - this.loadedAt > this.options.maxAgeMs && now - this.lastAttempt >= this.options.cooldownMs) {
      void this.refresh();
    }
    return this.keys.get(kid);
  }

  /** The key for `kid`, fetching the JWKS when it is unknown and the cool-down allows. */
  async get(kid: string): Promise<VerificationKey | undefined> {
    const held = this.peek(kid);
    if (held) return held;
    if (this.inflight) await this.inflight;
    else if (this.now() - this.lastAttempt >= this.retryAfterMs()) await this.refresh();
    return this.keys.get(kid);
  }

  /**
   * Least time before the next fetch for an unknown kid. Once keys are held, the cool-down: a
   * made-up kid must not turn into a fetch per request. With none held yet (a cold start whose
   * fetch failed), every token is refused until a fetch succeeds, so retry soon and back off:
   * 1 s, 2 s, 4 s, … up to the cool-down.
   */
  private retryAfterMs(): number {
    if (this.keys.size > 0 || this.failures === 0) return this.options.cooldownMs;
    return Math.min(this.options.cooldownMs, FIRST_RETRY_MS * 2 ** (this.failures - 1));
  }

  /** Fetches the JWKS once (concurrent callers share the fetch); never rejects. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = this.now();
    this.fetches++;
    try {
      const response = await fetch(this.options.url, {
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!response.ok) throw new Error(`JWKS endpoint answered ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error("JWKS document too large");
      const keys = importKeySet(JSON.parse(text), this.options.algorithms);
      // An empty or unusable set is far likelier a broken endpoint than a deliberate revocation of
      // every key; keep serving what we have.
      if (!keys) throw new Error("JWKS document holds no usable key");
      this.keys = keys;
      this.loadedAt = this.now();
      this.failures = 0;
    } catch (error) {
      this.failures++;
      this.options.onFetchError?.(error instanceof Error ? error.message : "JWKS fetch failed");
    }
  }
}

function importKeySet(jwks: unknown, algorithms: readonly JwsAlgorithm[]): Map<string, VerificationKey> | undefined {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) return undefined;
  const keys = new Map<string, VerificationKey>();
  for (const jwk of list) {
    const key = importVerificationKey(jwk, algorithms);
    if (key && !keys.has(key.kid)) keys.set(key.kid, key);
  }
  return keys.size > 0 ? keys : undefined;
}
