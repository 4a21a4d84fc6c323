/**
 * The auth service's whole configuration, typed and validated once. Every runtime (Lambda, the
 * node server, `make dev`, tests, ops tools) builds an `AuthConfig` here and hands it to
 * `createAuth`/`createApp`; nothing else reads process.env.
 *
 * Two sources, one shape: `configFromEnv` for plain environment variables (local, tests) and
 * `loadConfig` which, when `*_SECRET_ARN` variables are present (Lambda), first fetches those
 * secrets from Secrets Manager and then reads the same variables.
 */
import { isIP } from "node:net";
import * as z from "zod";
import { fetchSecretEnv, SECRET_ARN_VARS } from "./secrets.js";

const list = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const bool = (raw: string | undefined, fallback: boolean): boolean =>
  raw === undefined || raw === "" ? fallback : /^(1|true|yes|on)$/i.test(raw);

const origin = z
  .string()
  .refine((s) => URL.canParse(s) && new URL(s).origin === s.replace(/\/$/, ""), {
    message: "must be an origin like https://app.example.org (scheme, host, optional port; no path)",
  })
  .transform((s) => new URL(s).origin);

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
    message: "must be a lower-case host name like example.org (no scheme, no port)",
  });

const secretValue = z.string().min(32, { message: "must be at least 32 characters (use `openssl rand -base64 32`)" });

export const AuthConfigSchema = z
  .object({
    /** Public URL of the auth service itself, e.g. https://auth.example.org. */
    baseURL: origin,
    /** Origins of the apps (and the service) allowed to call with cookies and run passkey ceremonies. */
    trustedOrigins: z.array(origin).min(1, { message: "list at least one app origin" }),
    passkey: z.object({
      /** Parent domain shared by every app. Unset: each request's own host (single-app local dev). */
      rpId: hostname.optional(),
      rpName: z.string().min(1).default("authplane"),
    }),
    /**
     * WebAuthn Related Origin Requests: https app origins on other registrable domains that may use
     * the passkey RP ID. Served as `/.well-known/webauthn` (which must answer on the RP ID's own
     * origin) and trusted like TRUSTED_ORIGINS. Browsers honour at most 5 registrable domains.
     * @default []
     * @example ["https://app.example-brand.com"]
     */
    relatedOrigins: z
      .array(origin.refine((o) => o.startsWith("https://"), { message: "must be an https origin (browsers fetch related origins over https only)" }))
      .default([]),
    /** Host suffixes a passkey ceremony may come from; each origin's host must be one of these or under one. */
    allowedRpIds: z.array(hostname).min(1, { message: "list the parent domain(s), e.g. example.org" }),
    jwt: z.object({ issuer: z.string().min(1), audience: z.string().min(1) }),
    /** Set (e.g. ".example.org") for pattern 2: session cookies shared by sibling subdomains. */
    cookieDomain: z.string().regex(/^\.?[a-z0-9.-]+$/).optional(),
    /** Exact callback URLs native apps may receive one-time codes on. */
    nativeAppCallbacks: z.array(z.string().refine(URL.canParse, { message: "must be an absolute URL" })).default([]),
    appAssociation: z
      .object({ appleAppIds: z.array(z.string()).default([]), androidAppLinks: z.array(z.string()).default([]) })
      .default({ appleAppIds: [], androidAppLinks: [] }),
    /** Several servers: share sessions and rate limits through Redis. Unset on Lambda. */
    redisUrl: z.string().refine(URL.canParse, { message: "must be a redis:// URL" }).optional(),
    database: z.union([
      z.object({ connectionString: z.string().min(1) }),
      z.object({
        host: z.string().min(1),
        port: z.number().int().positive().default(5432),
        database: z.string().min(1),
        user: z.string().min(1),
        password: z.string().min(1),
        ssl: z.boolean().default(true),
      }),
      // AWS: the service's own role, signing in with an IAM token (functions/auth/db-iam.ts).
      z.object({
        host: z.string().min(1),
        port: z.number().int().positive().default(5432),
        database: z.string().min(1),
        user: z.string().min(1),
        iamAuth: z.literal(true),
        ssl: z.literal(true).default(true),
      }),
    ]),
    /** Connections per pool; the infra derives it from the database's connection budget. @default 4 */
    databasePoolMax: z.number().int().positive().max(100).default(4),
    /** Migrate only: the login role to create (with rds_iam) and grant the service's privileges to. */
    databaseServiceRole: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "must be a lower-case PostgreSQL role name" }).optional(),
    /**
     * Better Auth secret(s). Several versions allow rotation: the first encrypts, the rest still
     * decrypt (the JWT private keys are stored encrypted with it).
     */
    secrets: z.array(z.object({ version: z.number().int().positive(), value: secretValue })).min(1),
    google: z
      .object({
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        /** A stand-in OIDC issuer's discovery URL (tests, dev); unset = accounts.google.com. */
        discoveryUrl: z.string().url().optional(),
      })
      .optional(),
    emailPassword: z.boolean().default(false),
    /**
     * Honour X-Forwarded-Host/Proto and the client address from app proxies that sign them with
     * one of `proxySecrets`. Off: only the request's own host and transport peer count.
     */
    trustProxyHeaders: z.boolean().default(false),
    /** Secrets app proxies sign forwarded headers with (current first; more during a rotation). */
    proxySecrets: z.array(secretValue).default([]),
    /**
     * Load balancers in front of the node server (addresses or CIDRs): when the transport peer
     * is one of them, the client is the X-Forwarded-For entry it appended (the rightmost).
     * Unset on Lambda, where API Gateway's sourceIp is the client.
     */
    trustedForwarders: z
      .array(z.string().refine((s) => isIP(s.split("/")[0]!) !== 0 && (!s.includes("/") || /^\d{1,3}$/.test(s.split("/")[1]!)), { message: "must be an IP address or CIDR like 10.0.0.0/8" }))
      .default([]),
    /** Better Auth's schema check at start-up; off on Lambda, where migrations run at deploy. */
    validateSchema: z.boolean().default(true),
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: z.number().int().positive().default(64 * 1024),
    rateLimit: z
      .object({ enabled: z.boolean().default(true), window: z.number().int().positive().default(60), max: z.number().int().positive().default(100) })
      .default({ enabled: true, window: 60, max: 100 }),
  })
  .superRefine((c, ctx) => {
    const inAllowed = (host: string) => c.allowedRpIds.some((rp) => host === rp || host.endsWith(`.${rp}`));
    for (const [i, o] of c.trustedOrigins.entries()) {
      const host = new URL(o).hostname;
      if (!inAllowed(host) && !c.relatedOrigins.includes(o)) {
        ctx.addIssue({
          code: "custom",
          path: ["trustedOrigins", i],
          message: `${o} is outside ALLOWED_RP_IDS (${c.allowedRpIds.join(", ")}); add its parent domain there or remove it`,
        });
      }
    }
    if (c.trustProxyHeaders && c.proxySecrets.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["proxySecrets"],
        message: "TRUST_PROXY_HEADERS needs the secret app proxies sign with (e.g. `openssl rand -base64 32`); an unsigned forwarded header proves nothing",
      });
    }
    if (c.passkey.rpId && !c.allowedRpIds.includes(c.passkey.rpId)) {
      ctx.addIssue({ code: "custom", path: ["passkey", "rpId"], message: `must be one of ALLOWED_RP_IDS (${c.allowedRpIds.join(", ")})` });
    }
    for (const [i, o] of c.relatedOrigins.entries()) {
      if (!c.passkey.rpId) ctx.addIssue({ code: "custom", path: ["relatedOrigins", i], message: "needs PASSKEY_RP_ID: related origins share one fixed RP ID" });
      else if (inAllowed(new URL(o).hostname)) ctx.addIssue({ code: "custom", path: ["relatedOrigins", i], message: `${o} is within ALLOWED_RP_IDS already; list it in TRUSTED_ORIGINS only` });
    }
  })
  // Related origins are app origins too: CORS, CSRF, the host guard and the passkey origin list take them.
  .transform((c) => ({ ...c, trustedOrigins: [...new Set([...c.trustedOrigins, ...c.relatedOrigins])] }));

