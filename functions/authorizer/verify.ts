/**
 * The verification fast path: strict compact-JWS parse, algorithm allow-list, key by `kid`, one
 * node:crypto signature check with a KeyObject imported once, then the full claims checks. jose's
 * `jwtVerify` would do the same through WebCrypto at 2–5× the cost of the raw verify; the attack
 * tests and a differential property test against jose hold this path to jose's verdicts.
 */
import type { JwsAlgorithm, VerificationKey } from "./algorithms.js";
import { checkClaims, type ClaimsPolicy, type VerifiedClaims } from "./claims-check.js";
import { DENY, Denied } from "./deny-codes.js";
import { parseCompactJws } from "./jws.js";

/** Where keys come from: a synchronous look-up first, an async one (may fetch) on a miss. */
export interface KeySource {
  peek(kid: string): VerificationKey | undefined;
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

export class TokenVerifier {
  constructor(
    private readonly options: VerifierOptions,
    private readonly keys: KeySource,
  ) {}

  /**
   * Verifies `token` at `now` (seconds since the epoch) and returns its claims; throws Denied with
   * the reason otherwise.
   */
  async verify(token: string, now = Math.floor(Date.now() / 1000)): Promise<VerifiedClaims> {
    const { header, payload, signingInput, signature } = parseCompactJws(token, this.options.maxTokenLength);
    // No extension is understood, so none may be declared critical (RFC 7515 §4.1.11).
    if (header.crit !== undefined) throw new Denied(DENY.crit, "crit");
    const alg = header.alg;
    if (typeof alg !== "string" || !(this.options.algorithms as readonly string[]).includes(alg)) {
      throw new Denied(DENY.algNotAllowed, "alg");
    }
    const kid = header.kid;
    if (kid === undefined) throw new Denied(DENY.kidMissing, "kid");
    if (typeof kid !== "string" || !KID.test(kid)) throw new Denied(DENY.kidInvalid, "kid");
    const key = this.keys.peek(kid) ?? (await this.keys.get(kid));
    if (!key) throw new Denied(DENY.noMatchingKey, "kid");
    const check = key.checks[alg as JwsAlgorithm];
    if (!check) throw new Denied(DENY.keyType, "alg");
    let valid: boolean;
    try {
      valid = check(signingInput, signature);
    } catch {
      valid = false;
    }
    if (!valid) throw new Denied(DENY.signature);
    return checkClaims(payload, this.options, now);
  }
}
