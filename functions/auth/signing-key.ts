/**
 * The JWT signing key held in memory. Better Auth's jwt plugin, per token, reads every key row
 * (`SELECT * FROM jwks`), decrypts the private key (SHA-256 + XChaCha20 in JS), imports it and
 * signs through WebCrypto: about 1 ms of CPU and a query for each `/token`. Here each instance
 * reads the key rows once per `refreshMs` (and whenever its current key has expired), decrypts
 * the current private key once into a `node:crypto` KeyObject, and signs with the async
 * `crypto.sign` (OpenSSL on libuv's thread pool).
 *
 * It hooks into the plugin rather than replacing it: the rows stay Better Auth's (same table,
 * same encryption with the auth secret, same rotation and grace period, minted by Better Auth's
 * own `createJwk` through `adapter.createJwk`), `/jwks` is the plugin's endpoint fed from this
 * cache through `adapter.getJwks` (or, for a plain request, jwks-lean.ts from the same cache),
 * and `jwt.sign` does the signature.
 *
 * Why `jwt.sign` is attached after `jwt()` returns: the plugin refuses `jwt.sign` without
 * `jwks.remoteUrl`, because a signer usually holds keys the plugin does not publish (KMS). This
 * one signs with the plugin's own published keys, so the local JWKS is the right one; setting
 * `remoteUrl` would turn the plugin's `/jwks` off and make the OAuth provider plugin fetch our
 * own JWKS over the network (no egress from the VPC by default). See docs/better-auth-notes.md.
 */
import { getCurrentAuthEndpointContext } from "@better-auth/core/context";
import { createJwk, jwt, type JwtOptions } from "better-auth/plugins/jwt";
import { jwtPluginOf, SigningKeyCache, SigningKeyError, signCompact } from "./signing-key-cache.js";

export { SIGNING_KEY_REFRESH_MS, SigningKeyCache, SigningKeyError, signCompact, type SigningKeyCacheOptions, type SignerKey } from "./signing-key-cache.js";

type JwtPlugin = ReturnType<typeof jwt>;

/**
 * Better Auth's jwt plugin with the key rows cached and tokens signed by the in-memory key.
 * Options are the plugin's own; `jwt.sign` and `adapter` are set here.
 */
export function jwtWithKeyInMemory(options: JwtOptions, cache: SigningKeyCache): JwtPlugin & { keyCache: SigningKeyCache } {
  const pluginOptions: JwtOptions = {
    ...options,
    adapter: {
      getJwks: () => cache.rows(),
      createJwk: (data, ctx) => cache.create(data, String(ctx.context.generateId({ model: "jwks" }) || crypto.randomUUID())),
    },
  };
  const plugin = jwt(pluginOptions);
  // Read by the plugin at call time (signJWT, and the OAuth provider's id tokens); see the header comment.
  pluginOptions.jwt = {
    ...pluginOptions.jwt,
    sign: async (payload, header, signingConfig) => {
      const ctx = await getCurrentAuthEndpointContext();
      const key = await cache.signer(() => createJwk(ctx as Parameters<typeof createJwk>[0], pluginOptions), ctx.context.secretConfig, signingConfig?.signingKeyId);
      if (signingConfig?.signingAlgorithm && signingConfig.signingAlgorithm !== key.alg) {
        throw new SigningKeyError(`signing with ${signingConfig.signingAlgorithm} is not configured (keys are ${key.alg})`);
      }
      return signCompact(payload as Record<string, unknown>, header, key);
    },
  };
  return Object.assign(plugin, { keyCache: cache });
}

/** The key cache behind an auth instance's jwt plugin (tests, benchmarks). */
export function keyCacheOf(auth: { options: { plugins?: unknown[] } }): SigningKeyCache | undefined {
  return jwtPluginOf(auth.options.plugins)?.keyCache;
}
