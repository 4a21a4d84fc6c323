/**
 * Stand-in for `@simplewebauthn/server` inside the Lambda bundle (wired by functions/build.ts).
 * The WebAuthn library and its ASN.1/CBOR dependencies are a large share of the bundle but only
 * passkey routes use them, so they load on the first passkey request instead of at every cold
 * start. All four functions the passkey plugin imports are already async, so callers cannot
 * tell the difference.
 */
type Real = typeof import("@simplewebauthn/server");
type Fn<K extends keyof Real> = Real[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

let real: Promise<Real> | undefined;
// The bundler resolves this specifier to the copy @better-auth/passkey itself depends on.
// @ts-expect-error virtual module, see functions/build.ts
const load = (): Promise<Real> => (real ??= import("authplane:simplewebauthn-server"));

export const generateRegistrationOptions: Fn<"generateRegistrationOptions"> = async (...a) => (await load()).generateRegistrationOptions(...a);
export const generateAuthenticationOptions: Fn<"generateAuthenticationOptions"> = async (...a) => (await load()).generateAuthenticationOptions(...a);
export const verifyRegistrationResponse: Fn<"verifyRegistrationResponse"> = async (...a) => (await load()).verifyRegistrationResponse(...a);
export const verifyAuthenticationResponse: Fn<"verifyAuthenticationResponse"> = async (...a) => (await load()).verifyAuthenticationResponse(...a);
