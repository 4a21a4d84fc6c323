import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../functions/auth/config.js";
import { fetchSecretEnv, resetSecretCache } from "../../../functions/auth/secrets.js";

const AUTH_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authplane/dev/auth-AbCdEf";
const GOOGLE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authplane/dev/google-AbCdEf";
const DB_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-1234";
const AUTH_VALUE = "s3cr3t-value-that-must-never-be-logged-0123456789";

const sm = mockClient(SecretsManagerClient);

const lambdaEnv = {
  BETTER_AUTH_URL: "https://auth.example.org",
  TRUSTED_ORIGINS: "https://hiring.example.org",
  PASSKEY_RP_ID: "example.org",
  ALLOWED_RP_IDS: "example.org",
  JWT_ISSUER: "https://auth.example.org",
  JWT_AUDIENCE: "example-apps",
  DB_HOST: "cluster.example.internal",
  DB_PORT: "5432",
  DB_NAME: "authplane",
  AUTH_SECRET_ARN: AUTH_ARN,
  GOOGLE_OAUTH_SECRET_ARN: GOOGLE_ARN,
  DB_SECRET_ARN: DB_ARN,
};

function answer(values: Record<string, string | undefined>) {
  sm.on(GetSecretValueCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
    // Resolve on the next tick so concurrent requests genuinely overlap.
    await new Promise((r) => setTimeout(r, 5));
    if (!(SecretId in values)) throw Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: "ResourceNotFoundException" });
    return { SecretString: values[SecretId] };
  });
}