export type AuthConfig = z.output<typeof AuthConfigSchema>;
export type AuthConfigInput = z.input<typeof AuthConfigSchema>;

/** Which environment variable feeds which config path, so errors speak the operator's language. */
const ENV_NAME: Record<string, string> = {
  baseURL: "BETTER_AUTH_URL",
  trustedOrigins: "TRUSTED_ORIGINS",
  relatedOrigins: "RELATED_ORIGINS",
  "passkey.rpId": "PASSKEY_RP_ID",
  "passkey.rpName": "PASSKEY_RP_NAME",
  allowedRpIds: "ALLOWED_RP_IDS",
  "jwt.issuer": "JWT_ISSUER",
  "jwt.audience": "JWT_AUDIENCE",
  cookieDomain: "COOKIE_DOMAIN",
  nativeAppCallbacks: "NATIVE_APP_CALLBACKS",
  redisUrl: "REDIS_URL",
  database: "DATABASE_URL (or DB_HOST/DB_NAME with DB_SECRET_ARN, or DB_USER with DB_IAM_AUTH)",
  databasePoolMax: "DB_POOL_MAX",
  databaseServiceRole: "DB_SERVICE_ROLE",
  secrets: "BETTER_AUTH_SECRET (or AUTH_SECRET_ARN)",
  proxySecrets: "PROXY_SECRET (or PROXY_SECRET_ARN)",
  trustedForwarders: "TRUSTED_FORWARDERS",
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validate an already-structured config (ops tools and tests build one directly). */
export function parseConfig(input: AuthConfigInput): AuthConfig {
  const result = AuthConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const key = path.join(".");
    const top = Object.keys(ENV_NAME).find((k) => key === k || key.startsWith(`${k}.`));
    return `  ${top ? ENV_NAME[top] : key}: ${issue.message}`;
  });
  throw new ConfigError(`auth service configuration is invalid:\n${lines.join("\n")}`);
}

