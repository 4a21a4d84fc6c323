/**
 * The revocation feed consumer against a real local HTTP server serving the auth service's
 * contract (`GET /revocations`, strong ETag, If-None-Match → 304): a token minted before its
 * subject or session was revoked is refused within the refresh bound, a newer one is not; the
 * hot path decides on the copy it holds and refreshes in the background; a feed that cannot be
 * reached keeps the last copy (logged) until the staleness limit, then every token is refused.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer, type LogLine } from "../../../functions/authorizer/authorizer.js";
import type { AuthorizerConfig } from "../../../functions/authorizer/config.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { claims, httpEvent, nowSeconds, rsaKey, sign, testConfig, type SigningKey } from "./support.js";

let key: SigningKey;
beforeAll(async () => {
  key = await rsaKey();
});

/** The auth service's feed, as the contract describes it. */
async function feedServer() {
  const state = {
    subjects: {} as Record<string, number>,
    sessions: {} as Record<string, number>,
    down: false,
    malformed: false,
    requests: 0,
    notModified: 0,
    conditional: 0,
  };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (state.down) return void res.writeHead(503).end();
    if (state.malformed) return void res.writeHead(200, { "content-type": "application/json" }).end('{"version":2}');
    const body = JSON.stringify({ version: 1, generated_at: nowSeconds(), subjects: state.subjects, sessions: state.sessions });
    // generated_at is not part of the tag: the tag changes only when the lists do.
    const etag = `"${createHash("sha256").update(JSON.stringify([state.subjects, state.sessions])).digest("base64url").slice(0, 16)}"`;
    if (req.headers["if-none-match"]) state.conditional++;
    if (req.headers["if-none-match"] === etag) {
      state.notModified++;
      return void res.writeHead(304, { etag }).end();
    }
    res.writeHead(200, { "content-type": "application/json", etag, "cache-control": "no-cache" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/revocations`);
  return { url, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(overrides: Partial<AuthorizerConfig> = {}) {
  const feed = await feedServer();
  servers.push(feed);
  const clock = { offset: 0 };
  const logs: LogLine[] = [];
  const authorizer = createAuthorizer(testConfig([key.jwk], { revocationsUrl: feed.url, revocationsRefreshMs: 15_000, revocationsMaxStaleMs: 300_000, ...overrides }), {
    log: (l) => logs.push(l),
    now: () => Date.now() + clock.offset,
  });
  const decide = async (token: string) => {
    const before = logs.length;
    const response = (await authorizer.handle(httpEvent(`Bearer ${token}`))) as { isAuthorized: boolean };
    return response.isAuthorized ? "allow" : String(logs.slice(before).find((l) => l.msg === "authorizer.deny")?.reason);
  };
  return { feed, clock, logs, authorizer, decide };
}

/** Claims of a token issued at `iat` (seconds), with the auth service's 15-minute lifetime. */
const minted = (iat: number, extra: Record<string, unknown> = {}) => claims({ iat, exp: iat + 900, ...extra });

/** Lets a background refresh that was started finish. */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe("the revocation feed", () => {
  it("refuses a token minted before an offboard within 20 s (refresh 15 s + a third), so with a 30 s result cache within 60 s", async () => {
    const { feed, clock, decide } = await setup();
    const iat = nowSeconds() - 60;
    const token = await sign(key, claims({ iat, exp: iat + 900, sid: "session_a" }));
    expect(await decide(token)).toBe("allow");
    expect(feed.state.requests).toBe(1);

    // offboard: the auth service lists the subject, revoked now.
    feed.state.subjects.user_123 = nowSeconds();
    // Inside the interval the copy is fresh: no fetch, the old decision stands.
    clock.offset = 10_000;
    expect(await decide(token)).toBe("allow");
    expect(feed.state.requests).toBe(1);
    // Past the interval the request starts a background refresh; the next one sees the revocation.
    clock.offset = 16_000;
    await decide(token);
    await settle();
    expect(await decide(token)).toBe(DENY.revoked);
    expect(feed.state.requests).toBe(2);
  });

  it("an instance that sat idle past the bound waits for the refresh instead of deciding on an old copy", async () => {
    const { feed, clock, decide } = await setup();
    const token = await sign(key, minted(nowSeconds() - 5));
    expect(await decide(token)).toBe("allow");
    feed.state.subjects.user_123 = nowSeconds();
    clock.offset = 20_001;
    expect(await decide(token)).toBe(DENY.revoked);
  });

  it("with short intervals, in real time: refused once the refresh bound has passed", async () => {
    const { feed, decide } = await setup({ revocationsRefreshMs: 150, revocationsMaxStaleMs: 5_000 });
    const token = await sign(key, minted(nowSeconds() - 5));
    expect(await decide(token)).toBe("allow");
    feed.state.subjects.user_123 = nowSeconds();
    await new Promise((r) => setTimeout(r, 250)); // > 4/3 of the interval
    expect(await decide(token)).toBe(DENY.revoked);
  });

  it("compares against iat: a token minted after the revocation passes; sessions are revoked one by one", async () => {
    const { feed, decide } = await setup();
    const now = nowSeconds();
    feed.state.subjects.user_123 = now - 100;
    feed.state.sessions.session_old = now - 50;
    const before = await sign(key, minted(now - 200));
    const atTheSecond = await sign(key, minted(now - 100));
    const after = await sign(key, minted(now - 99));
    expect(await decide(before)).toBe(DENY.revoked);
    expect(await decide(atTheSecond)).toBe(DENY.revoked);
    expect(await decide(after)).toBe("allow");
    expect(await decide(await sign(key, minted(now - 60, { sid: "session_old" })))).toBe(DENY.revoked);
    expect(await decide(await sign(key, minted(now - 10, { sid: "session_old" })))).toBe("allow");
    expect(await decide(await sign(key, minted(now - 60, { sid: "session_new" })))).toBe("allow");
    expect(await decide(await sign(key, minted(now - 500, { sub: "someone_else" })))).toBe("allow");
  });

  it("refreshes with If-None-Match; a 304 keeps the copy and renews its age", async () => {
    const { feed, clock, decide, authorizer } = await setup({ revocationsMaxStaleMs: 40_000 });
    const token = await sign(key, minted(nowSeconds() - 5));
    expect(await decide(token)).toBe("allow");
    for (let i = 1; i <= 6; i++) {
      clock.offset = i * 16_000; // 96 s in all: past the 40 s staleness limit, were 304s not counted
      await decide(token);
      await settle();
    }
    expect(feed.state.conditional).toBe(6);
    expect(feed.state.notModified).toBe(6);
    expect(authorizer.revocations!.notModified).toBe(6);
    expect(await decide(token)).toBe("allow");
    // A change is a new tag: the next refresh gets a 200 and the new list.
    feed.state.subjects.user_123 = nowSeconds();
    clock.offset = 7 * 16_000;
    await decide(token);
    await settle();
    expect(await decide(token)).toBe(DENY.revoked);
  });

  it("keeps the last copy (and logs) while the feed is down, fails closed past the staleness limit, and recovers", async () => {
    const { feed, clock, decide, logs } = await setup({ revocationsMaxStaleMs: 60_000 });
    const token = await sign(key, minted(nowSeconds() - 5));
    feed.state.subjects.revoked_user = nowSeconds();
    expect(await decide(token)).toBe("allow");
    feed.state.down = true;
    clock.offset = 30_000;
    expect(await decide(token)).toBe("allow");
    expect(await decide(await sign(key, minted(nowSeconds() - 5, { sub: "revoked_user" })))).toBe(DENY.revoked);
    expect(logs).toContainEqual({ level: "warn", msg: "authorizer.revocations_fetch_failed", reason: "revocation feed answered 503" });
    clock.offset = 61_000;
    expect(await decide(token)).toBe(DENY.revocationsStale);
    feed.state.down = false;
    clock.offset = 120_000;
    expect(await decide(token)).toBe("allow");
  });

  it("a malformed feed document is a failed fetch: the last copy stays", async () => {
    const { feed, clock, decide, logs } = await setup();
    const token = await sign(key, minted(nowSeconds() - 5));
    feed.state.subjects.user_123 = nowSeconds();
    expect(await decide(token)).toBe(DENY.revoked);
    feed.state.malformed = true;
    clock.offset = 30_000;
    expect(await decide(token)).toBe(DENY.revoked);
    expect(logs.some((l) => l.msg === "authorizer.revocations_fetch_failed" && String(l.reason).includes("version 1"))).toBe(true);
  });

  it("fails closed at a cold start whose feed is down, and retries with a short backoff rather than per request", async () => {
    const { feed, clock, decide } = await setup();
    feed.state.down = true;
    const token = await sign(key, minted(nowSeconds() - 5));
    expect(await decide(token)).toBe(DENY.revocationsStale);
    for (let i = 0; i < 5; i++) expect(await decide(token)).toBe(DENY.revocationsStale);
    expect(feed.state.requests).toBe(1);
    feed.state.down = false;
    clock.offset = 1_200;
    expect(await decide(token)).toBe("allow");
    expect(feed.state.requests).toBe(2);
  });

  it("decides synchronously on a fresh copy: the network is never on the hot path", async () => {
    const { feed, clock, authorizer, decide } = await setup();
    const token = await sign(key, minted(nowSeconds() - 5));
    expect(await decide(token)).toBe("allow");
    const event = httpEvent(`Bearer ${token}`);
    expect(authorizer.decide(event)).not.toBeInstanceOf(Promise);
    // Due for a refresh: still answered at once from the copy, the fetch runs behind it.
    clock.offset = 16_000;
    const response = authorizer.decide(event);
    expect(response).not.toBeInstanceOf(Promise);
    expect(response).toMatchObject({ isAuthorized: true });
    await settle();
    expect(feed.state.requests).toBe(2);
  });
});
