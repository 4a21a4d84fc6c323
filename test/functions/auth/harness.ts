/**
 * The auth service on a fresh real PostgreSQL database, spoken to through `app.request` with a
 * cookie jar per simulated browser.
 */
import { createApp } from "../../../functions/auth/app.js";
import { createAuth, createPool } from "../../../functions/auth/auth.js";
import { configFromEnv, type Env } from "../../../functions/auth/config.js";
import { migrate } from "../../../functions/auth/migrate.js";
import { signForwarded } from "../../../functions/proxy/signature.js";
import { freshDatabaseUrl } from "../../support/database.js";

export const APP_ONE = "https://app-one.authplane.test";
export const APP_TWO = "https://app-two.authplane.test";
export const AUTH_URL = "https://auth.authplane.test";
export const AUDIENCE = "authplane-apps";
/** What the apps' proxies sign forwarded headers with (PROXY_SECRET). */
export const PROXY_SECRET = "test-proxy-secret-0123456789abcdef0123456789";

/** The headers an app proxy adds for a browser on `origin` at address `ip` (functions/proxy). */
export function proxiedHeaders(origin: string, ip = ""): Record<string, string> {
  return signForwarded(PROXY_SECRET, { host: new URL(origin).host, proto: "https", client: ip });
}

export async function testEnv(prefix: string, extra: Env = {}): Promise<Env> {
  return {
    DATABASE_URL: await freshDatabaseUrl(prefix),
    BETTER_AUTH_URL: AUTH_URL,
    BETTER_AUTH_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
    TRUSTED_ORIGINS: `${APP_ONE},${APP_TWO}`,
    PASSKEY_RP_ID: "authplane.test",
    ALLOWED_RP_IDS: "authplane.test",
    JWT_ISSUER: AUTH_URL,
    JWT_AUDIENCE: AUDIENCE,
    EMAIL_PASSWORD_ENABLED: "true",
    TRUST_PROXY_HEADERS: "true",
    PROXY_SECRET,
    ...extra,
  };
}

export async function startService(env: Env) {
  const config = configFromEnv(env);
  await migrate(config);
  const pool = createPool(config);
  const auth = createAuth(config, { pool });
  const app = createApp(config, { auth });
  return { config, auth, app, pool, close: () => pool.end() };
}
export type Service = Awaited<ReturnType<typeof startService>>;

/** A browser on one app origin: sends its Origin, keeps cookies, goes through the app's (signing) proxy. */
let nextIp = 1;

export class Browser {
  private cookies = new Map<string, string>();
  /** Each browser is its own client address, so rate limits count per browser as in life. */
  readonly ip = `10.0.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 1}`;
  constructor(
    private readonly service: Service,
    readonly origin: string,
  ) {}

  async fetch(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(path, AUTH_URL);
    const headers: Record<string, string> = {
      origin: this.origin,
      // What the app's proxy adds: the app's host and this browser's address, signed.
      ...proxiedHeaders(this.origin, this.ip),
      ...init.headers,
    };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await this.service.app.request(url.toString(), {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    return res;
  }

  async json<T = any>(path: string, init: Parameters<Browser["fetch"]>[1] = {}): Promise<T> {
    const res = await this.fetch(path, init);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async signUp(email: string, name = email.split("@")[0]!): Promise<{ user: { id: string; email: string } }> {
    return this.json("/api/auth/sign-up/email", { body: { email, name, password: "correct horse battery staple" } });
  }
}
