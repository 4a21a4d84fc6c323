/**
 * The auth service as the client-pattern tests see it: the real createApp on a fresh real
 * PostgreSQL database, spoken to with absolute URLs on its public origin.
 */
import { configFromEnv } from "../../../functions/auth/config.js";
import { createApp } from "../../../functions/auth/app.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { freshDatabaseUrl } from "../../support/database.js";

export const AUTH_ORIGIN = "https://auth.authplane.test";
export const RP_ID = "authplane.test";
export const APP_SCHEME_CALLBACK = "org.example.app:/oauth";
export const APP_LINK_CALLBACK = `${AUTH_ORIGIN}/app/callback`;

/** Environment every client test starts from; each test adds what its pattern needs. */
export async function baseEnv(dbPrefix: string): Promise<Record<string, string>> {
  return {
    DATABASE_URL: await freshDatabaseUrl(dbPrefix),
    BETTER_AUTH_URL: AUTH_ORIGIN,
    BETTER_AUTH_SECRET: "client-pattern-tests-secret-0123456789abcdef",
    TRUSTED_ORIGINS: AUTH_ORIGIN,
    PASSKEY_RP_ID: RP_ID,
    PASSKEY_RP_NAME: "authplane tests",
    ALLOWED_RP_IDS: RP_ID,
    JWT_ISSUER: AUTH_ORIGIN,
    JWT_AUDIENCE: "authplane-tests",
    GOOGLE_CLIENT_ID: "unused-google-client",
    GOOGLE_CLIENT_SECRET: "unused-google-secret",
    EMAIL_PASSWORD_ENABLED: "true",
  };
}

export type AuthApp = Awaited<ReturnType<typeof startAuth>>;

/** Migrate (plugin tables included) and build the app; `migrateFirst: false` for a second instance. */
export async function startAuth(env: Record<string, string>, { migrateFirst = true, origin = AUTH_ORIGIN } = {}) {
  const config = configFromEnv(env);
  if (migrateFirst) await migrate(config);
  const app = createApp(config);
  return {
    config,
    app,
    request: (path: string, init?: RequestInit) => Promise.resolve(app.request(new URL(path, origin).toString(), init)),
  };
}

/** A cookie jar for clients that are browsers in disguise (the in-app browser). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  absorb(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  has(name: string): boolean {
    return [...this.cookies.keys()].some((k) => k.endsWith(name));
  }
}

export async function signUpNative(auth: AuthApp, email: string) {
  const res = await auth.request("/api/auth/sign-up/email", {
    method: "POST",
    headers: { "content-type": "application/json", "x-authplane-client": "native" },
    body: JSON.stringify({ email, password: "correct horse battery staple", name: email.split("@")[0] }),
  });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { token: string; token_type: string; expires_in: number; user: { id: string; email: string } };
}
