/**
 * Offboarding blocks every way in: password, passkey, Google (web and native in-app browser)
 * and a native one-time code minted just before the offboard. Each refusal names the reason;
 * `apps reinstate` opens them again, and the passkey (kept by default) works again.
 */
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runApps } from "../../../ops/apps.js";
import { startFakeGoogle, type FakeGoogle } from "../../support/fake-google.js";
import { APP_SCHEME_CALLBACK, AUTH_ORIGIN, CookieJar, baseEnv, signUpNative, startAuth, type AuthApp } from "../clients/fixture.js";
import { SoftAuthenticator } from "../clients/soft-authenticator.js";

const JSON_BODY = { "content-type": "application/json" };
const NATIVE = { "x-authplane-client": "native" };
const PASSWORD = "correct horse battery staple";

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

describe("an offboarded person is refused by every sign-in method", () => {
  let google: FakeGoogle;
  let auth: AuthApp;
  let databaseUrl: string;
  const authenticator = new SoftAuthenticator(AUTH_ORIGIN);
  const apps = (...args: string[]) => runApps(args, { DATABASE_URL: databaseUrl });
  let nextIp = 20;
  const ip = () => ({ "x-forwarded-for": `198.51.100.${nextIp++}` });

  beforeAll(async () => {
    google = await startFakeGoogle();
    const env = await baseEnv("offboard_sign_in");
    databaseUrl = env.DATABASE_URL!;
    auth = await startAuth({
      ...env,
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_OIDC_DISCOVERY_URL: google.discoveryUrl,
      NATIVE_APP_CALLBACKS: APP_SCHEME_CALLBACK,
    });
  });
  afterAll(() => google?.close());

  const passwordSignIn = (email: string) =>
    auth.request("/api/auth/sign-in/email", { method: "POST", headers: { ...JSON_BODY, ...ip(), origin: AUTH_ORIGIN }, body: JSON.stringify({ email, password: PASSWORD }) });

  async function passkeySignIn() {
    const optionsRes = await auth.request("/api/auth/passkey/generate-authenticate-options", { headers: ip() });
    const cookie = optionsRes.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    return auth.request("/api/auth/passkey/verify-authentication", {
      method: "POST",
      headers: { ...JSON_BODY, ...NATIVE, ...ip(), cookie, origin: AUTH_ORIGIN },
      body: JSON.stringify({ response: authenticator.authenticate(await optionsRes.json()) }),
    });
  }

  /** Follow redirects like a browser (own jar, Google on loopback) until leaving the service or Google. */
  async function browse(jar: CookieJar, start: Response): Promise<URL> {
    let res = jar.absorb(start);
    let url = new URL(AUTH_ORIGIN);
    for (let hop = 0; hop < 10; hop++) {
      const location = res.headers.get("location") ?? ((await res.clone().json().catch(() => null)) as { url?: string } | null)?.url;
      if (!location) throw new Error(`stuck at ${url}: ${res.status} ${await res.text()}`);
      url = new URL(location, url);
      if (url.origin === AUTH_ORIGIN) {
        if (!url.pathname.startsWith("/api/auth/")) return url;
        res = jar.absorb(await auth.request(url.toString(), { headers: { cookie: jar.header(), ...ip() } }));
      } else if (url.origin === new URL(google.issuer).origin) {
        res = await fetch(url, { redirect: "manual" });
      } else return url;
    }
    throw new Error("too many redirects");
  }

  const googleWebSignIn = async () => {
    const jar = new CookieJar();
    const start = await auth.request("/api/auth/sign-in/social", {
      method: "POST",
      headers: { ...JSON_BODY, ...ip(), origin: AUTH_ORIGIN },
      body: JSON.stringify({ provider: "google", callbackURL: `${AUTH_ORIGIN}/signed-in`, errorCallbackURL: `${AUTH_ORIGIN}/sign-in-failed` }),
    });
    return { landed: await browse(jar, start), jar };
  };

  const nativeCode = async (p: { challenge: string }) => {
    const query = new URLSearchParams({ redirect_uri: APP_SCHEME_CALLBACK, code_challenge: p.challenge, code_challenge_method: "S256", state: "s" });
    return browse(new CookieJar(), await auth.request(`/api/auth/native/authorize?${query}`, { headers: ip() }));
  };
  const exchange = (code: string, verifier: string) =>
    auth.request("/api/auth/native/exchange", { method: "POST", headers: { ...JSON_BODY, ...ip() }, body: JSON.stringify({ code, code_verifier: verifier, redirect_uri: APP_SCHEME_CALLBACK }) });

  it("password, passkey, Google and a native code are refused after offboard, and work again after reinstate", async () => {
    google.setUser({ sub: "google-leaver", email: "leaver@example.org", name: "Leaver" });
    // Signed up with a password, linked to Google, a passkey registered.
    const signedUp = await signUpNative(auth, "leaver@example.org");
    const optionsRes = await auth.request("/api/auth/passkey/generate-register-options", { headers: { authorization: `Bearer ${signedUp.token}` } });
    const registered = await auth.request("/api/auth/passkey/verify-registration", {
      method: "POST",
      headers: { ...JSON_BODY, authorization: `Bearer ${signedUp.token}`, cookie: optionsRes.headers.getSetCookie().map((c) => c.split(";")[0]).join("; "), origin: AUTH_ORIGIN },
      body: JSON.stringify({ response: authenticator.register(await optionsRes.json()) }),
    });
    expect(registered.status, await registered.clone().text()).toBe(200);
    // Google links to the account only once its address is known to be theirs.
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await db.query(`UPDATE "user" SET "emailVerified" = true WHERE id = $1`, [signedUp.user.id]);
    await db.end();
    expect((await googleWebSignIn()).landed.pathname).toBe("/signed-in");
    expect((await passkeySignIn()).status).toBe(200);
    // A code minted while still employed, exchanged after the offboard.
    const inFlight = pkce();
    const code = (await nativeCode(inFlight)).searchParams.get("code");
    expect(code).toBeTruthy();

    expect((await apps("offboard", "--email", "leaver@example.org"))[1]).toMatch(/^blocked sign-in/);

    const byPassword = await passwordSignIn("leaver@example.org");
    expect(byPassword.status).toBe(403);
    expect(await byPassword.json()).toMatchObject({ code: "BANNED_USER", message: expect.stringMatching(/blocked from signing in \(offboarded\)/) });

    const byPasskey = await passkeySignIn();
    expect(byPasskey.status).toBe(403);
    expect(await byPasskey.json()).toMatchObject({ code: "BANNED_USER" });

    const byGoogle = await googleWebSignIn();
    expect(byGoogle.landed.pathname).toBe("/sign-in-failed");
    expect(byGoogle.landed.searchParams.get("error")).toMatch(/banned/i);
    expect(byGoogle.jar.has("session_token")).toBe(false);

    const byExchange = await exchange(code!, inFlight.verifier);
    expect(byExchange.status).toBe(403);
    expect(await byExchange.json()).toMatchObject({ code: "BANNED_USER" });

    // The native in-app browser flow ends on the app's callback with an error, never a code.
    const nativeLanded = await nativeCode(pkce());
    expect(nativeLanded.searchParams.get("code")).toBeNull();
    expect(nativeLanded.searchParams.get("error")).toMatch(/banned/i);

    expect(await apps("reinstate", "--email", "leaver@example.org")).toHaveLength(1);
    expect((await passwordSignIn("leaver@example.org")).status).toBe(200);
    expect((await passkeySignIn()).status).toBe(200);
    expect((await googleWebSignIn()).landed.pathname).toBe("/signed-in");
    const again = pkce();
    const fresh = (await nativeCode(again)).searchParams.get("code")!;
    expect((await exchange(fresh, again.verifier)).status).toBe(200);
  });

  it("the audit trail holds each sign-in by method, the passkey added and every blocked attempt", async () => {
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const { rows } = await db.query(`SELECT action, outcome, subject, ip, detail->>'method' AS method FROM authplane_audit WHERE action LIKE 'sign%' OR action LIKE 'passkey.%' OR action LIKE 'apps.%' ORDER BY id`);
      const leaver = rows.filter((r) => r.subject === "leaver@example.org").map((r) => `${r.action} ${r.outcome}${r.method ? ` ${r.method}` : ""}`);
      expect(leaver.slice(0, 6)).toEqual(["sign_up success password", "passkey.added success", "sign_in success google", "sign_in success passkey", "sign_in success google", "apps.offboard success"]);
      expect(leaver).toContain("sign_in.blocked blocked password");
      expect(leaver).toContain("sign_in.blocked blocked passkey");
      expect(leaver.indexOf("apps.reinstate success")).toBeGreaterThan(leaver.indexOf("sign_in.blocked blocked passkey"));
      // Google and one-time-code refusals happen before anyone is identified: recorded all the same, without a subject.
      const blocked = rows.filter((r) => r.action === "sign_in.blocked").map((r) => r.method).sort();
      expect(blocked).toEqual(["google", "google", "native_code", "passkey", "password"]);
    } finally {
      await db.end();
    }
  });

  it("the admin plugin's HTTP endpoints are not served, not even to a signed-in user", async () => {
    const { token } = await signUpNative(auth, "curious@example.org");
    for (const path of ["/api/auth/admin/list-users", "/api/auth/admin/ban-user", "/api/auth/admin/unban-user", "/api/auth/admin/create-user", "/api/auth/admin/set-role"]) {
      const res = await auth.request(path, { method: path.endsWith("list-users") ? "GET" : "POST", headers: { ...JSON_BODY, authorization: `Bearer ${token}`, origin: AUTH_ORIGIN }, body: path.endsWith("list-users") ? undefined : "{}" });
      expect(res.status, path).toBe(404);
    }
  });
});
