import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { AuroraServerless, AuthSecrets, AuthService, DatabaseMigrator, LambdaBundle, type Network } from "../modules/index.js";
import { bundleDir } from "../infra/bundles.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** The database role the service logs in as (IAM authentication); the migrate function creates it. */
export const SERVICE_DB_USER = "authplane_service";

/** `arn:aws` in commercial regions, `arn:aws-cn` / `arn:aws-us-gov` elsewhere. */
export const partitionOf = (region: string): string => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

/**
 * The auth service's non-secret configuration (functions/auth/config.ts reads these names);
 * secrets travel only as ARNs the function resolves at start. The database login is the
 * service's own role with an IAM token: no password, and no master secret, in its config.
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
    DB_USER: SERVICE_DB_USER,
    DB_IAM_AUTH: "true",
    // The connection budget: reserved concurrency × this + headroom ≤ max_connections (README).
    DB_POOL_MAX: String(env.auth.poolMax),
    // Carries the Google client too (functions/auth/secrets.ts).
    AUTH_SECRET_ARN: refs.secrets.authSecretArn,
    PROXY_SECRET_ARN: refs.secrets.proxySecretArn,
  };
  if (env.passkeyRpId) vars.PASSKEY_RP_ID = env.passkeyRpId;
  if (env.cookieDomain) vars.COOKIE_DOMAIN = env.cookieDomain;
  if (env.relatedOrigins.length) vars.RELATED_ORIGINS = env.relatedOrigins.join(",");
  return vars;
}

/** `<env>-auth`: secrets, the auth Lambda in the database's client group, its HTTP API and optional domain, and the migrate function. */
export function authStack(scope: Construct, env: Environment, network: Network, database: AuroraServerless) {
  const stack = new ComponentStack(scope, env, "auth");
  const secrets = new AuthSecrets(stack, "secrets", { name: `authplane-${env.name}`, recoveryWindowDays: env.secretRecoveryWindowDays });
  const domain = env.authDomain && env.hostedZoneId ? { name: env.authDomain, hostedZoneId: env.hostedZoneId } : undefined;
  // With a custom domain the URL is known up front; without one it is the API's own endpoint,
  // which exists only once AuthService has created the API (set below).
  const knownUrl = domain ? `https://${domain.name}` : "";
  const bundle = new LambdaBundle(stack, "bundle", { path: bundleDir("auth") });
  const environment = authEnvironment(env, { url: knownUrl, database, secrets });
  const dbUserArn = `arn:${partitionOf(env.region)}:rds-db:${env.region}:${env.accountId}:dbuser:${database.clusterResourceId}/${SERVICE_DB_USER}`;
  const service = new AuthService(stack, "service", {
    name: `authplane-${env.name}-auth`,
    bundle,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    securityGroupIds: [database.clientSecurityGroupId],
    environment,
    secretArns: [secrets.authSecretArn, secrets.proxySecretArn],
    statements: [{ sid: "DatabaseLoginAsServiceRole", actions: ["rds-db:connect"], resources: [dbUserArn] }],
    reservedConcurrency: env.auth.reservedConcurrency,
    throttle: env.auth.throttle,
    signInThrottle: env.auth.signInThrottle,
    tracing: env.tracing,
    logRetentionDays: env.logRetentionDays,
    logKmsKeyArn: env.logKmsKeyArn,
    domain,
  });
  if (!domain) pointFunctionAt(service, service.url);

  // The migrator needs the service's settings and the database, as its master user: none of the
  // service's secrets (its role cannot read them) nor its IAM login.
  const shared = Object.fromEntries(
    Object.entries(environment).filter(([k]) => !k.endsWith("_SECRET_ARN") && !["DB_USER", "DB_IAM_AUTH", "DB_POOL_MAX"].includes(k)),
  );
  const migrator = new DatabaseMigrator(stack, "migrator", {
    name: `authplane-${env.name}-migrate`,
    bundle,
    subnetIds: network.privateSubnetIds,
    securityGroupIds: [service.httpsSecurityGroupId, database.clientSecurityGroupId],
    environment: { ...shared, TRUST_PROXY_HEADERS: "false", BETTER_AUTH_URL: service.url, JWT_ISSUER: service.url, DB_SECRET_ARN: database.masterUserSecretArn, DB_SERVICE_ROLE: SERVICE_DB_USER },
    secretArns: [database.masterUserSecretArn],
    logRetentionDays: env.logRetentionDays,
    logKmsKeyArn: env.logKmsKeyArn,
  });

  new TerraformOutput(stack, "url", { value: service.url, description: "Base URL of the auth service" });
  new TerraformOutput(stack, "function_name", { value: service.functionName });
  new TerraformOutput(stack, "migrate_function_name", { value: migrator.functionName, description: 'invoke with {"authplane":"migrate"} after every deploy' });
  new TerraformOutput(stack, "auth_secret_arn", { value: secrets.authSecretArn, description: 'put-secret-value {"secret":"...","google":{"clientId":"...","clientSecret":"..."}}' });
  new TerraformOutput(stack, "proxy_secret_arn", { value: secrets.proxySecretArn, description: 'put-secret-value {"secret":"..."}; give the apps\' proxies the same value' });
  return { stack, secrets, service, migrator };
}

/** Set BETTER_AUTH_URL and JWT_ISSUER on the service's function to a value known only after it exists. */
function pointFunctionAt(service: AuthService, url: string): void {
  const functions = service.node.findAll().filter((c): c is LambdaFunction => c instanceof LambdaFunction);
  if (functions.length !== 1) throw new Error(`AuthService should hold one Lambda function, found ${functions.length}`);
  for (const name of ["BETTER_AUTH_URL", "JWT_ISSUER"]) functions[0]!.addOverride(`environment.variables.${name}`, url);
}