export type Env = Record<string, string | undefined>;

function secretsFromEnv(env: Env): AuthConfigInput["secrets"] {
  // BETTER_AUTH_SECRETS="2:new,1:old" is Better Auth's own rotation format; we keep it.
  const versioned = list(env.BETTER_AUTH_SECRETS).map((entry) => {
    const at = entry.indexOf(":");
    return { version: Number(entry.slice(0, at)), value: entry.slice(at + 1) };
  });
  if (versioned.length) return versioned;
  return env.BETTER_AUTH_SECRET ? [{ version: 1, value: env.BETTER_AUTH_SECRET }] : [];
}

function databaseFromEnv(env: Env): AuthConfigInput["database"] {
  if (env.DATABASE_URL) return { connectionString: env.DATABASE_URL };
  if (bool(env.DB_IAM_AUTH, false) && !env.DB_PASSWORD) {
    return { host: env.DB_HOST ?? "", port: env.DB_PORT ? Number(env.DB_PORT) : 5432, database: env.DB_NAME ?? "", user: env.DB_USER ?? "", iamAuth: true };
  }
  return {
    host: env.DB_HOST ?? "",
    port: env.DB_PORT ? Number(env.DB_PORT) : 5432,
    database: env.DB_NAME ?? "",
    user: env.DB_USER ?? "",
    password: env.DB_PASSWORD ?? "",
    ssl: bool(env.DB_SSL, true),
  };
}

/** Build the config from environment variables only (local, tests, containers). */
export function configFromEnv(env: Env): AuthConfig {
  const baseURL = env.BETTER_AUTH_URL ?? "";
  const google =
    env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET
      ? { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET, discoveryUrl: env.GOOGLE_OIDC_DISCOVERY_URL || undefined }
      : undefined;
  return parseConfig({
    baseURL,
    trustedOrigins: list(env.TRUSTED_ORIGINS),
    relatedOrigins: list(env.RELATED_ORIGINS),
    passkey: { rpId: env.PASSKEY_RP_ID || undefined, rpName: env.PASSKEY_RP_NAME || undefined },
    allowedRpIds: list(env.ALLOWED_RP_IDS),
    jwt: { issuer: env.JWT_ISSUER || baseURL, audience: env.JWT_AUDIENCE ?? "" },
    cookieDomain: env.COOKIE_DOMAIN || undefined,
    nativeAppCallbacks: list(env.NATIVE_APP_CALLBACKS),
    appAssociation: { appleAppIds: list(env.APPLE_APP_IDS), androidAppLinks: list(env.ANDROID_APP_LINKS) },
    redisUrl: env.REDIS_URL || undefined,
    database: databaseFromEnv(env),
    databasePoolMax: env.DB_POOL_MAX ? Number(env.DB_POOL_MAX) : undefined,
    databaseServiceRole: env.DB_SERVICE_ROLE || undefined,
    secrets: secretsFromEnv(env),
    google,
    emailPassword: bool(env.EMAIL_PASSWORD_ENABLED, false),
    trustProxyHeaders: bool(env.TRUST_PROXY_HEADERS, false),
    // PROXY_SECRETS="new,old" during a rotation; the proxies sign with the first.
    proxySecrets: list(env.PROXY_SECRETS ?? env.PROXY_SECRET),
    trustedForwarders: list(env.TRUSTED_FORWARDERS),
    validateSchema: bool(env.VALIDATE_SCHEMA, true),
    maxBodyBytes: env.MAX_BODY_BYTES ? Number(env.MAX_BODY_BYTES) : undefined,
    rateLimit: { enabled: bool(env.RATE_LIMIT_ENABLED, true), window: 60, max: env.RATE_LIMIT_MAX ? Number(env.RATE_LIMIT_MAX) : 100 },
  });
}

/**
 * Lambda entry: secrets named by `*_SECRET_ARN` are fetched (in parallel, once) and layered
 * over the plain variables; without ARNs this is `configFromEnv`.
 */
export async function loadConfig(env: Env): Promise<AuthConfig> {
  const hasArns = SECRET_ARN_VARS.some((name) => env[name]);
  if (!hasArns) return configFromEnv(env);
  const fromSecrets = await fetchSecretEnv(env);
  // On Lambda the schema is migrated at deploy (`npm run migrate`), not checked per cold start.
  return configFromEnv({ VALIDATE_SCHEMA: "false", ...env, ...fromSecrets });
}
