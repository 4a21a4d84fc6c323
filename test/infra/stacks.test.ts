import { Testing } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPONENTS } from "../../infra/component-stack.js";
import { loadEnvironments } from "../../infra/environment.js";
import { networkStack } from "../../stacks/network.js";
import { resources, stackOf, synthesizeAll, type Synthesized, type TerraformJson } from "./synthesized.js";

let synth: Synthesized;
beforeAll(() => {
  synth = synthesizeAll();
});

const envNames = ["dev", "staging", "prod"];
const lambdaEnv = (stack: TerraformJson) => resources(stack, "aws_lambda_function").map((f) => f.environment?.variables ?? {});

describe("synthesized stacks", () => {
  it("every environment file yields the six <env>-<component> stacks", () => {
    const expected = envNames.flatMap((env) => COMPONENTS.map((c) => `${env}-${c}`));
    expect([...synth.stacks.keys()].sort()).toEqual(expected.sort());
  });

  it("every stack but bootstrap keeps encrypted, lock-filed state in the environment's bucket", () => {
    for (const env of synth.envs) {
      for (const component of COMPONENTS.filter((c) => c !== "bootstrap")) {
        const backend = stackOf(synth, `${env.name}-${component}`).terraform.backend;
        expect(backend.s3).toMatchObject({
          bucket: env.stateBucket,
          key: `${env.name}/${component}/terraform.tfstate`,
          region: env.region,
          encrypt: true,
          use_lockfile: true,
        });
      }
      const bootstrap = stackOf(synth, `${env.name}-bootstrap`).terraform.backend;
      expect(Object.keys(bootstrap)).toEqual(["local"]);
      expect(bootstrap.local?.path).toBe(`../../../terraform.${env.name}-bootstrap.tfstate`);
    }
  });

  it("the bootstrap stack creates the state bucket and protects it from destroy", () => {
    for (const env of synth.envs) {
      const buckets = resources(stackOf(synth, `${env.name}-bootstrap`), "aws_s3_bucket");
      expect(buckets).toHaveLength(1);
      expect(buckets[0]).toMatchObject({ bucket: env.stateBucket, lifecycle: { prevent_destroy: true } });
    }
  });

  it("every AWS provider is locked to its environment's account and tags app and env", () => {
    for (const env of synth.envs) {
      for (const c of COMPONENTS) {
        const [provider, ...others] = stackOf(synth, `${env.name}-${c}`).provider.aws;
        expect(others).toHaveLength(0);
        expect(provider).toMatchObject({ region: env.region, allowed_account_ids: [env.accountId] });
        expect(provider?.default_tags[0].tags).toEqual({ ...env.tags, app: "authplane", env: env.name });
        if (env.assumeRoleArn) expect(provider?.assume_role[0].role_arn).toBe(env.assumeRoleArn);
        if (env.profile) expect(provider?.profile).toBe(env.profile);
      }
    }
  });

  it("Aurora scales to 0 ACU and pauses after the environment's idle seconds", () => {
    for (const env of synth.envs) {
      const clusters = resources(stackOf(synth, `${env.name}-database`), "aws_rds_cluster");
      expect(clusters).toHaveLength(1);
      expect(clusters[0]?.serverlessv2_scaling_configuration).toMatchObject({
        min_capacity: 0,
        max_capacity: env.aurora.maxCapacity,
        seconds_until_auto_pause: env.aurora.secondsUntilAutoPause,
      });
      expect(clusters[0]?.deletion_protection).toBe(env.aurora.deletionProtection);
    }
  });

  it("no environment gets a NAT gateway unless its file asks for one", () => {
    for (const env of envNames) {
      expect(resources(stackOf(synth, `${env}-network`), "aws_nat_gateway")).toHaveLength(0);
    }
    const [dev] = loadEnvironments("environments", "dev");
    const stack = networkStack(Testing.app(), { ...dev!, natGateway: true }).stack;
    const json = JSON.parse(Testing.synth(stack)) as TerraformJson;
    expect(resources(json, "aws_nat_gateway").length).toBeGreaterThan(0);
  });

  it("the authorizer publishes its ARN and invoke ARN under /authplane/<env>/authorizer", () => {
    for (const env of envNames) {
      const names = resources(stackOf(synth, `${env}-authorizer`), "aws_ssm_parameter").map((p) => p.name).sort();
      expect(names).toEqual([`/authplane/${env}/authorizer/arn`, `/authplane/${env}/authorizer/invoke-arn`]);
    }
  });

  it("the authorizer fetches keys from the auth service's JWKS path", () => {
    for (const env of synth.envs) {
      const [vars] = lambdaEnv(stackOf(synth, `${env.name}-authorizer`));
      if (env.authDomain) {
        expect(vars?.JWKS_URL).toBe(`https://${env.authDomain}/api/auth/jwks`);
        expect(vars?.JWT_ISSUER).toBe(`https://${env.authDomain}`);
      } else {
        expect(vars?.JWKS_URL).toMatch(/^\$\{data\.terraform_remote_state\.[^}]+\}\/api\/auth\/jwks$/);
      }
      expect(vars?.JWT_AUDIENCE).toBe(env.jwtAudience);
    }
  });

  it("custom domain resources exist only in an environment with authDomain", () => {
    const domainTypes = ["aws_apigatewayv2_domain_name", "aws_apigatewayv2_api_mapping", "aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record"];
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      for (const type of domainTypes) {
        expect(resources(auth, type).length > 0, `${env.name}: ${type}`).toBe(env.authDomain !== undefined);
      }
    }
    const domains = resources(stackOf(synth, "prod-auth"), "aws_apigatewayv2_domain_name");
    expect(domains.map((d) => d.domain_name)).toEqual(["auth.example.com"]);
  });

  it("the auth function gets the contract's variables and sits in the database's client group", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      const functions = resources(auth, "aws_lambda_function").filter((f) => f.function_name === `authplane-${env.name}-auth`);
      expect(functions).toHaveLength(1);
      const vars = functions[0]?.environment.variables as Record<string, string>;
      const url = env.authDomain ? `https://${env.authDomain}` : expect.stringMatching(/^\$\{aws_apigatewayv2_api\.[^}]+\.api_endpoint\}$/);
      expect(vars).toMatchObject({
        BETTER_AUTH_URL: url,
        JWT_ISSUER: url,
        TRUSTED_ORIGINS: env.trustedOrigins.join(","),
        PASSKEY_RP_NAME: env.passkeyRpName,
        ALLOWED_RP_IDS: env.allowedRpIds.join(","),
        JWT_AUDIENCE: env.jwtAudience,
        DB_PORT: "5432",
        DB_NAME: "authplane",
        DB_USER: "authplane_service",
        DB_IAM_AUTH: "true",
        DB_POOL_MAX: String(env.auth.poolMax),
      });
      // No master user in the serving function's config: no master secret, no password.
      expect(vars.DB_SECRET_ARN).toBeUndefined();
      expect(vars.DB_PASSWORD).toBeUndefined();
      if (env.passkeyRpId) expect(vars.PASSKEY_RP_ID).toBe(env.passkeyRpId);
      for (const ref of ["DB_HOST"]) expect(vars[ref]).toMatch(new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${env.name}-database\\.`));
      for (const ref of ["AUTH_SECRET_ARN", "PROXY_SECRET_ARN"]) expect(vars[ref]).toMatch(/^\$\{aws_secretsmanager_secret\.[^}]+\.arn\}$/);
      // The Google client lives in the auth secret: no separate secret to pay for.
      expect(vars.GOOGLE_OAUTH_SECRET_ARN).toBeUndefined();
      const groups = functions[0]?.vpc_config.security_group_ids as string[];
      // Its own HTTPS-egress group plus the database's client group, nothing else.
      expect(groups).toHaveLength(2);
      expect(groups[0]).toMatch(/^\$\{aws_security_group\.[^}]+\.id\}$/);
      expect(groups[1]).toMatch(new RegExp(`cross-stack-reference-input-${env.name}-database\\.`));
    }
  });

  it("the ENV-selected environment alone is synthesized", () => {
    const only = synthesizeAll(loadEnvironments("environments", "staging"));
    expect([...only.stacks.keys()].sort()).toEqual(COMPONENTS.map((c) => `staging-${c}`).sort());
  });
});
