import { serializeSignedCookie } from "better-call";

/** What a native app receives instead of a cookie, in both native flows. */
export interface BearerTokenResponse {
  /** Send as `Authorization: Bearer <token>`; Better Auth's bearer plugin turns it back into a session. */
  token: string;
  token_type: "Bearer";
  /** Seconds until the session behind the token expires. */
  expires_in: number;
}

/**
 * The bearer token for a session: the signed session-cookie value, byte for byte what the
 * bearer plugin exposes as `set-auth-token`, so `bearer({ requireSignature: true })` accepts it.
 */
export async function signedSessionToken(sessionToken: string, secret: string): Promise<string> {
  const serialized = await serializeSignedCookie("", sessionToken, secret);
  return decodeURIComponent(serialized.slice(serialized.indexOf("=") + 1));
}

export async function bearerTokenResponse(
  session: { token: string; expiresAt: Date | string },
  secret: string,
): Promise<BearerTokenResponse> {
  const expiresAt = new Date(session.expiresAt).getTime();
  return {
    token: await signedSessionToken(session.token, secret),
    token_type: "Bearer",
    expires_in: Math.max(0, Math.floor((expiresAt - Date.now()) / 1000)),
  };
}
