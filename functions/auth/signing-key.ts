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
 * own `createJwk` through `adapter.createJwk`), `/jwks` stays the plugin's endpoint fed from
 * this cache through `adapter.getJwks`, and `jwt.sign` does the signature.
 *
 * Why `jwt.sign` is attached after `jwt()` returns: the plugin refuses `jwt.sign` without
 * `jwks.remoteUrl`, because a signer usually holds keys the plugin does not publish (KMS). This
 * one signs with the plugin's own published keys, so the local JWKS is the right one; setting
 * `remoteUrl` would turn the plugin's `/jwks` off and make the OAuth provider plugin fetch our
 * own JWKS over the network (no egress from the VPC by default). See docs/better-auth-notes.md.
 */
import { getCurrentAuthEndpointContext } from "@better-auth/core/context";
import { symmetricDecrypt } from "better-auth/crypto";
import { createJwk, jwt, type Jwk, type JwtOptions } from "better-auth/plugins/jwt";
import { createPrivateKey, sign as signAsync, type KeyObject } from "node:crypto";
import type pg from "pg";

/** How long an instance trusts its key rows before reading them again (another instance may have rotated). */
export const SIGNING_KEY_REFRESH_MS = 30_000;

const ADVISORY_LOCK = "authplane:jwks:rotate";

interface SignerKey {
  kid: string;
  alg: string;
  key: KeyObject;
}

export class SigningKeyError extends Error {
  override name = "SigningKeyError";
}

export interface SigningKeyCacheOptions {
  pool: pg.Pool;
  /** The algorithm new keys are made for and tokens are signed with (jwks.keyPairConfig.alg). */
  alg: string;
  /** Keys expired longer ago than this are no longer published (jwks.gracePeriod), seconds. */
  graceSeconds: number;
  /** @default SIGNING_KEY_REFRESH_MS */
  refreshMs?: number;
}

/**
 * Key rows and the decrypted current key, per instance. `rows()` is what the plugin's
 * `adapter.getJwks` returns; `signer()` the KeyObject to sign with.
 */
export class SigningKeyCache {
  private loaded?: { at: number; rows: Promise<Jwk[]> };
  private signerKey?: SignerKey;
  /** Reads of the jwks table so far (tests check that requests do not cause them). */
  reads = 0;

  constructor(private readonly options: SigningKeyCacheOptions) {}

  /** Forget what was read: the next call reads the table again (after a rotation here). */
  invalidate(): void {
    this.loaded = undefined;
  }

  /** Published rows: live keys with their (encrypted) private half, keys within the grace period without it. */
  rows(): Promise<Jwk[]> {
    const now = Date.now();
    if (!this.loaded || now - this.loaded.at >= (this.options.refreshMs ?? SIGNING_KEY_REFRESH_MS)) {
      const rows = this.read(now);
      this.loaded = { at: now, rows };
      rows.catch(() => {
        if (this.loaded?.rows === rows) this.loaded = undefined; // a failed read is retried, not replayed
      });
    }
    return this.loaded.rows;
  }

