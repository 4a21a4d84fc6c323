/**
 * What both per-account backoff suites (PostgreSQL, Redis) drive: a service with two accounts,
 * the first with a passkey, and sign-in attempts each from a fresh address, as a botnet would
 * send them, so Better Auth's per-client limit never trips and only the per-account one counts.
 */
import { expect } from "vitest";
import { SOURCE_IP_HEADER } from "../../../functions/auth/client-ip.js";
import { AUTH_ORIGIN, signUpNative, startAuth, type AuthApp } from "../clients/fixture.js";
import { SoftAuthenticator } from "../clients/soft-authenticator.js";

export const NATIVE = { "x-authplane-client": "native", "content-type": "application/json" };
export const PASSWORD = "correct horse battery staple";

const cookiesOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");

export async function startBackoffService(env: Record<string, string>, owner: string, bystander: string, network: string) {
  let next = 1;
  const freshAddress = () => ({ [SOURCE_IP_HEADER]: `${network}.${Math.floor(next / 250)}.${(next++ % 250) + 1}` });
  const auth = await startAuth(env);
  const authenticator = new SoftAuthenticator(AUTH_ORIGIN);
  const session = await signUpNative(auth, owner);
  await signUpNative(auth, bystander);
  const options = await auth.request("/api/auth/passkey/generate-register-options", { headers: { authorization: `Bearer ${session.token}` } });
  const registered = await auth.request("/api/auth/passkey/verify-registration", {
    method: "POST",
    headers: { ...NATIVE, authorization: `Bearer ${session.token}`, cookie: cookiesOf(options), origin: AUTH_ORIGIN },
    body: JSON.stringify({ response: authenticator.register(await options.json()) }),
  });
  expect(registered.status).toBe(200);

  const signIn = (email: string, password: string, app: AuthApp["app"] = auth.app) =>
    app.request(new URL("/api/auth/sign-in/email", AUTH_ORIGIN).toString(), {
      method: "POST",
      headers: { ...NATIVE, ...freshAddress() },
      body: JSON.stringify({ email, password }),
    });

  /** The owner's passkey; `tamper` flips a signature bit (a forged assertion). */
  const passkeySignIn = async (tamper = false) => {
    const opts = await auth.request("/api/auth/passkey/generate-authenticate-options", { headers: freshAddress() });
    const response = authenticator.authenticate(await opts.json()) as { response: { signature: string } };
    if (tamper) {
      const sig = Buffer.from(response.response.signature, "base64url");
      sig[sig.length - 1] = sig[sig.length - 1]! ^ 0xff;
      response.response.signature = sig.toString("base64url");
    }
    return auth.request("/api/auth/passkey/verify-authentication", {
      method: "POST",
      headers: { ...NATIVE, ...freshAddress(), cookie: cookiesOf(opts), origin: AUTH_ORIGIN },
      body: JSON.stringify({ response }),
    });
  };
  return { auth, signIn, passkeySignIn };
}
