/**
 * Point Google sign-in at another OpenID Connect issuer (a local fake in tests and `make dev`,
 * a proxy, a sandbox). Better Auth 1.7's built-in Google provider lets only the authorization
 * endpoint be overridden; its token and JWKS endpoints are fixed to googleapis.com. Better
 * Auth's genericOAuth plugin registers an OIDC provider from a discovery document as a
 * first-class social provider, so with the id "google" it serves the same /sign-in/social and
 * /callback/google routes and verifies the ID token against the issuer's JWKS and nonce.
 *
 * Unset (the default, and production), the built-in Google provider is used unchanged.
 */
import { genericOAuth } from "better-auth/plugins/generic-oauth";

export interface GoogleOverrideOptions {
  /** `<issuer>/.well-known/openid-configuration` of the stand-in for Google. */
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
}

export function googleOidcOverride({ discoveryUrl, clientId, clientSecret }: GoogleOverrideOptions) {
  return genericOAuth({
    config: [
      {
        providerId: "google",
        discoveryUrl,
        clientId,
        clientSecret,
        scopes: ["openid", "email", "profile"],
        pkce: true,
        requireIdTokenVerification: true,
      },
    ],
  });
}
