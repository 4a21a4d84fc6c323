import type { BetterAuthPlugin } from "@better-auth/core";
import { NATIVE_ERROR_CODES } from "./error-codes.js";
import { bearerSignInResponse } from "./hooks.js";
import { nativeAuthorize, nativeExchange, nativeFinish } from "./routes.js";
import { nativeSchema } from "./schema.js";
import type { NativeAppOptions, ResolvedNativeAppOptions } from "./types.js";

export { NATIVE_ERROR_CODES } from "./error-codes.js";
export { NATIVE_CLIENT_HEADER, NATIVE_CLIENT_VALUE } from "./hooks.js";
export type { BearerTokenResponse } from "./bearer-token.js";
export type { NativeAppOptions } from "./types.js";

const MAX_CODE_TTL_SECONDS = 60;

/**
 * Native apps: bearer-shaped sign-in responses (pattern 4) and the in-app-browser OAuth flow
 * with a one-time code exchange (pattern 5). Needs Better Auth's `bearer` plugin to accept the
 * tokens it hands out.
 */
export const nativeApp = (options: NativeAppOptions) => {
  const opts: ResolvedNativeAppOptions = {
    codeTtlSeconds: MAX_CODE_TTL_SECONDS,
    defaultProvider: "google",
    exchangeRateLimit: { window: 60, max: 10 },
    ...options,
  };
  if (!(opts.codeTtlSeconds > 0 && opts.codeTtlSeconds <= MAX_CODE_TTL_SECONDS)) {
    throw new Error(`nativeApp: codeTtlSeconds must be in (0, ${MAX_CODE_TTL_SECONDS}], got ${opts.codeTtlSeconds}`);
  }
  for (const callback of opts.callbacks) {
    if (!URL.canParse(callback)) throw new Error(`nativeApp: callback ${JSON.stringify(callback)} is not an absolute URL`);
  }
  return {
    id: "authplane-native-app",
    endpoints: {
      nativeAuthorize: nativeAuthorize(opts),
      nativeFinish: nativeFinish(opts),
      nativeExchange: nativeExchange(),
    },
    hooks: { after: [bearerSignInResponse] },
    schema: nativeSchema,
    rateLimit: [{ pathMatcher: (path: string) => path === "/native/exchange", ...opts.exchangeRateLimit }],
    $ERROR_CODES: NATIVE_ERROR_CODES,
    options: opts,
  } satisfies BetterAuthPlugin;
};
