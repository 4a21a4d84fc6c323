import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createAuthEndpoint } from "@better-auth/core/api";
import { APIError } from "@better-auth/core/error";
import { getSessionFromCtx, signInSocial } from "better-auth/api";
import { expireCookie, parseSetCookieHeader, toCookieOptions } from "better-auth/cookies";
import * as z from "zod";
import { bearerTokenResponse } from "./bearer-token.js";
import { NATIVE_ERROR_CODES } from "./error-codes.js";
import type { NativeAuthCode } from "./schema.js";
import type { ResolvedNativeAppOptions } from "./types.js";

const MODEL = "nativeAuthCode";
/** Name (before Better Auth's prefix) of the cookie that carries the app's request through Google. */
const FLOW_COOKIE = "native_flow";
/** How long the in-app browser may spend at Google before the flow cookie lapses. */
const FLOW_MAX_AGE_SECONDS = 600;
/** Consumed and expired codes stay this long so a late replay is reported as a replay. */
const CODE_RETENTION_MS = 60 * 60 * 1000;

/** RFC 7636: an S256 challenge is 32 bytes base64url without padding; a verifier 43–128 unreserved chars. */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

interface FlowState {
  redirectUri: string;
  codeChallenge: string;
  state?: string;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url");

function appRedirect(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

/**
 * GET /native/authorize — opened by the native app in an in-app browser
 * (ASWebAuthenticationSession / Custom Tabs) with its callback and a PKCE S256 challenge.
 * Remembers both in a signed, short-lived cookie and hands over to Better Auth's own social
 * sign-in, whose callback lands on /native/finish.
 */
export const nativeAuthorize = (opts: ResolvedNativeAppOptions) =>
  createAuthEndpoint(
    "/native/authorize",
    {
      method: "GET",
      query: z.object({
        redirect_uri: z.string(),
        code_challenge: z.string(),
        code_challenge_method: z.string(),
        state: z.string().max(512).optional(),
        provider: z.string().optional(),
      }),
    },
    async (ctx) => {
      const q = ctx.query;
      if (!opts.callbacks.includes(q.redirect_uri)) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.INVALID_REDIRECT_URI);
      }
      if (q.code_challenge_method !== "S256") {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.UNSUPPORTED_CODE_CHALLENGE_METHOD);
      }
      if (!CODE_CHALLENGE.test(q.code_challenge)) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.INVALID_CODE_CHALLENGE);
      }
      const provider = q.provider ?? opts.defaultProvider;
      if (!ctx.context.socialProviders.some((p) => p.id === provider)) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.PROVIDER_NOT_FOUND);
      }

      const flow: FlowState = { redirectUri: q.redirect_uri, codeChallenge: q.code_challenge, state: q.state };
      const cookie = ctx.context.createAuthCookie(FLOW_COOKIE, { maxAge: FLOW_MAX_AGE_SECONDS });
      await ctx.setSignedCookie(cookie.name, JSON.stringify(flow), ctx.context.secret, cookie.attributes);

      // Better Auth's own sign-in does the state, PKCE and nonce towards Google; we only ask it
      // to come back to /native/finish, on success and on error alike.
      const finishURL = `${ctx.context.baseURL}/native/finish`;
      const started = await signInSocial()({
        ...ctx,
        method: "POST",
        body: { provider, callbackURL: finishURL, errorCallbackURL: finishURL, disableRedirect: true },
        asResponse: false,
        returnHeaders: true,
      });
      for (const setCookie of started.headers.getSetCookie()) {
        parseSetCookieHeader(setCookie).forEach((attrs, name) => {
          ctx.setCookie(name, attrs.value, toCookieOptions(attrs));
        });
      }
      if (!started.response.url) throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.PROVIDER_NOT_FOUND);
      throw ctx.redirect(started.response.url);
    },
  );

/**
 * GET /native/finish — where Better Auth's OAuth callback sends the in-app browser. It now
 * holds a session cookie; mint a one-time code bound to the app's callback and PKCE challenge
 * and redirect to the app with `?code=` (never a session token in a URL).
 */
