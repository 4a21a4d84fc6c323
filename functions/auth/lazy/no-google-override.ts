/**
 * Stand-in for ./google-override.ts inside the Lambda bundle (wired by functions/build.ts).
 * Pointing "Google" at another OIDC issuer exists for tests and `make dev`; the deployed
 * service always talks to Google itself, so the generic-OAuth plugin (and its share of every
 * cold start) is left out, and setting the variable there fails loudly instead of silently.
 */
export function googleOidcOverride(): never {
  throw new Error("GOOGLE_OIDC_DISCOVERY_URL (a stand-in for Google, for tests and local development) is not supported by the Lambda bundle; unset it");
}
