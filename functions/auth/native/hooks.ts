import { createAuthMiddleware } from "@better-auth/core/api";
import { bearerTokenResponse } from "./bearer-token.js";

/** A native app asks for a bearer token instead of relying on the session cookie. */
export const NATIVE_CLIENT_HEADER = "x-authplane-client";
export const NATIVE_CLIENT_VALUE = "native";

/** Sign-in endpoints whose response a native client gets in bearer shape. */
export const BEARER_SIGN_IN_PATHS = ["/passkey/verify-authentication", "/sign-in/email", "/sign-up/email"];

/**
 * After a native client signs in (pattern 4: the passkey ceremony through the API), answer
 * `{ token, token_type: "Bearer", expires_in, user }`. The token is the one the bearer plugin
 * would put in `set-auth-token`; we only give it a shape native apps and OAuth libraries expect.
 */
export const bearerSignInResponse = {
  matcher: (ctx: { path?: string; headers?: Headers; request?: Request }) =>
    BEARER_SIGN_IN_PATHS.includes(ctx.path ?? "") &&
    (ctx.headers ?? ctx.request?.headers)?.get(NATIVE_CLIENT_HEADER) === NATIVE_CLIENT_VALUE,
  handler: createAuthMiddleware(async (ctx) => {
    const created = ctx.context.newSession;
    if (!created) return;
    const bearer = await bearerTokenResponse(created.session, ctx.context.secret);
    ctx.setHeader("cache-control", "no-store");
    return ctx.json({ ...bearer, user: created.user });
  }),
};