export const nativeFinish = (opts: ResolvedNativeAppOptions) =>
  createAuthEndpoint(
    "/native/finish",
    { method: "GET", query: z.object({ error: z.string().optional() }).optional() },
    async (ctx) => {
      const cookie = ctx.context.createAuthCookie(FLOW_COOKIE);
      const raw = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
      const flow = raw ? parseFlow(raw) : null;
      if (!flow || !opts.callbacks.includes(flow.redirectUri)) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.NATIVE_FLOW_NOT_FOUND);
      }
      expireCookie(ctx, cookie);

      if (ctx.query?.error) {
        throw ctx.redirect(appRedirect(flow.redirectUri, { error: ctx.query.error, state: flow.state }));
      }
      const session = await getSessionFromCtx(ctx);
      if (!session) throw ctx.redirect(appRedirect(flow.redirectUri, { error: "access_denied", state: flow.state }));

      const code = randomBytes(32).toString("base64url");
      const now = new Date();
      await ctx.context.adapter.create({
        model: MODEL,
        data: {
          codeHash: sha256(code),
          userId: session.user.id,
          redirectUri: flow.redirectUri,
          codeChallenge: flow.codeChallenge,
          expiresAt: new Date(now.getTime() + opts.codeTtlSeconds * 1000),
          createdAt: now,
        },
      });
      await ctx.context.runInBackgroundOrAwait(
        ctx.context.adapter
          .deleteMany({
            model: MODEL,
            where: [{ field: "expiresAt", operator: "lt", value: new Date(now.getTime() - CODE_RETENTION_MS) }],
          })
          .then(() => undefined)
          .catch((e: unknown) => ctx.context.logger.error("Error pruning native auth codes", e)),
      );
      throw ctx.redirect(appRedirect(flow.redirectUri, { code, state: flow.state }));
    },
  );

/**
 * POST /native/exchange — called by the native app (no cookies) with the code from its
 * callback, the PKCE verifier and the callback it used. Consumes the code atomically, then
 * returns a bearer token for a fresh session. A failed attempt burns the code too: whoever
 * intercepted it gets one guess, and the app then sees CODE_ALREADY_USED and starts over.
 */
export const nativeExchange = () =>
  createAuthEndpoint(
    "/native/exchange",
    {
      method: "POST",
      body: z.object({
        code: z.string().min(1).max(256),
        code_verifier: z.string().max(256),
        redirect_uri: z.string().max(2048),
      }),
    },
    async (ctx) => {
      const { code, code_verifier, redirect_uri } = ctx.body;
      const adapter = ctx.context.adapter;
      const row = await adapter.findOne<NativeAuthCode>({
        model: MODEL,
        where: [{ field: "codeHash", value: sha256(code) }],
      });
      if (!row) throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.INVALID_CODE);

      const consumed = row.consumedAt
        ? 0
        : await adapter.updateMany({
            model: MODEL,
            where: [
              { field: "id", value: row.id },
              { field: "consumedAt", value: null },
            ],
            update: { consumedAt: new Date() },
          });
      if (consumed !== 1) {
        // RFC 6749 §4.1.2: a code used twice may have been stolen; revoke what it bought.
        const winner = await adapter.findOne<NativeAuthCode>({ model: MODEL, where: [{ field: "id", value: row.id }] });
        if (winner?.sessionToken) await ctx.context.internalAdapter.deleteSession(winner.sessionToken);
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.CODE_ALREADY_USED);
      }
      if (new Date(row.expiresAt).getTime() <= Date.now()) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.CODE_EXPIRED);
      }
      if (redirect_uri !== row.redirectUri) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.REDIRECT_URI_MISMATCH);
      }
      if (!CODE_VERIFIER.test(code_verifier) || !sameText(sha256(code_verifier), row.codeChallenge)) {
        throw APIError.from("BAD_REQUEST", NATIVE_ERROR_CODES.INVALID_CODE_VERIFIER);
      }

      const session = await ctx.context.internalAdapter.createSession(row.userId);
      if (!session) throw APIError.from("INTERNAL_SERVER_ERROR", NATIVE_ERROR_CODES.UNABLE_TO_CREATE_SESSION);
      await adapter.update({
        model: MODEL,
        where: [{ field: "id", value: row.id }],
        update: { sessionToken: session.token },
      });
      // A token in a response body must never be cached (RFC 6749 §5.1).
      ctx.setHeader("cache-control", "no-store");
      return ctx.json(await bearerTokenResponse(session, ctx.context.secret));
    },
  );

function parseFlow(raw: string): FlowState | null {
  try {
    const v = JSON.parse(raw) as Partial<FlowState>;
    if (typeof v.redirectUri !== "string" || typeof v.codeChallenge !== "string") return null;
    return { redirectUri: v.redirectUri, codeChallenge: v.codeChallenge, state: v.state };
  } catch {
    return null;
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
