/**
 * Secrets Manager at cold start: the function's environment holds only ARNs; the values are
 * fetched once per instance, all in parallel (one round trip of latency, not three), and turned
 * into the same variables a local run sets by hand. Errors name the ARN and the field, never a
 * value.
 *
 * The AWS SDK is imported on first use only: it costs 50-80 ms to load in a fresh process and
 * is needed once, and not at all without ARNs (local, tests, containers). `preloadSecretsClient`
 * lets a cold start begin that import while it loads the rest of the service.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** The variables holding secret ARNs, and the JSON each secret must contain. */
export const SECRET_ARN_VARS = ["AUTH_SECRET_ARN", "GOOGLE_OAUTH_SECRET_ARN", "DB_SECRET_ARN", "PROXY_SECRET_ARN"] as const;
type ArnVar = (typeof SECRET_ARN_VARS)[number];

export const SECRET_SHAPES: Record<ArnVar, string> = {
  AUTH_SECRET_ARN:
    '{"secret":"<at least 32 random characters>"} or {"secrets":[{"version":2,"value":"…"},{"version":1,"value":"…"}]}, optionally with "google":{"clientId":"….apps.googleusercontent.com","clientSecret":"…"}',
  // A separate Google secret is optional (forks that already keep one); it wins over "google" in the auth secret.
  GOOGLE_OAUTH_SECRET_ARN: '{"clientId":"….apps.googleusercontent.com","clientSecret":"…"}',
  DB_SECRET_ARN: '{"username":"…","password":"…"} (RDS writes this one itself)',
  PROXY_SECRET_ARN: '{"secret":"<at least 32 random characters>"} or {"secrets":["<new>","<old>"]} (the apps\' proxies sign with the same value)',
};

export class SecretError extends Error {
  override name = "SecretError";
}

type Sdk = typeof import("@aws-sdk/client-secrets-manager");

let sdk: Promise<Sdk> | undefined;
let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<Record<string, unknown>>>();

/** Start loading the AWS SDK (once); resolves when it is loaded. */
export function preloadSecretsClient(): Promise<Sdk> {
  sdk ??= import("@aws-sdk/client-secrets-manager").catch((err: unknown) => {
    sdk = undefined;
    throw err;
  });
  return sdk;
}

/** True when this environment names secrets to fetch (and so needs the AWS SDK). */
export function needsSecrets(env: Record<string, string | undefined>): boolean {
  return SECRET_ARN_VARS.some((name) => env[name]);
}

/** Forget fetched values (tests; a rotated secret is picked up by the next instance anyway). */
export function resetSecretCache(): void {
  cache.clear();
  client = undefined;
}

function fetchJson(variable: ArnVar, arn: string): Promise<Record<string, unknown>> {
  let pending = cache.get(arn);
  if (!pending) {
    pending = preloadSecretsClient()
      .then(({ GetSecretValueCommand, SecretsManagerClient }) => {
        client ??= new SecretsManagerClient({});
        return client.send(new GetSecretValueCommand({ SecretId: arn }));
      })
      .then((out) => {
        if (!out.SecretString) throw new SecretError(`${variable}: secret ${arn} has no string value; put ${SECRET_SHAPES[variable]}`);
        try {
          const parsed: unknown = JSON.parse(out.SecretString);
          if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
        } catch {
          // fall through: the message below must not echo the value
        }
        throw new SecretError(`${variable}: secret ${arn} is not a JSON object; put ${SECRET_SHAPES[variable]}`);
      })
      .catch((err: unknown) => {
        cache.delete(arn); // the next invocation may retry after a transient failure
        if (err instanceof SecretError) throw err;
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw new SecretError(`${variable}: cannot read secret ${arn} (${reason})`);
      });
    cache.set(arn, pending);
  }
  return pending;
}

function field(json: Record<string, unknown>, variable: ArnVar, arn: string, name: string): string {
  const value = json[name];
  if (typeof value !== "string" || value === "") {
    throw new SecretError(`${variable}: secret ${arn} lacks the string field "${name}"; expected ${SECRET_SHAPES[variable]}`);
  }
  return value;
}

