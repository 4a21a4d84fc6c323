/**
 * Pattern 5: a native app signs in with Google in an in-app browser, receives a one-time code
 * on its callback and exchanges it (with its PKCE verifier) for a bearer token. Google is a
 * real OAuth/OIDC server on loopback, so Better Auth's own OAuth code path runs.
 */
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeGoogle, type FakeGoogle } from "../../support/fake-google.js";
import {
  APP_LINK_CALLBACK,
  APP_SCHEME_CALLBACK,
  AUTH_ORIGIN,
  CookieJar,
  baseEnv,
  startAuth,
  type AuthApp,
} from "./fixture.js";

interface Pkce {
  verifier: string;
  challenge: string;
}
const pkce = (): Pkce => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

function authorizeUrl(params: Record<string, string>): string {
  return `/api/auth/native/authorize?${new URLSearchParams(params)}`;
}

/**
 * What ASWebAuthenticationSession / Custom Tabs do: follow redirects with their own cookie
 * jar until the URL leaves http(s) or lands on the app's callback; return that URL.
 */
async function inAppBrowser(auth: AuthApp, startPath: string, appCallback: string): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(startPath, AUTH_ORIGIN);
  for (let hop = 0; hop < 10; hop++) {
    if (url.toString().startsWith(appCallback)) return url;
    const res =
      url.origin === AUTH_ORIGIN
        ? jar.absorb(await auth.request(url.toString(), { headers: { cookie: jar.header() } }))
        : await fetch(url, { redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status !== 302 || !location) throw new Error(`stuck at ${url}: ${res.status} ${await res.text()}`);
    url = new URL(location, url);
  }
  throw new Error("too many redirects");
}

