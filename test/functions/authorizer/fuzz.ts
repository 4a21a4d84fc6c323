/**
 * `npm run fuzz:authorizer`: the authorizer's properties at scale. Mutates a valid token and its
 * API Gateway event ≥ 100,000 times (nothing may throw, nothing mutated may be allowed) and checks
 * the fast path against jose's jwtVerify on random claims; prints one JSON summary line last and
 * exits non-zero on any counterexample.
 */
import fc from "fast-check";
import { parseArgs } from "node:util";
import { checkAgainstJose, checkMutated, claimsArbitrary, fixture, mutationArbitrary } from "./properties.js";
import { nowSeconds } from "./support.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100000" },
    "jose-runs": { type: "string", default: "5000" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm run fuzz:authorizer -- [--runs N] [--jose-runs N] [--seed S]

  --runs N       mutated token/event cases (default 100000)
  --jose-runs N  random-claims cases compared with jose's jwtVerify (default 5000)
  --seed S       fast-check seed, to replay a failure`);
  process.exit(0);
}

const runs = Number(values.runs);
const joseRuns = Number(values["jose-runs"]);
const seed = values.seed === undefined ? Date.now() ^ 0 : Number(values.seed);
for (const [name, n] of [["--runs", runs], ["--jose-runs", joseRuns], ["--seed", seed]] as const) {
  if (!Number.isSafeInteger(n) || (name !== "--seed" && n < 0)) {
    console.error(`${name} must be a whole number`);
    process.exit(2);
  }
}

const f = await fixture();
const started = performance.now();
const failures: string[] = [];

const mutation = await fc.check(
  fc.asyncProperty(mutationArbitrary(f), async (w) => {
    const failure = await checkMutated(f, w);
    if (failure) failures.push(`${failure.kind}: ${failure.detail}`);
    return failure === undefined;
  }),
  { numRuns: runs, seed, endOnFailure: true },
);
const mutationMs = performance.now() - started;

const now = nowSeconds();
const jose = await fc.check(
  fc.asyncProperty(claimsArbitrary(now), async (payload) => {
    const failure = await checkAgainstJose(f, payload, now);
    if (failure) failures.push(`${failure.kind}: ${failure.detail}`);
    return failure === undefined;
  }),
  { numRuns: joseRuns, seed, endOnFailure: true },
);

const ok = !mutation.failed && !jose.failed;
console.log(
  JSON.stringify({
    ok,
    seed,
    mutation_runs: mutation.numRuns,
    jose_runs: jose.numRuns,
    failures: failures.slice(0, 3),
    deny_reasons: Object.fromEntries([...f.reasons].sort((a, b) => b[1] - a[1])),
    mutation_ms: Math.round(mutationMs),
    total_ms: Math.round(performance.now() - started),
  }),
);
process.exit(ok ? 0 : 1);
