/**
 * The migrate function as deployed: the environment the synthesized dev stack gives it (the
 * master secret's ARN and the service role, no Better Auth secret), Secrets Manager answering
 * for the master secret only, a real PostgreSQL. It must migrate and grant the role without any
 * secret but the database's.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { resetSecretCache } from "../../../functions/auth/secrets.js";
import { loadEnvironments } from "../../../infra/environment.js";
import { freshDatabaseUrl } from "../../support/database.js";
import { resources, stackOf, synthesizeAll } from "../../infra/synthesized.js";

const MASTER_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!cluster-test";
const sm = mockClient(SecretsManagerClient);
const role = `svc_${randomBytes(4).toString("hex")}`;
let url: URL;
let deployed: Record<string, string>;

beforeAll(async () => {
  url = new URL(await freshDatabaseUrl("migratefn"));
  const synth = synthesizeAll(loadEnvironments("environments", "dev"));
  const [fn] = resources(stackOf(synth, "dev-auth"), "aws_lambda_function").filter((f) => f.function_name === "authplane-dev-migrate");
  deployed = fn.environment.variables;
  sm.on(GetSecretValueCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
    if (SecretId !== MASTER_ARN) throw Object.assign(new Error(`not this secret: ${SecretId}`), { name: "AccessDeniedException" });
    return { SecretString: JSON.stringify({ username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }) };
  });
}, 120_000);

afterAll(async () => {
  sm.restore();
  resetSecretCache();
  vi.unstubAllEnvs();
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await admin.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => {});
  await admin.end();
});

describe("the migrate function", () => {
  it("is given the master secret and no other, and migrates and grants the service role with it", async () => {
    expect(Object.keys(deployed).filter((k) => k.endsWith("_SECRET_ARN"))).toEqual(["DB_SECRET_ARN"]);
    expect(deployed.BETTER_AUTH_SECRET).toBeUndefined();
    // Terraform references stand for values known at apply: this database, this secret; a role of this file's own.
    const env: Record<string, string> = {
      ...deployed,
      DB_HOST: url.hostname,
      DB_PORT: url.port,
      DB_NAME: url.pathname.slice(1),
      DB_SECRET_ARN: MASTER_ARN,
      DB_SSL: "false",
      DB_SERVICE_ROLE: role,
      BETTER_AUTH_URL: "https://abc123.execute-api.eu-west-1.amazonaws.com",
      JWT_ISSUER: "https://abc123.execute-api.eu-west-1.amazonaws.com",
      AWS_REGION: "eu-west-1",
    };
    for (const name of ["DATABASE_URL", "BETTER_AUTH_SECRET", "BETTER_AUTH_SECRETS", "AUTH_SECRET_ARN", "GOOGLE_OAUTH_SECRET_ARN", "PROXY_SECRET_ARN"]) vi.stubEnv(name, "");
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const { handler } = await import("../../../functions/auth/lambda.js");
    const result = (await handler({ authplane: "migrate" })) as unknown as { created: string[] };
    expect(result.created).toEqual(expect.arrayContaining(["user", "session"]));
    expect(((await handler({ authplane: "migrate" })) as unknown as { created: string[] }).created).toEqual([]);
    expect(sm.commandCalls(GetSecretValueCommand).every((c) => c.args[0].input.SecretId === MASTER_ARN)).toBe(true);

    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    try {
      const grants = await admin.query("SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = $1 AND table_name = 'authplane_audit'", [role]);
      expect(grants.rows.map((r) => r.privilege_type)).toEqual(["INSERT"]);
    } finally {
      await admin.end();
    }
  }, 120_000);
});
