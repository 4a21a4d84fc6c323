import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { AuroraServerless, AuthSecrets, AuthService, LambdaBundle, type Network } from "../modules/index.js";
import { bundleDir } from "../infra/bundles.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/**
 * The auth service's non-secret configuration (functions/auth/config.ts reads these names);
 * secrets travel only as ARNs the function resolves at start.
 */
export function authEnvironment(
  env: Environment,
  refs: { url: string; database: AuroraServerless; secrets: AuthSecrets },
): Record<string, string> {
  const vars: Record<string, string> = {
    BETTER_AUTH_URL: refs.url,
    TRUSTED_ORIGINS: env.trustedOrigins.join(","),
    PASSKEY_RP_NAME: env.passkeyRpName,
    ALLOWED_RP_IDS: env.allowedRpIds.join(","),
    // The apps' /api/auth/* proxies set X-Forwarded-Host/Proto (functions/proxy), signed with PROXY_SECRET_ARN.
    TRUST_PROXY_HEADERS: "true",
    JWT_ISSUER: refs.url,
    JWT_AUDIENCE: env.jwtAudience,
    DB_HOST: refs.database.clusterEndpoint,
    DB_PORT: String(refs.database.port),
    DB_NAME: refs.database.databaseName,
    AUTH_SECRET_ARN: refs.secrets.authSecretArn,
    GOOGLE_OAUTH_SECRET_ARN: refs.secrets.googleOAuthSecretArn,
    DB_SECRET_ARN: refs.database.masterUserSecretArn,
    PROXY_SECRET_ARN: refs.secrets.proxySecretArn,
  };
  if (env.passkeyRpId) vars.PASSKEY_RP_ID = env.passkeyRpId;
  if (env.cookieDomain) vars.COOKIE_DOMAIN = env.cookieDomain;
  return vars;
}

/** `<env>-auth`: secrets, the auth Lambda in the database's client group, its HTTP API and optional domain. */
export function authStack(scope: Construct, env: Environment, network: Network, database: AuroraServerless) {
  const stack = new ComponentStack(scope, env, "auth");
  const secrets = new AuthSecrets(stack, "secrets", { name: `authplane-${env.name}` });
  const domain = env.authDomain && env.hostedZoneId ? { name: env.authDomain, hostedZoneId: env.hostedZoneId } : undefined;
  // With a custom domain the URL is known up front; without one it is the API's own endpoint,
  // which exists only once AuthService has created the API (set below).
  const knownUrl = domain ? `https://${domain.name}` : "";
  const service = new AuthService(stack, "service", {
    name: `authplane-${env.name}-auth`,
    bundle: new LambdaBundle(stack, "bundle", { path: bundleDir("auth") }),
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    securityGroupIds: [database.clientSecurityGroupId],
    environment: authEnvironment(env, { url: knownUrl, database, secrets }),
    secretArns: [secrets.authSecretArn, secrets.googleOAuthSecretArn, database.masterUserSecretArn, secrets.proxySecretArn],
    logRetentionDays: env.logRetentionDays,
    domain,
  });
  if (!domain) pointFunctionAt(service, service.url);

  new TerraformOutput(stack, "url", { value: service.url, description: "Base URL of the auth service" });
  new TerraformOutput(stack, "function_name", { value: service.functionName });
  new TerraformOutput(stack, "auth_secret_arn", { value: secrets.authSecretArn, description: 'put-secret-value {"secret":"..."}' });
  new TerraformOutput(stack, "google_oauth_secret_arn", { value: secrets.googleOAuthSecretArn, description: 'put-secret-value {"clientId":"...","clientSecret":"..."}' });
  new TerraformOutput(stack, "proxy_secret_arn", { value: secrets.proxySecretArn, description: 'put-secret-value {"secret":"..."}; give the apps\' proxies the same value' });
  return { stack, secrets, service };
}

/** Set BETTER_AUTH_URL and JWT_ISSUER on the service's function to a value known only after it exists. */
function pointFunctionAt(service: AuthService, url: string): void {
  const functions = service.node.findAll().filter((c): c is LambdaFunction => c instanceof LambdaFunction);
  if (functions.length !== 1) throw new Error(`AuthService should hold one Lambda function, found ${functions.length}`);
  for (const name of ["BETTER_AUTH_URL", "JWT_ISSUER"]) functions[0]!.addOverride(`environment.variables.${name}`, url);
}
