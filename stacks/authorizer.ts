import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { JWKS_PATH } from "../functions/claims.js";
import { JwtAuthorizer, LambdaBundle, type AuthService } from "../modules/index.js";
import { bundleDir } from "../infra/bundles.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** SSM prefix under which other stacks and Terraform projects find the authorizer. */
export const authorizerSsmPrefix = (env: Environment): string => `/authplane/${env.name}/authorizer`;

/** `<env>-authorizer`: the JWT Lambda authorizer apps attach to their APIs, published in SSM. */
export function authorizerStack(scope: Construct, env: Environment, auth: AuthService) {
  const stack = new ComponentStack(scope, env, "authorizer");
  const authorizer = new JwtAuthorizer(stack, "authorizer", {
    name: `authplane-${env.name}-authorizer`,
    bundle: new LambdaBundle(stack, "bundle", { path: bundleDir("authorizer") }),
    jwksUrl: `${auth.url}${JWKS_PATH}`,
    issuer: auth.url,
    audience: env.jwtAudience,
    ssmPrefix: authorizerSsmPrefix(env),
    logRetentionDays: env.logRetentionDays,
    // The same settings the auth function takes (stacks/auth.ts).
    logKmsKeyArn: env.logKmsKeyArn,
    tracing: env.tracing,
  });
  new TerraformOutput(stack, "arn_parameter", { value: authorizer.arnParameterName });
  new TerraformOutput(stack, "invoke_arn_parameter", { value: authorizer.invokeArnParameterName });
  return { stack, authorizer };
}
