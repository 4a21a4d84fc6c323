import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { checkAgainstJose, checkMutated, claimsArbitrary, fixture, mutationArbitrary, type Fixture } from "./properties.js";
import { nowSeconds } from "./support.js";

let f: Fixture;
beforeAll(async () => {
  f = await fixture();
});

describe("mutated tokens and events (property)", () => {
  it("never throw and are never allowed (2,000 cases; npm run fuzz:authorizer runs 100,000+)", async () => {
    await fc.assert(
      fc.asyncProperty(mutationArbitrary(f), async (w) => {
        expect(await checkMutated(f, w)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
    // The sample reached deep: signature and claim failures, not only parse errors.
    expect(f.reasons.get("ERR_JWS_SIGNATURE_VERIFICATION_FAILED")).toBeGreaterThan(0);
  });

  it("on arbitrary claims, the fast path never allows what jose's jwtVerify refuses", async () => {
    const now = nowSeconds();
    await fc.assert(
      fc.asyncProperty(claimsArbitrary(now), async (payload) => {
        expect(await checkAgainstJose(f, payload, now)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
