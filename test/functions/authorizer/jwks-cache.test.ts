import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer, type LogLine } from "../../../functions/authorizer/authorizer.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { claims, httpEvent, jwksServer, rsaKey, sign, testConfig, type SigningKey } from "./support.js";

let first: SigningKey;
let second: SigningKey;
const servers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  [first, second] = await Promise.all([rsaKey("first-key"), rsaKey("second-key")]);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An authorizer fetching from a live JWKS server, on a clock the test can move. */
async function remoteAuthorizer(published: () => SigningKey[], seed?: SigningKey[]) {
  const server = await jwksServer(() => ({ keys: published().map((k) => k.jwk) }));
  servers.push(server);
  const clock = { offset: 0 };
  const logs: LogLine[] = [];
  const allLogs: LogLine[] = [];
  const config = testConfig([], {
    jwksUrl: server.url,
    seedJwks: seed ? { keys: seed.map((k) => k.jwk) } : undefined,
    jwksCooldownMs: 30_000,
    jwksMaxAgeMs: 600_000,
  });
  const authorizer = createAuthorizer(config, { log: (l) => logs.push(l) && allLogs.push(l), now: () => Date.now() + clock.offset });
  const decide = async (token: string) => {
    logs.length = 0;
    const response = await authorizer.handle(httpEvent(`Bearer ${token}`));
    return { allowed: (response as { isAuthorized: boolean }).isAuthorized, reason: logs.find((l) => l.msg === "authorizer.deny")?.reason };
  };
  return { server, clock, allLogs, decide };
}

describe("the JWKS cache", () => {
  it("fetches once for many verifications, even concurrent first ones", async () => {
    const { server, decide } = await remoteAuthorizer(() => [first]);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(first, undefined, { jti: `t${i}` })));
    const results = await Promise.all(tokens.map(decide));
    expect(results.every((r) => r.allowed)).toBe(true);
    for (const token of tokens) expect((await decide(token)).allowed).toBe(true);
    expect(server.state.requests).toBe(1);
  });

  it("refetches for an unknown kid at most once per cool-down, then picks up a rotated key", async () => {
    let published = [first];
    const { server, clock, decide } = await remoteAuthorizer(() => published);
    expect((await decide(await sign(first))).allowed).toBe(true);
    expect(server.state.requests).toBe(1);

    // The auth service rotates, but inside the cool-down a made-up or new kid cannot cause a fetch.
    clock.offset = 31_000;
    const unknown = await sign(second, undefined, { kid: "made-up-kid" });
    expect(await decide(unknown)).toEqual({ allowed: false, reason: DENY.noMatchingKey });
    expect(server.state.requests).toBe(2);
    for (let i = 0; i < 10; i++) expect((await decide(unknown)).reason).toBe(DENY.noMatchingKey);
    published = [first, second];
    expect((await decide(await sign(second))).reason).toBe(DENY.noMatchingKey);
    expect(server.state.requests).toBe(2);

    clock.offset = 62_000;
    expect((await decide(await sign(second))).allowed).toBe(true);
    expect(server.state.requests).toBe(3);
  });

  it("keeps cached keys working while the endpoint is down, and fails closed on unknown kids", async () => {
    const { server, clock, decide, allLogs } = await remoteAuthorizer(() => [first]);
    expect((await decide(await sign(first))).allowed).toBe(true);
    server.state.down = true;
    // Past the max age a background refresh is attempted; it fails and the old keys stay.
    clock.offset = 700_000;
    const then = Math.floor((Date.now() + 700_000) / 1000);
    const later = await sign(first, claims({ iat: then, exp: then + 600 }));
    expect((await decide(later)).allowed).toBe(true);
    expect(await decide(await sign(second))).toEqual({ allowed: false, reason: DENY.noMatchingKey });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.state.requests).toBe(2);
    expect((await decide(later)).allowed).toBe(true);
    expect(allLogs).toContainEqual({ level: "warn", msg: "authorizer.jwks_fetch_failed", reason: "JWKS endpoint answered 503" });
  });

  it("fails closed and logs the failed fetch, without key material, when the endpoint is down from the start", async () => {
    const { server, decide, allLogs } = await remoteAuthorizer(() => [first]);
    server.state.down = true;
    expect(await decide(await sign(first))).toEqual({ allowed: false, reason: DENY.noMatchingKey });
    expect(server.state.requests).toBe(1);
    const failures = allLogs.filter((l) => l.msg === "authorizer.jwks_fetch_failed");
    expect(failures).toEqual([{ level: "warn", msg: "authorizer.jwks_fetch_failed", reason: "JWKS endpoint answered 503" }]);
    expect(JSON.stringify(allLogs)).not.toContain(first.jwk.n!.slice(0, 20));
  });

  it("retries a failed cold-start fetch after about 1 s, then 2 s, 4 s…, and lets valid tokens through once the JWKS is back", async () => {
    const { server, clock, decide } = await remoteAuthorizer(() => [first]);
    server.state.down = true;
    const token = await sign(first);
    expect(await decide(token)).toEqual({ allowed: false, reason: DENY.noMatchingKey });
    expect(server.state.requests).toBe(1);
    // Within the first second: no new fetch, however many requests.
    clock.offset = 500;
    for (let i = 0; i < 5; i++) await decide(token);
    expect(server.state.requests).toBe(1);
    clock.offset = 1_100;
    await decide(token);
    expect(server.state.requests).toBe(2);
    // The next retry waits 2 s more, then 4 s more: growing, not a fetch per request.
    clock.offset = 2_500;
    await decide(token);
    expect(server.state.requests).toBe(2);
    clock.offset = 3_200;
    await decide(token);
    expect(server.state.requests).toBe(3);
    clock.offset = 6_500;
    await decide(token);
    expect(server.state.requests).toBe(3);
    // The JWKS is back: the next due retry lets the token through, far inside the 30 s cool-down.
    server.state.down = false;
    clock.offset = 7_500;
    expect((await decide(token)).allowed).toBe(true);
    expect(server.state.requests).toBe(4);
  });

  it("keeps unknown kids to one fetch per cool-down once keys are held", async () => {
    const { server, clock, decide } = await remoteAuthorizer(() => [first]);
    expect((await decide(await sign(first))).allowed).toBe(true);
    const unknown = await sign(second);
    clock.offset = 31_000;
    expect((await decide(unknown)).reason).toBe(DENY.noMatchingKey);
    expect(server.state.requests).toBe(2);
    // No backoff-style retries here: the next fetch for an unknown kid waits the whole cool-down.
    for (const offset of [32_000, 34_000, 40_000, 60_000]) {
      clock.offset = offset;
      expect((await decide(unknown)).reason).toBe(DENY.noMatchingKey);
    }
    expect(server.state.requests).toBe(2);
  });

  it("needs no network for seeded keys", async () => {
    const { server, decide } = await remoteAuthorizer(() => [first, second], [first]);
    expect((await decide(await sign(first))).allowed).toBe(true);
    expect(server.state.requests).toBe(0);
    // A kid the seed lacks is fetched.
    expect((await decide(await sign(second))).allowed).toBe(true);
    expect(server.state.requests).toBe(1);
  });

  it("ignores keys unfit for the allowed algorithms and JWKS documents without usable keys", async () => {
    const { server, decide } = await remoteAuthorizer(() => [{ ...first, jwk: { ...first.jwk, use: "enc" } }]);
    expect(await decide(await sign(first))).toEqual({ allowed: false, reason: DENY.noMatchingKey });
    expect(server.state.requests).toBe(1);
  });
});