function googleEnv(json: Record<string, unknown>, variable: ArnVar, arn: string): Record<string, string> {
  return { GOOGLE_CLIENT_ID: field(json, variable, arn, "clientId"), GOOGLE_CLIENT_SECRET: field(json, variable, arn, "clientSecret") };
}

/**
 * The auth secret also carries the Google client (one secret-month instead of two): both are
 * read only by the auth function, so one secret grants no reader anything more.
 */
function authSecretEnv(json: Record<string, unknown>, arn: string): Record<string, string> {
  let google: Record<string, string> = {};
  if (json.google !== undefined) {
    if (!json.google || typeof json.google !== "object" || Array.isArray(json.google)) {
      throw new SecretError(`AUTH_SECRET_ARN: secret ${arn} "google" must be an object {"clientId":"…","clientSecret":"…"}`);
    }
    const inner = json.google as Record<string, unknown>;
    const missing = ["clientId", "clientSecret"].find((k) => typeof inner[k] !== "string" || inner[k] === "");
    if (missing) throw new SecretError(`AUTH_SECRET_ARN: secret ${arn} lacks the string field "google.${missing}"; expected ${SECRET_SHAPES.AUTH_SECRET_ARN}`);
    google = { GOOGLE_CLIENT_ID: inner.clientId as string, GOOGLE_CLIENT_SECRET: inner.clientSecret as string };
  }
  return { ...google, ...authSigningEnv(json, arn) };
}

function authSigningEnv(json: Record<string, unknown>, arn: string): Record<string, string> {
  if (Array.isArray(json.secrets)) {
    const entries = json.secrets.map((s: unknown, i) => {
      const e = s as { version?: unknown; value?: unknown };
      if (typeof e?.version !== "number" || typeof e?.value !== "string") {
        throw new SecretError(`AUTH_SECRET_ARN: secret ${arn} secrets[${i}] needs a numeric "version" and a string "value"`);
      }
      return `${e.version}:${e.value}`;
    });
    return { BETTER_AUTH_SECRETS: entries.join(",") };
  }
  return { BETTER_AUTH_SECRET: field(json, "AUTH_SECRET_ARN", arn, "secret") };
}

function proxySecretEnv(json: Record<string, unknown>, arn: string): Record<string, string> {
  if (Array.isArray(json.secrets)) {
    if (!json.secrets.length || !json.secrets.every((s) => typeof s === "string" && s !== "" && !s.includes(","))) {
      throw new SecretError(`PROXY_SECRET_ARN: secret ${arn} "secrets" must be a non-empty list of strings without commas`);
    }
    return { PROXY_SECRETS: json.secrets.join(",") };
  }
  return { PROXY_SECRET: field(json, "PROXY_SECRET_ARN", arn, "secret") };
}

/**
 * Fetch every secret whose ARN variable is set and return the environment variables they stand
 * for. Resolves once per ARN per instance; concurrent cold-start callers share the requests.
 */
export async function fetchSecretEnv(env: Record<string, string | undefined>): Promise<Record<string, string>> {
  const jobs = SECRET_ARN_VARS.filter((v) => env[v]).map(async (variable) => {
    const arn = env[variable] as string;
    const json = await fetchJson(variable, arn);
    switch (variable) {
      case "AUTH_SECRET_ARN":
        return authSecretEnv(json, arn);
      case "GOOGLE_OAUTH_SECRET_ARN":
        return googleEnv(json, variable, arn);
      case "DB_SECRET_ARN":
        return { DB_USER: field(json, variable, arn, "username"), DB_PASSWORD: field(json, variable, arn, "password") };
      case "PROXY_SECRET_ARN":
        return proxySecretEnv(json, arn);
    }
  });
  // Settle all before failing: the operator sees every broken secret at once, and no request
  // is left in flight to poison the next cold start's retry.
  const settled = await Promise.allSettled(jobs);
  const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  if (failures.length) throw new SecretError(failures.join("\n"));
  // SECRET_ARN_VARS order: a separate GOOGLE_OAUTH_SECRET_ARN overrides the auth secret's "google".
  return Object.assign({}, ...settled.map((r) => (r.status === "fulfilled" ? r.value : {})));
}
