/**
 * The verification fast path: strict compact-JWS parse, algorithm allow-list, key by `kid`, one
 * node:crypto signature check with a KeyObject imported once, then the full claims checks. jose's
 * `jwtVerify` would do the same through WebCrypto at 2–5× the cost of the raw verify; the attack
 * tests and a differential property test against jose hold this path to jose's verdicts.
 */
import type { JwsAlgorithm, VerificationKey } from "./algorithms.js";
import { checkClaims, type ClaimsPolicy, type VerifiedClaims } from "./claims-check.js";
import { DENY, Denied } from "./deny-codes.js";
import { parseCompactJws, signatureFailure, type ParsedJws } from "./jws.js";

/** Where keys come from: a synchronous look-up first, an async one (may fetch) on a miss. */
export interface KeySource {
  /** `now` in ms, when the caller has read the clock already. */
  peek(kid: string, now?: number): VerificationKey | undefined;
  get(kid: string): Promise<VerificationKey | undefined>;
}

export interface VerifierOptions extends ClaimsPolicy {
  algorithms: readonly JwsAlgorithm[];
  maxTokenLength: number;
}

/**
 * Key ids are opaque look-up keys, never paths or queries; anything beyond a plain token alphabet
 * (slashes, quotes, spaces, kilobytes of padding) is refused before it reaches the key set.
 */
const KID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Distinct signed headers remembered; the auth service uses one per signing key. */
const KNOWN_HEADERS = 16;

export class TokenVerifier {
  private readonly knownHeaders = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly options: VerifierOptions,
    private readonly keys: KeySource,
  ) {}

  /**
   * Verifies `token` at `now` (seconds since the epoch) and returns its claims; throws (or, when
   * the key had to be fetched, rejects with) Denied otherwise. Synchronous whenever the key is
   * already held, which is every request but the first few of an instance: no promise on the
   * hot path.
   */
  verify(token: string, now = Math.floor(Date.now() / 1000), nowMs = now * 1000): VerifiedClaims | Promise<VerifiedClaims> {
    const jws = parseCompactJws(token, this.options.maxTokenLength, this.knownHeaders);
    const { header } = jws;
    // No extension is understood, so none may be declared critical (RFC 7515 §4.1.11).
    if (header.crit !== undefined) throw new Denied(DENY.crit, "crit");
    const alg = header.alg;
    if (typeof alg !== "string" || !(this.options.algorithms as readonly string[]).includes(alg)) {
      throw new Denied(DENY.algNotAllowed, "alg");
    }
    const kid = header.kid;
    if (kid === undefined) throw new Denied(DENY.kidMissing, "kid");
    if (typeof kid !== "string" || !KID.test(kid)) throw new Denied(DENY.kidInvalid, "kid");
    const key = this.keys.peek(kid, nowMs);
    if (key) return this.finish(jws, alg as JwsAlgorithm, key, now);
    return this.keys.get(kid).then((fetched) => {
      if (!fetched) throw new Denied(DENY.noMatchingKey, "kid");
      return this.finish(jws, alg as JwsAlgorithm, fetched, now);
    });
  }

  private finish(jws: ParsedJws, alg: JwsAlgorithm, key: VerificationKey, now: number): VerifiedClaims {
    const check = key.checks[alg];
    if (!check) throw new Denied(DENY.keyType, "alg");
    let valid: boolean;
    try {
      valid = check(jws.signingInput, jws.signature);
    } catch {
      valid = false;
    }
    if (!valid) throw signatureFailure(jws);
    // Only headers the issuer really signed are remembered, so junk cannot crowd them out.
    if (this.knownHeaders.size < KNOWN_HEADERS && !this.knownHeaders.has(jws.headerPart)) {
      this.knownHeaders.set(jws.headerPart, Object.freeze(jws.header));
    }
    return checkClaims(jws.payload, this.options, now);
  }
}
