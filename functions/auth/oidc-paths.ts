/** The OpenID Provider's page paths, apart from the provider so app.ts can route them without loading it. */
export const OIDC_SIGN_IN_PATH = "/oidc/sign-in";
export const OIDC_CONSENT_PATH = "/oidc/consent";
