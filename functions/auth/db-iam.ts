/**
 * IAM database authentication: the service's database password is a 15-minute token signed
 * with the function's own role (`rds-db:connect` on exactly its database user), so there is no
 * password to store, leak or rotate. pg asks for the password on every new connection; a token
 * is reused for 10 minutes, well inside its 15-minute validity.
 *
 * @aws-sdk/rds-signer is imported on first use only: local runs and tests never load it.
 */

export interface IamTokenOptions {
  host: string;
  port: number;
  user: string;
  /** @default AWS_REGION (set by Lambda) */
  region?: string;
}

/** Reuse a signed token this long; it is valid for 15 minutes. */
const TOKEN_REUSE_MS = 10 * 60_000;

export type TokenSigner = (options: Required<IamTokenOptions>) => Promise<string>;

const rdsSigner: TokenSigner = async ({ host, port, user, region }) => {
  const { Signer } = await import("@aws-sdk/rds-signer");
  return new Signer({ hostname: host, port, username: user, region }).getAuthToken();
};

/**
 * A pg `password` function returning a current IAM auth token. Concurrent connections share
 * one signing; a failed signing is not cached, so the next connection tries again.
 */
export function iamAuthPassword(options: IamTokenOptions, sign: TokenSigner = rdsSigner): () => Promise<string> {
  const region = options.region ?? process.env.AWS_REGION ?? "";
  let cached: { token: Promise<string>; at: number } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > TOKEN_REUSE_MS) {
      if (!region) return Promise.reject(new Error("IAM database authentication needs a region (AWS_REGION)"));
      const token = sign({ ...options, region });
      cached = { token, at: now };
      token.catch(() => {
        if (cached?.token === token) cached = undefined;
      });
    }
    return cached.token;
  };
}