  private async read(now: number): Promise<Jwk[]> {
    this.reads++;
    // Only what is used: expired keys' private halves never leave the database.
    const { rows } = await this.options.pool.query<Jwk & { privateKey: string | null; expiresAt: Date | null; alg: string | null; crv: string | null }>(
      `SELECT id, "publicKey", alg, crv, "createdAt", "expiresAt",
              CASE WHEN "expiresAt" IS NULL OR "expiresAt" > $2 THEN "privateKey" END AS "privateKey"
         FROM "jwks" WHERE "expiresAt" IS NULL OR "expiresAt" > $1
        ORDER BY "createdAt" DESC LIMIT 100`,
      [new Date(now - this.options.graceSeconds * 1000), new Date(now)],
    );
    return rows.map((r) => ({
      id: r.id,
      publicKey: r.publicKey,
      privateKey: r.privateKey ?? "",
      createdAt: r.createdAt,
      ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}),
      ...(r.alg ? { alg: r.alg as Jwk["alg"] } : {}),
      ...(r.crv ? { crv: r.crv as Jwk["crv"] } : {}),
    }));
  }

  /** The newest live key for our algorithm, as Better Auth's own selection picks it. */
  private pick(rows: Jwk[], signingKeyId?: string): Jwk | undefined {
    const now = Date.now();
    const live = rows.filter((k) => k.privateKey && (!k.expiresAt || k.expiresAt.getTime() > now));
    if (signingKeyId !== undefined) return live.find((k) => k.id === signingKeyId);
    return live.find((k) => (k.alg ?? this.options.alg) === this.options.alg) ?? live[0];
  }

  /**
   * The key to sign with: the cached KeyObject while it is still the newest live key, otherwise
   * the rows are read again and, when no live key is left, Better Auth mints one.
   */
  async signer(mint: () => Promise<unknown>, secretConfig: unknown, signingKeyId?: string): Promise<SignerKey> {
    let row = this.pick(await this.rows(), signingKeyId);
    if (!row && signingKeyId === undefined) {
      // Expired in our cache; another instance may already have rotated. Look before minting.
      this.invalidate();
      row = this.pick(await this.rows());
      if (!row) {
        await mint();
        this.invalidate();
        row = this.pick(await this.rows());
      }
    }
    if (!row) throw new SigningKeyError(signingKeyId ? `signing key "${signingKeyId}" is not a live key` : "no live signing key after minting one");
    if (this.signerKey?.kid === row.id) return this.signerKey;
    let jwk: string;
    try {
      jwk = await symmetricDecrypt({ key: secretConfig as string, data: JSON.parse(row.privateKey) });
    } catch {
      // Fail closed, as Better Auth does: never sign with (or mint) a key the secret cannot open.
      throw new SigningKeyError("cannot decrypt the signing key with the current auth secret(s); keep the previous secret version listed until keys rotate");
    }
    const key = createPrivateKey({ key: JSON.parse(jwk), format: "jwk" });
    this.signerKey = { kid: row.id, alg: row.alg ?? this.options.alg, key };
    return this.signerKey;
  }

  /**
   * `adapter.createJwk`: insert the key Better Auth generated, unless another instance inserted a
   * live one meanwhile (then that one is returned and ours is dropped). One advisory lock per
   * rotation, not per token.
   */
  async create(data: Omit<Jwk, "id">, id: string): Promise<Jwk> {
    const client = await this.options.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [ADVISORY_LOCK]);
      const alg = data.alg ?? this.options.alg;
      const existing = await client.query<Jwk>(
        `SELECT id, "publicKey", "privateKey", alg, crv, "createdAt", "expiresAt" FROM "jwks"
          WHERE ("expiresAt" IS NULL OR "expiresAt" > now()) AND coalesce(alg, $1) = $1
          ORDER BY "createdAt" DESC LIMIT 1`,
        [alg],
      );
      let row = existing.rows[0];
      if (!row) {
        const inserted = await client.query<Jwk>(
          `INSERT INTO "jwks" (id, "publicKey", "privateKey", "createdAt", "expiresAt", alg, crv)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, "publicKey", "privateKey", alg, crv, "createdAt", "expiresAt"`,
          [id, data.publicKey, data.privateKey, data.createdAt ?? new Date(), data.expiresAt ?? null, data.alg ?? null, data.crv ?? null],
        );
        row = inserted.rows[0]!;
      }
      await client.query("COMMIT");
      this.invalidate();
      return row;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A compact JWS: `alg`/`kid` are ours; extra header fields (e.g. `typ`) pass through. */
export async function signCompact(payload: Record<string, unknown>, header: Record<string, unknown> | undefined, key: SignerKey): Promise<string> {
  if (key.alg !== "RS256") throw new SigningKeyError(`in-memory signing supports RS256 keys, not ${key.alg}`);
  const input = `${segment({ ...header, alg: key.alg, kid: key.kid })}.${segment(payload)}`;
  // The callback form runs on libuv's thread pool: the event loop keeps serving while OpenSSL works.
  const signature = await new Promise<Buffer>((resolve, reject) =>
    signAsync("sha256", Buffer.from(input), key.key, (err, sig) => (err ? reject(err) : resolve(sig))),
  );
  return `${input}.${signature.toString("base64url")}`;
}

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
  const plugin = auth.options.plugins?.find((p) => (p as { id?: string }).id === "jwt") as { keyCache?: SigningKeyCache } | undefined;
  return plugin?.keyCache;
}