describe("native app with OAuth2: one-time code exchange", () => {
  let google: FakeGoogle;
  let auth: AuthApp;
  let db: pg.Pool;

  beforeAll(async () => {
    google = await startFakeGoogle();
    const env = await baseEnv("native_oauth");
    auth = await startAuth({
      ...env,
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_OIDC_DISCOVERY_URL: google.discoveryUrl,
      NATIVE_APP_CALLBACKS: `${APP_SCHEME_CALLBACK},${APP_LINK_CALLBACK}`,
      APPLE_APP_IDS: "ABCDE12345.org.example.app",
      ANDROID_APP_LINKS: `org.example.app=${Array(32).fill("AB").join(":")}`,
    });
    db = new pg.Pool({ connectionString: env.DATABASE_URL });
  });
  afterAll(async () => {
    await db?.end();
    await google?.close();
  });
  // Every test signs in as the same person, and the replays and races below are failed
  // exchanges: each test starts outside the per-account backoff (account-limit.ts), which has
  // a test of its own.
  beforeEach(async () => {
    await db.query(`DELETE FROM authplane_attempt_backoff`);
  });

  async function codeFor(callback: string, p: Pkce, state = "app-state-1") {
    const landed = await inAppBrowser(
      auth,
      authorizeUrl({ redirect_uri: callback, code_challenge: p.challenge, code_challenge_method: "S256", state }),
      callback,
    );
    return landed;
  }

  // Each exchange its own client address unless a test says otherwise: the per-client rate
  // limit (10/min) is exercised on its own below, not tripped by the test file's volume.
  let nextIp = 10;
  const exchange = (body: Record<string, string>, ip = `203.0.113.${nextIp++}`) =>
    auth.request("/api/auth/native/exchange", {
      method: "POST",
      // The peer address as the runtime adapter records it (API Gateway's sourceIp, the socket).
      headers: { "content-type": "application/json", "x-authplane-source-ip": ip },
      body: JSON.stringify(body),
    });

  it("the in-app browser ends on the app's callback with a code and the app's state, never a token", async () => {
    google.setUser({ sub: "google-ada", email: "ada@example.org", name: "Ada" });
    const before = google.tokenRequests;
    const landed = await codeFor(APP_SCHEME_CALLBACK, pkce());
    expect(`${landed.protocol}${landed.pathname}`).toBe(APP_SCHEME_CALLBACK);
    expect(landed.searchParams.get("state")).toBe("app-state-1");
    expect(landed.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect([...landed.searchParams.keys()].sort()).toEqual(["code", "state"]);
    expect(google.tokenRequests).toBe(before + 1);
  });

  it("the code buys a bearer token for the Google user, and is stored only as its SHA-256", async () => {
    google.setUser({ sub: "google-ada", email: "ada@example.org", name: "Ada" });
    const p = pkce();
    const code = (await codeFor(APP_LINK_CALLBACK, p)).searchParams.get("code")!;
    const { rows } = await db.query(`SELECT "codeHash" FROM "nativeAuthCode" WHERE "codeHash" = $1`, [
      createHash("sha256").update(code).digest("base64url"),
    ]);
    expect(rows).toHaveLength(1);
    expect((await db.query(`SELECT 1 FROM "nativeAuthCode" WHERE "codeHash" = $1`, [code])).rows).toHaveLength(0);

    const res = await exchange({ code, code_verifier: p.verifier, redirect_uri: APP_LINK_CALLBACK });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { token: string; token_type: string; expires_in: number };
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBeGreaterThan(0);
    const session = await auth.request("/api/auth/get-session", { headers: { authorization: `Bearer ${body.token}` } });
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe("ada@example.org");
  });

  it("a replayed code fails with CODE_ALREADY_USED and revokes the session the first exchange bought", async () => {
    const p = pkce();
    const code = (await codeFor(APP_SCHEME_CALLBACK, p)).searchParams.get("code")!;
    const first = (await (await exchange({ code, code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK })).json()) as {
      token: string;
    };
    const replay = await exchange({ code, code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { code: string }).code).toBe("CODE_ALREADY_USED");
    const session = await auth.request("/api/auth/get-session", { headers: { authorization: `Bearer ${first.token}` } });
    expect(await session.json()).toBeNull();
  });

  it("two exchanges racing for one code: exactly one wins", async () => {
    const p = pkce();
    const code = (await codeFor(APP_SCHEME_CALLBACK, p)).searchParams.get("code")!;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => exchange({ code, code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400]);
  });

  it.each([
    ["a wrong verifier", "INVALID_CODE_VERIFIER", (p: Pkce) => ({ code_verifier: pkce().verifier, redirect_uri: APP_SCHEME_CALLBACK, p })],
    ["a different callback", "REDIRECT_URI_MISMATCH", (p: Pkce) => ({ code_verifier: p.verifier, redirect_uri: APP_LINK_CALLBACK, p })],
  ])("%s fails with %s and burns the code", async (_what, errorCode, attempt) => {
    const p = pkce();
    const code = (await codeFor(APP_SCHEME_CALLBACK, p)).searchParams.get("code")!;
    const { code_verifier, redirect_uri } = attempt(p);
    const res = await exchange({ code, code_verifier, redirect_uri });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe(errorCode);
    const retry = await exchange({ code, code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK });
    expect(((await retry.json()) as { code: string }).code).toBe("CODE_ALREADY_USED");
  });

  it("an expired code fails with CODE_EXPIRED, an unknown one with INVALID_CODE", async () => {
    const p = pkce();
    const code = (await codeFor(APP_SCHEME_CALLBACK, p)).searchParams.get("code")!;
    const { rows } = await db.query(`SELECT "expiresAt", "createdAt" FROM "nativeAuthCode" WHERE "codeHash" = $1`, [
      createHash("sha256").update(code).digest("base64url"),
    ]);
    expect(new Date(rows[0].expiresAt).getTime() - new Date(rows[0].createdAt).getTime()).toBeLessThanOrEqual(60_000);
    // Let the 60 s pass without waiting for it.
    await db.query(`UPDATE "nativeAuthCode" SET "expiresAt" = now() - interval '1 second' WHERE "codeHash" = $1`, [
      createHash("sha256").update(code).digest("base64url"),
    ]);
    const expired = await exchange({ code, code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK });
    expect(((await expired.json()) as { code: string }).code).toBe("CODE_EXPIRED");
    const unknown = await exchange({ code: "nope", code_verifier: p.verifier, redirect_uri: APP_SCHEME_CALLBACK });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { code: string }).code).toBe("INVALID_CODE");
  });

  it("authorize refuses an unlisted callback and a non-S256 challenge without redirecting", async () => {
    const p = pkce();
    const cases: Array<[Record<string, string>, string]> = [
      [{ redirect_uri: "evil.app:/oauth", code_challenge: p.challenge, code_challenge_method: "S256" }, "INVALID_REDIRECT_URI"],
      [{ redirect_uri: `${APP_SCHEME_CALLBACK}/x`, code_challenge: p.challenge, code_challenge_method: "S256" }, "INVALID_REDIRECT_URI"],
      [{ redirect_uri: APP_SCHEME_CALLBACK, code_challenge: p.verifier, code_challenge_method: "plain" }, "UNSUPPORTED_CODE_CHALLENGE_METHOD"],
      [{ redirect_uri: APP_SCHEME_CALLBACK, code_challenge: "short", code_challenge_method: "S256" }, "INVALID_CODE_CHALLENGE"],
    ];
    for (const [params, errorCode] of cases) {
      const res = await auth.request(authorizeUrl(params));
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(((await res.json()) as { code: string }).code).toBe(errorCode);
    }
  });

  it("finish without a native flow in progress is refused", async () => {
    const res = await auth.request("/api/auth/native/finish");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("NATIVE_FLOW_NOT_FOUND");
  });

  it("a failed Google sign-in comes back to the app as ?error=, with its state", async () => {
    const p = pkce();
    const jar = new CookieJar();
    const start = jar.absorb(
      await auth.request(
        authorizeUrl({ redirect_uri: APP_SCHEME_CALLBACK, code_challenge: p.challenge, code_challenge_method: "S256", state: "s2" }),
      ),
    );
    const atGoogle = new URL(start.headers.get("location")!);
    // The user declines at Google: it redirects back with an error instead of a code.
    const back = new URL(atGoogle.searchParams.get("redirect_uri")!);
    back.searchParams.set("error", "access_denied");
    back.searchParams.set("state", atGoogle.searchParams.get("state")!);
    let res = jar.absorb(await auth.request(back.toString(), { headers: { cookie: jar.header() } }));
    res = await auth.request(res.headers.get("location")!, { headers: { cookie: jar.header() } });
    const landed = new URL(res.headers.get("location")!);
    expect(`${landed.protocol}${landed.pathname}`).toBe(APP_SCHEME_CALLBACK);
    expect(landed.searchParams.get("error")).toBeTruthy();
    expect(landed.searchParams.get("code")).toBeNull();
    expect(landed.searchParams.get("state")).toBe("s2");
  });

  it("exchange attempts are rate limited per client", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await exchange({ code: `guess-${i}`, code_verifier: "x".repeat(43), redirect_uri: APP_SCHEME_CALLBACK }, "198.51.100.7")).status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 400)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    // Another client is unaffected.
    expect((await exchange({ code: "guess", code_verifier: "x".repeat(43), redirect_uri: APP_SCHEME_CALLBACK }, "198.51.100.8")).status).toBe(400);
  });

  it("serves the app association files for the configured apps", async () => {
    const aasa = await auth.request("/.well-known/apple-app-site-association");
    expect(aasa.status).toBe(200);
    expect(aasa.headers.get("content-type")).toBe("application/json");
    const body = (await aasa.json()) as { applinks: { details: Array<{ components: unknown[] }> } };
    expect(body.applinks.details[0]!.components).toEqual([{ "/": "/app/callback" }]);
    const links = await auth.request("/.well-known/assetlinks.json");
    expect(links.status).toBe(200);
  });
});
