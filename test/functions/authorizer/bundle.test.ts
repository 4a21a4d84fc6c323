/**
 * The shipped authorizer bundle: within its 20 KB budget, and deciding exactly as the source does.
 * The build shortens internal property names (functions/build.ts), so the bundle itself is run
 * here against a real JWKS and revocation feed over HTTP: a name shortened on one side only would
 * show up as a different decision or log line.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildFunction } from "../../../functions/build.js";
import { claims, httpEvent, jwksServer, nowSeconds, restRequestEvent, rsaKey, sign, type SigningKey } from "./support.js";

/** The authorizer's bundle budget, in bytes (README, bench:authorizer). */
const BUDGET_BYTES = 20_000;

type Handler = (event: unknown) => Promise<unknown>;

let key: SigningKey;
let built: Awaited<ReturnType<typeof buildFunction>>;
let jwks: Awaited<ReturnType<typeof jwksServer>>;
let feed: Server;
let feedUrl: string;

beforeAll(async () => {
  key = await rsaKey();
  built = await buildFunction("authorizer", join(process.cwd(), ".tmp", "test-bundles", "authorizer"));
  jwks = await jwksServer(() => ({ keys: [key.jwk] }));
  feed = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", etag: '"v1"' }).end(JSON.stringify({ version: 1, generated_at: nowSeconds(), subjects: { revoked_user: nowSeconds() + 60 }, sessions: {} }));
  });
  await new Promise<void>((r) => feed.listen(0, "127.0.0.1", r));
  feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/revocations`;
}, 60_000);

afterAll(async () => {
  await jwks?.close();
  await new Promise<void>((r) => (feed ? feed.close(() => r()) : r()));
});

/** Run `events` through a handler under `env`, one at a time, with its stdout lines (timestamps blanked). */
async function decisions(load: () => Promise<Handler>, env: Record<string, string>, events: unknown[]) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
  try {
    const handler = await load();
    const out: unknown[] = [];
    for (const event of events) out.push(await handler(event));
    return { out, lines: lines.map((l) => JSON.parse(l, (k, v) => (k === "Timestamp" ? 0 : v))) };
  } finally {
    spy.mockRestore();
    vi.unstubAllEnvs();
  }
}

const source = async () => (await import("../../../functions/authorizer/handler.js")).handler as Handler;
let copies = 0;
const bundle = async () => (await import(`${pathToFileURL(join(built.outdir, "index.mjs")).href}?copy=${++copies}`)).handler as Handler;

describe("the authorizer bundle", () => {
  it(`stays within its ${BUDGET_BYTES}-byte budget`, () => {
    expect(built.bytes).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it("decides and logs exactly as the source: JWKS fetched, revocation feed read, every kind of event", async () => {
    const env = { JWKS_URL: jwks.url.href, JWT_ISSUER: "https://auth.example.test", JWT_AUDIENCE: "https://api.example.test", REVOCATIONS_URL: feedUrl, JWKS_SEED: "", METRICS_FLUSH_MS: "0" };
    const good = await sign(key);
    const events = [
      httpEvent(`Bearer ${good}`),
      httpEvent(`Bearer ${good}`), // from the verified-token cache
      httpEvent(`Bearer ${await sign(key, claims({ sub: "revoked_user" }))}`),
      httpEvent(`Bearer ${await sign(key, claims({ org_slug: "timetracking" }))}`),
      httpEvent(`Bearer ${good}`, {}, null),
      httpEvent(`Bearer ${await sign(key, claims({ exp: nowSeconds() - 60, iat: nowSeconds() - 120 }))}`),
      httpEvent(`Bearer ${good.slice(0, -4)}AAAA`),
      httpEvent(),
      restRequestEvent({ Authorization: `Bearer ${good}` }),
      { type: "TOKEN" },
    ];
    const fromSource = await decisions(source, env, events);
    const fromBundle = await decisions(bundle, env, events);
    expect(fromBundle).toEqual(fromSource);
    // What they agree on is the real decision, not two identical failures.
    expect(fromSource.out[0]).toMatchObject({ isAuthorized: true, context: { sub: "user_123", org_slug: "hiring" } });
    expect(fromSource.lines.filter((l) => l.msg === "authorizer.deny").map((l) => l.reason)).toEqual([
      "revoked",
      "wrong_app",
      "app_not_configured",
      "ERR_JWT_EXPIRED",
      "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
      "ERR_AUTH_HEADER_MISSING",
      "ERR_EVENT_SHAPE",
    ]);
    expect(fromSource.lines.some((l) => l.Denies && l.Class === "fault" && l.Code === "app_not_configured")).toBe(true);
  }, 60_000);

  it("a broken environment denies with the same fault line from the bundle", async () => {
    const env = { JWKS_URL: "http://auth.example.test/jwks", JWT_ISSUER: "https://auth.example.test", JWT_AUDIENCE: "a" };
    const fromSource = await decisions(source, env, [httpEvent("Bearer x")]);
    const fromBundle = await decisions(bundle, env, [httpEvent("Bearer x")]);
    expect(fromBundle).toEqual(fromSource);
    expect(fromSource.lines[0]).toMatchObject({ reason: "ERR_AUTHORIZER_CONFIG", Class: "fault", Denies: 1 });
  });
});
