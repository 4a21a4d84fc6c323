/**
 * Session settings that both Better Auth's options (auth.ts) and the lean read path before
 * Better Auth (session-read.ts, on a cold bundle) need; here so the two cannot drift apart and
 * the lean path does not have to load Better Auth to learn them.
 */
import type { AuthConfig } from "./config.js";

/** Sessions last a week and slide daily. */
export const SESSION_EXPIRES_IN = 7 * 24 * 3600;
export const SESSION_UPDATE_AGE = 24 * 3600;

/**
 * Secure cookies whenever the browser-facing origins are https, even if the service itself is
 * reached over plain http behind the apps' proxies (as in `make dev`). authplane always sets
 * `useSecureCookies` explicitly, so this alone decides Better Auth's `__Secure-` cookie prefix.
 */
export function secureCookies(config: Pick<AuthConfig, "baseURL" | "trustedOrigins">): boolean {
  return config.baseURL.startsWith("https:") || config.trustedOrigins.every((o) => o.startsWith("https:"));
}
