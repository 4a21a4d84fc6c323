/**
 * Pattern 4: a native app signs in with a passkey through the API (the platform passkey API
 * stands in as a software authenticator) and carries a bearer token from then on.
 */
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH_ORIGIN, CookieJar, baseEnv, signUpNative, startAuth, type AuthApp } from "./fixture.js";
import { SoftAuthenticator } from "./soft-authenticator.js";

const NATIVE = { "x-authplane-client": "native" };
const JSON_BODY = { "content-type": "application/json" };

/** The challenge cookie is ceremony plumbing (which challenge to check), not a session. */
function challengeCookie(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

async function registerPasskey(auth: AuthApp, bearer: string, authenticator: SoftAuthenticator) {
  const optionsRes = await auth.request("/api/auth/passkey/generate-register-options", {
    headers: { authorization: `Bearer ${bearer}` },
  });
  expect(optionsRes.status).toBe(200);
  const res = await auth.request("/api/auth/passkey/verify-registration", {
    method: "POST",
    headers: { ...JSON_BODY, authorization: `Bearer ${bearer}`, cookie: challengeCookie(optionsRes), origin: AUTH_ORIGIN },
    body: JSON.stringify({ response: authenticator.register(await optionsRes.json()) }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function passkeySignIn(auth: AuthApp, authenticator: SoftAuthenticator, headers: Record<string, string> = NATIVE) {
  const optionsRes = await auth.request("/api/auth/passkey/generate-authenticate-options");
  expect(optionsRes.status).toBe(200);
  return auth.request("/api/auth/passkey/verify-authentication", {
    method: "POST",
    headers: { ...JSON_BODY, ...headers, cookie: challengeCookie(optionsRes), origin: AUTH_ORIGIN },
    body: JSON.stringify({ response: authenticator.authenticate(await optionsRes.json()) }),
  });
}

describe("native app with passkeys → bearer token", () => {
  let auth: AuthApp;
  const authenticator = new SoftAuthenticator(AUTH_ORIGIN);
  let userId: string;

  beforeAll(async () => {
    auth = await startAuth(await baseEnv("native_pk"));
    const signedUp = await signUpNative(auth, "grace@example.org");
    userId = signedUp.user.id;
    await registerPasskey(auth, signedUp.token, authenticator);
  });

  it("a passkey sign-in through the API answers { token, token_type: Bearer, expires_in }", async () => {
    const res = await passkeySignIn(auth, authenticator);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; token_type: string; expires_in: number; user: { id: string } };
    expect(body.token_type).toBe("Bearer");
    expect(body.token).toMatch(/^[A-Za-z0-9]+\.[A-Za-z0-9+/=_-]+$/);
    expect(body.user.id).toBe(userId);
    const session = (await (
      await auth.request("/api/auth/get-session", { headers: { authorization: `Bearer ${body.token}` } })
    ).json()) as { session: { expiresAt: string } };
    const remaining = (new Date(session.session.expiresAt).getTime() - Date.now()) / 1000;
    expect(Math.abs(body.expires_in - remaining)).toBeLessThan(5);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("the bearer token opens the session and fetches a JWT for that user", async () => {
    const { token } = (await (await passkeySignIn(auth, authenticator)).json()) as { token: string };
    const session = await auth.request("/api/auth/get-session", { headers: { authorization: `Bearer ${token}` } });
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe("grace@example.org");

    const jwtRes = await auth.request("/api/auth/token", { headers: { authorization: `Bearer ${token}` } });
    expect(jwtRes.status).toBe(200);
    const { token: jwt } = (await jwtRes.json()) as { token: string };
    expect(decodeJwt(jwt).sub).toBe(userId);
  });

  it("a client that does not ask for bearer keeps Better Auth's cookie response", async () => {
    const res = await passkeySignIn(auth, authenticator, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toHaveProperty("session");
    expect(body).not.toHaveProperty("token_type");
    expect(res.headers.getSetCookie().join()).toMatch(/session_token=.*HttpOnly.*Secure.*SameSite=Lax/i);
  });

  it("bearer requests need no origin, while cookie requests keep the origin/CSRF check", async () => {
    const { token } = (await (await passkeySignIn(auth, authenticator)).json()) as { token: string };
    const update = (headers: Record<string, string>) =>
      auth.request("/api/auth/update-user", { method: "POST", headers: { ...JSON_BODY, ...headers }, body: JSON.stringify({ name: "Grace" }) });

    // Bearer: no cookie, no Origin, nothing a browser could be tricked into sending.
    expect((await update({ authorization: `Bearer ${token}` })).status).toBe(200);

    const jar = new CookieJar();
    jar.absorb(await passkeySignIn(auth, authenticator, {}));
    expect(jar.has("session_token")).toBe(true);
    expect((await update({ cookie: jar.header(), origin: "https://evil.example" })).status).toBe(403);
    expect((await update({ cookie: jar.header() })).status).toBe(403);
    expect((await update({ cookie: jar.header(), origin: AUTH_ORIGIN })).status).toBe(200);
  });

  it("a forged or unsigned-garbage bearer token opens nothing", async () => {
    const res = await auth.request("/api/auth/get-session", { headers: { authorization: "Bearer not.a-token" } });
    expect(await res.json()).toBeNull();
  });
});