describe("secrets at cold start", () => {
  beforeEach(() => {
    sm.reset();
    resetSecretCache();
  });
  afterEach(() => resetSecretCache());

  it("fetches every secret in parallel, once, and builds the config from ARNs alone", async () => {
    answer({
      [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE }),
      [GOOGLE_ARN]: JSON.stringify({ clientId: "id.apps.googleusercontent.com", clientSecret: "google-secret" }),
      [DB_ARN]: JSON.stringify({ username: "authplane", password: "db-password" }),
    });
    let inFlight = 0;
    let maxInFlight = 0;
    const started: number[] = [];
    sm.on(GetSecretValueCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started.push(Date.now());
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return {
        SecretString: {
          [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE }),
          [GOOGLE_ARN]: JSON.stringify({ clientId: "id.apps.googleusercontent.com", clientSecret: "google-secret" }),
          [DB_ARN]: JSON.stringify({ username: "authplane", password: "db-password" }),
        }[SecretId],
      };
    });

    const [config, again] = await Promise.all([loadConfig(lambdaEnv), loadConfig(lambdaEnv)]);
    expect(maxInFlight).toBe(3);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    expect(config.secrets).toEqual([{ version: 1, value: AUTH_VALUE }]);
    expect(config.google).toMatchObject({ clientId: "id.apps.googleusercontent.com", clientSecret: "google-secret" });
    expect(config.database).toMatchObject({ host: "cluster.example.internal", user: "authplane", password: "db-password", ssl: true });
    // On Lambda the schema is migrated at deploy time, never checked per cold start.
    expect(config.validateSchema).toBe(false);
    expect(again).toEqual(config);

    await loadConfig(lambdaEnv);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it("accepts versioned auth secrets for rotation", async () => {
    answer({ [AUTH_ARN]: JSON.stringify({ secrets: [{ version: 2, value: `${AUTH_VALUE}-v2` }, { version: 1, value: AUTH_VALUE }] }) });
    expect(await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN })).toEqual({ BETTER_AUTH_SECRETS: `2:${AUTH_VALUE}-v2,1:${AUTH_VALUE}` });
  });

  it("the auth secret carries the Google client: one secret read gives both", async () => {
    answer({ [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE, google: { clientId: "one.apps.googleusercontent.com", clientSecret: "google-secret" } }) });
    const env = { ...lambdaEnv, GOOGLE_OAUTH_SECRET_ARN: "", DB_SECRET_ARN: "" };
    expect(await fetchSecretEnv(env)).toEqual({ BETTER_AUTH_SECRET: AUTH_VALUE, GOOGLE_CLIENT_ID: "one.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET: "google-secret" });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    resetSecretCache();
    const config = await loadConfig({ ...env, DATABASE_URL: "postgres://x@127.0.0.1:1/x" });
    expect(config.google).toMatchObject({ clientId: "one.apps.googleusercontent.com", clientSecret: "google-secret" });
    expect(config.secrets).toEqual([{ version: 1, value: AUTH_VALUE }]);
  });

  it("without a google object the auth secret alone signs in without Google", async () => {
    answer({ [AUTH_ARN]: JSON.stringify({ secrets: [{ version: 1, value: AUTH_VALUE }] }) });
    expect(await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN })).toEqual({ BETTER_AUTH_SECRETS: `1:${AUTH_VALUE}` });
  });

  it("a fork's separate GOOGLE_OAUTH_SECRET_ARN still works and wins over the auth secret's google", async () => {
    answer({
      [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE, google: { clientId: "embedded", clientSecret: "embedded-secret" } }),
      [GOOGLE_ARN]: JSON.stringify({ clientId: "separate", clientSecret: "separate-secret" }),
    });
    expect(await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN, GOOGLE_OAUTH_SECRET_ARN: GOOGLE_ARN })).toEqual({
      BETTER_AUTH_SECRET: AUTH_VALUE,
      GOOGLE_CLIENT_ID: "separate",
      GOOGLE_CLIENT_SECRET: "separate-secret",
    });
  });

  it("a half google object in the auth secret names the field, never a value", async () => {
    answer({ [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE, google: { clientId: "x", clientSecret: "" } }) });
    const err = (await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN }).catch((e: Error) => e)) as Error;
    expect(err.message).toContain('"google.clientSecret"');
    expect(err.message).not.toContain(AUTH_VALUE);
    resetSecretCache();
    sm.reset();
    answer({ [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE, google: "GOCSPX-not-an-object" }) });
    const err2 = (await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN }).catch((e: Error) => e)) as Error;
    expect(err2.message).toMatch(/"google" must be an object/);
    expect(err2.message).not.toContain("GOCSPX");
  });

  it("a missing field fails the cold start naming the ARN and the field, never the value", async () => {
    answer({ [AUTH_ARN]: JSON.stringify({ secrett: AUTH_VALUE }) });
    const err = await fetchSecretEnv({ AUTH_SECRET_ARN: AUTH_ARN }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(AUTH_ARN);
    expect((err as Error).message).toContain('"secret"');
    expect((err as Error).message).not.toContain(AUTH_VALUE);
  });

  it("a secret that is not JSON is refused without echoing it", async () => {
    answer({ [GOOGLE_ARN]: AUTH_VALUE });
    const err = (await fetchSecretEnv({ GOOGLE_OAUTH_SECRET_ARN: GOOGLE_ARN }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/GOOGLE_OAUTH_SECRET_ARN: secret .* is not a JSON object/);
    expect(err.message).not.toContain(AUTH_VALUE);
  });

  it("an unreadable secret names the ARN, and the next cold start retries", async () => {
    answer({});
    const err = (await loadConfig(lambdaEnv).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/cannot read secret arn:aws:secretsmanager/);
    expect(err.message).toContain("ResourceNotFoundException");
    sm.reset();
    answer({
      [AUTH_ARN]: JSON.stringify({ secret: AUTH_VALUE }),
      [GOOGLE_ARN]: JSON.stringify({ clientId: "a", clientSecret: "b" }),
      [DB_ARN]: JSON.stringify({ username: "u", password: "p" }),
    });
    await expect(loadConfig(lambdaEnv)).resolves.toMatchObject({ google: { clientId: "a" } });
  });

  it("an auth secret too short to be safe is a configuration error that names the variable", async () => {
    answer({
      [AUTH_ARN]: JSON.stringify({ secret: "short" }),
      [GOOGLE_ARN]: JSON.stringify({ clientId: "a", clientSecret: "b" }),
      [DB_ARN]: JSON.stringify({ username: "u", password: "p" }),
    });
    const err = (await loadConfig(lambdaEnv).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/BETTER_AUTH_SECRET \(or AUTH_SECRET_ARN\): .*at least 32/);
    expect(err.message).not.toContain('"short"');
  });

  it("loads the AWS SDK only when a secret ARN is configured", () => {
    // A fresh process with a resolve hook that reports every @aws-sdk import, with and without ARNs.
    const hook = `data:text/javascript,export async function resolve(s, c, next) { if (s.startsWith("@aws-sdk/")) console.log("SDK " + s); return next(s, c); }`;
    const config = pathToFileURL(`${process.cwd()}/functions/auth/config.ts`).href;
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
        import { register } from "node:module";
        register(${JSON.stringify(hook)});
        const { loadConfig } = await import(${JSON.stringify(config)});
        await loadConfig(${JSON.stringify(env)}).catch(() => undefined);
        console.log("done");`], { encoding: "utf8", env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1", AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" } });
    const plain = { ...lambdaEnv, AUTH_SECRET_ARN: "", GOOGLE_OAUTH_SECRET_ARN: "", DB_SECRET_ARN: "", DATABASE_URL: "postgres://x@127.0.0.1:1/x", BETTER_AUTH_SECRET: AUTH_VALUE };
    const without = run(plain);
    expect(without).toContain("done");
    expect(without).not.toContain("SDK ");
    const withArn = run({ ...plain, AUTH_SECRET_ARN: AUTH_ARN });
    expect(withArn).toContain("SDK @aws-sdk/client-secrets-manager");
  }, 60_000);
});
