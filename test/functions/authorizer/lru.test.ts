import { beforeAll, describe, expect, it, vi } from "vitest";
import { createAuthorizer } from "../../../functions/authorizer/authorizer.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { ExpiringLru } from "../../../functions/authorizer/lru.js";
import { claims, httpEvent, nowSeconds, rsaKey, sign, testConfig, type SigningKey } from "./support.js";

describe("ExpiringLru", () => {
  it("forgets an entry at its deadline", () => {
    let now = 1000;
    const lru = new ExpiringLru<string>(10, () => now);
    lru.set("a", "A", 2000);
    expect(lru.get("a")).toBe("A");
    now = 1999;
    expect(lru.get("a")).toBe("A");
    now = 2000;
    expect(lru.get("a")).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it("evicts the least recently used entry when full", () => {
    const lru = new ExpiringLru<number>(2, () => 0);
    lru.set("a", 1, 10);
    lru.set("b", 2, 10);
    lru.get("a");
    lru.set("c", 3, 10);
    expect([lru.get("a"), lru.get("b"), lru.get("c")]).toEqual([1, undefined, 3]);
    expect(lru.size).toBe(2);
  });

  it("stores nothing already expired, or when its capacity is zero", () => {
    const lru = new ExpiringLru<number>(2, () => 100);
    lru.set("old", 1, 100);
    expect(lru.get("old")).toBeUndefined();
    const off = new ExpiringLru<number>(0, () => 0);
    off.set("a", 1, 10);
    expect(off.get("a")).toBeUndefined();
  });
});

describe("the verified-token cache", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await rsaKey();
  });

  it("answers a repeated token without verifying it again", async () => {
    const authorizer = createAuthorizer(testConfig([key.jwk]), { log: () => {} });
    const verify = vi.spyOn(authorizer.verifier, "verify");
    const event = httpEvent(`Bearer ${await sign(key)}`);
    const first = await authorizer.handle(event);
    const again = await authorizer.handle(event);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ isAuthorized: true });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("never outlives the token: once expired, the same token is verified again and denied", async () => {
    let offset = 0;
    const reasons: unknown[] = [];
    const authorizer = createAuthorizer(testConfig([key.jwk]), { log: (l) => reasons.push(l.reason), now: () => Date.now() + offset });
    const iat = nowSeconds();
    const event = httpEvent(`Bearer ${await sign(key, claims({ iat, exp: iat + 60 }))}`);
    expect(await authorizer.handle(event)).toMatchObject({ isAuthorized: true });
    offset = 61_000 + 5_000; // past exp and the clock tolerance
    expect(await authorizer.handle(event)).toEqual({ isAuthorized: false });
    expect(reasons).toEqual([DENY.expired]);
  });

  it("does not remember denials: a bad token is checked every time", async () => {
    const authorizer = createAuthorizer(testConfig([key.jwk]), { log: () => {} });
    const verify = vi.spyOn(authorizer.verifier, "verify");
    const event = httpEvent(`Bearer ${await sign(key, claims({ iss: "https://evil.test" }))}`);
    await authorizer.handle(event);
    await authorizer.handle(event);
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
