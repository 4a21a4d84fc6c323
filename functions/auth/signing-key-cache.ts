/**
 * The signing key cache of signing-key.ts, in a module without Better Auth's plugin code: the
 * lean /token path (token-lean.ts) signs with it on a cold instance before Better Auth is loaded.
 * The private key is decrypted by Better Auth's own `symmetricDecrypt` (better-auth/crypto:
 * SHA-256 + XChaCha20, no endpoint or plugin code), imported on first need.
 */
import type { Jwk } from "better-auth/plugins/jwt";
import { createPrivateKey, sign as signAsync, type KeyObject } from "node:crypto";
import type pg from "pg";

/** Signing keys rotate monthly; old keys stay in the JWKS for a grace period far beyond a token's 15 minutes. */
export const KEY_ROTATION_SECONDS = 30 * 24 * 3600;
export const KEY_GRACE_SECONDS = 7 * 24 * 3600;

/** How long an instance trusts its key rows before reading them again (another instance may have rotated). */
export const SIGNING_KEY_REFRESH_MS = 30_000;

const ADVISORY_LOCK = "authplane:jwks:rotate";

export interface SignerKey {
  kid: string;
  alg: string;
  key: KeyObject;
}

/**
 * Better Auth's jwt plugin among `plugins` (an instance's `options.plugins`): its options and the
 * key cache jwtWithKeyInMemory attached to it, or undefined when there is none.
 */
export function jwtPluginOf(plugins: unknown): { options: unknown; keyCache: SigningKeyCache | undefined } | undefined {
  const jwt = ((plugins ?? []) as { id?: string; options?: unknown; keyCache?: SigningKeyCache }[]).find((p) => p.id === "jwt");
  return jwt && { options: jwt.options, keyCache: jwt.keyCache };
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

  /** The grace period `rows()` publishes expired keys for (the lean /jwks filters with it too). */
  get graceSeconds(): number {
    return this.options.graceSeconds;
  }

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
    return this.decrypted(row, secretConfig);
  }

  /**
   * For the lean /token path: the key `signer()` would sign with now, when the rows already read
   * hold a live one and its private half is in Better Auth's versioned envelope (`$ba$<v>$`,
   * which only the listed secret versions open); undefined when `signer()` would read again,
   * mint, or decrypt a legacy payload (Better Auth answers those). Never reads more than
   * `rows()` does, never mints, never throws.
   */
  async current(secretConfig: unknown): Promise<SignerKey | undefined> {
    try {
      const row = this.pick(await this.rows());
      if (!row) return undefined;
      if (this.signerKey?.kid === row.id) return this.signerKey;
      const data = JSON.parse(row.privateKey) as unknown;
      if (typeof data !== "string" || !data.startsWith("$ba$")) return undefined;
      return await this.decrypted(row, secretConfig);
    } catch {
      return undefined;
    }
  }

  private async decrypted(row: Jwk, secretConfig: unknown): Promise<SignerKey> {
    const { symmetricDecrypt } = await import("better-auth/crypto");
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

