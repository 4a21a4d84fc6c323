import { defineErrorCodes } from "@better-auth/core/utils/error-codes";

/**
 * Every way the native-app flow can fail, one code each, so an app branches on `code` and an
 * operator can tell a replay from an expiry in the logs.
 */
export const NATIVE_ERROR_CODES = defineErrorCodes({
  INVALID_REDIRECT_URI: "redirect_uri is not one of the configured native app callbacks",
  UNSUPPORTED_CODE_CHALLENGE_METHOD: "code_challenge_method must be S256",
  INVALID_CODE_CHALLENGE: "code_challenge must be a base64url SHA-256 digest (43 characters)",
  PROVIDER_NOT_FOUND: "The requested sign-in provider is not configured",
  NATIVE_FLOW_NOT_FOUND: "No native sign-in is in progress in this browser (start at /native/authorize)",
  INVALID_CODE: "The code is unknown",
  CODE_ALREADY_USED: "The code has already been exchanged",
  CODE_EXPIRED: "The code has expired",
  INVALID_CODE_VERIFIER: "code_verifier does not match the code_challenge",
  REDIRECT_URI_MISMATCH: "redirect_uri differs from the one the code was issued for",
  UNABLE_TO_CREATE_SESSION: "Unable to create a session",
});
