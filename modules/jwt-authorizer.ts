/**
 * The shared JWT authorizer: a small Lambda (outside any VPC: it only fetches the public JWKS)
 * that API Gateway may invoke, published in SSM so other stacks and plain Terraform projects
 * find it without knowing this one.
 */
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer/index.js";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter/index.js";
import { Construct } from "constructs";
import type { LambdaBundle } from "./lambda-bundle.js";
import { LambdaRole } from "./lambda-role.js";

export interface JwtAuthorizerProps {
  name: string;
  bundle: LambdaBundle;
  /** e.g. https://auth.example.org/api/auth/jwks */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Where the ARNs are published, e.g. "/authplane/prod/authorizer" (→ …/arn, …/invoke-arn). */
  ssmPrefix: string;
  /**
   * API Gateway's result cache for consumers' authorizer definitions, in seconds. Well under the
   * 15-minute token lifetime, so an offboarded person's cached "allow" expires soon after.
   * @default 300
   */
  resultTtlSeconds?: number;
  /** @default 30 */
  logRetentionDays?: number;
  /** @default 256 (RSA verify is CPU-bound; 256 MB keeps cold starts short at low cost) */
  memoryMb?: number;
  /**
   * The auth service's JWKS (JSON) to start from, so a cold start verifies without fetching it;
   * keys added later by rotation are still fetched on first sight.
   * @default undefined (fetched on the first request)
   */
  seedJwks?: string;
  /** Extra authorizer settings (JWT_CLOCK_TOLERANCE_SECONDS, …). @default {} */
  environment?: Record<string, string>;
}

export class JwtAuthorizer extends Construct {
  readonly functionArn: string;
  readonly invokeArn: string;
  readonly functionName: string;
  readonly arnParameterName: string;
  readonly invokeArnParameterName: string;
  readonly resultTtlSeconds: number;
  /** Identity source consumers configure: the cache key is the Authorization header. */
  readonly identitySource = "$request.header.Authorization";

  constructor(scope: Construct, id: string, props: JwtAuthorizerProps) {
    super(scope, id);
    this.resultTtlSeconds = props.resultTtlSeconds ?? 300;
    const role = new LambdaRole(this, "role", { functionName: props.name, logRetentionDays: props.logRetentionDays ?? 30, vpc: false });
    const fn = new LambdaFunction(this, "function", {
      functionName: props.name,
      role: role.role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: props.bundle.handler,
      filename: props.bundle.path,
      sourceCodeHash: props.bundle.hash,
      memorySize: props.memoryMb ?? 256,
      timeout: 5,
      environment: {
        variables: {
          JWKS_URL: props.jwksUrl,
          JWT_ISSUER: props.issuer,
          JWT_AUDIENCE: props.audience,
          ...(props.seedJwks ? { JWKS_SEED: props.seedJwks } : {}),
          ...props.environment,
        },
      },
      loggingConfig: { logFormat: "JSON", logGroup: role.logGroup.name },
      dependsOn: [role.policy, role.logGroup],
    });
    // Any API Gateway API of this account may use it; other accounts may not (confused deputy).
    const account = new DataAwsCallerIdentity(this, "account");
    new LambdaPermission(this, "api-gateway-invoke", {
      statementId: "AllowApiGatewayInvokeFromThisAccount",
      action: "lambda:InvokeFunction",
      functionName: fn.functionName,
      principal: "apigateway.amazonaws.com",
      sourceAccount: account.accountId,
    });
    const arn = new SsmParameter(this, "arn-parameter", { name: `${props.ssmPrefix}/arn`, type: "String", value: fn.arn, description: "authplane JWT authorizer function ARN" });
    const invokeArn = new SsmParameter(this, "invoke-arn-parameter", {
      name: `${props.ssmPrefix}/invoke-arn`,
      type: "String",
      value: fn.invokeArn,
      description: "authplane JWT authorizer invoke ARN (authorizer_uri)",
    });
    this.functionArn = fn.arn;
    this.invokeArn = fn.invokeArn;
    this.functionName = fn.functionName;
    this.arnParameterName = arn.name;
    this.invokeArnParameterName = invokeArn.name;
  }

  /**
   * Put this authorizer in front of an HTTP API (payload 2.0, simple responses). API Gateway
   * caches each decision per Authorization header for `resultTtlSeconds`, so a busy client pays
   * for one Lambda call per token per TTL. Routes then use `authorizationType: "CUSTOM"` with
   * the returned authorizer's id.
   */
  attachToHttpApi(scope: Construct, id: string, { apiId, name = "authplane" }: { apiId: string; name?: string }): Apigatewayv2Authorizer {
    return new Apigatewayv2Authorizer(scope, id, {
      apiId,
      name,
      authorizerType: "REQUEST",
      authorizerUri: this.invokeArn,
      authorizerPayloadFormatVersion: "2.0",
      enableSimpleResponses: true,
      identitySources: [this.identitySource],
      authorizerResultTtlInSeconds: this.resultTtlSeconds,
    });
  }
}
