/**
 * The auth Lambda behind an HTTP API: `$default` route to one function, throttled stage (and a
 * tighter throttle on each sign-in route), JSON access logs, and an optional custom domain (ACM
 * certificate validated through Route 53, A and AAAA aliases; the default execute-api endpoint
 * is then switched off so nothing bypasses the domain).
 * The function's environment carries only non-secret settings and secret ARNs; its role may
 * read exactly the secrets it is given.
 */
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate/index.js";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation/index.js";
import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api/index.js";
import { Apigatewayv2ApiMapping } from "@cdktf/provider-aws/lib/apigatewayv2-api-mapping/index.js";
import { Apigatewayv2DomainName } from "@cdktf/provider-aws/lib/apigatewayv2-domain-name/index.js";
import { Apigatewayv2Integration } from "@cdktf/provider-aws/lib/apigatewayv2-integration/index.js";
import { Apigatewayv2Route } from "@cdktf/provider-aws/lib/apigatewayv2-route/index.js";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage/index.js";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record/index.js";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group/index.js";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js";
import { TerraformIterator } from "cdktf";
import { Construct } from "constructs";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import type { LambdaBundle } from "./lambda-bundle.js";
import { LambdaRole, VPC_FUNCTION_ENVIRONMENT } from "./lambda-role.js";

export interface AuthServiceDomain {
  /** e.g. auth.example.org */
  name: string;
  /** Route 53 hosted zone that holds `name`. */
  hostedZoneId: string;
}

export interface AuthServiceProps {
  /** Function, role, API and log group name. */
  name: string;
  bundle: LambdaBundle;
  vpcId: string;
  /** Private subnets (dual-stack) the function runs in. */
  subnetIds: string[];
  /** Groups the function joins besides its own HTTPS-egress group (e.g. the database clients group). */
  securityGroupIds: string[];
  /** Non-secret configuration only; secrets go by ARN. */
  environment: Record<string, string>;
  /** Secrets the function may read, and no others. */
  secretArns: string[];
  /** @default 1024 (more memory = more CPU = faster cold starts and RSA signing) */
  memoryMb?: number;
  /**
   * Long enough for a paused Aurora to resume (~15 s) on the first request, within API
   * Gateway's 30 s integration limit.
   * @default 29
   */
  timeoutSeconds?: number;
  /** @default 30 */
  logRetentionDays?: number;
  /** Stage-wide throttling. @default { burstLimit: 100, rateLimit: 50 } */
  throttle?: { burstLimit: number; rateLimit: number };
  /** Custom domain; unset = the API's own execute-api URL. @default undefined */
  domain?: AuthServiceDomain;
  /** Throttle on each sign-in route (SIGN_IN_ROUTES). @default { burstLimit: 20, rateLimit: 10 } */
  signInThrottle?: { burstLimit: number; rateLimit: number };
  /** Most instances at once: each holds up to its pool's connections. @default undefined (unreserved) */
  reservedConcurrency?: number;
  /** Further statements for the function's role (e.g. rds-db:connect). @default [] */
  statements?: DataAwsIamPolicyDocumentStatement[];
  /** X-Ray active tracing. @default false */
  tracing?: boolean;
  /** KMS key ARN for the function's and the access log's log groups. @default CloudWatch Logs' own encryption */
  logKmsKeyArn?: string;
}

/**
 * Routes that start a sign-in, each throttled on its own: a flood of password guesses, passkey
 * ceremonies or OAuth starts exhausts its route's budget, not the whole service's.
 */
export const SIGN_IN_ROUTES = [
  "POST /api/auth/sign-in/{proxy+}",
  "POST /api/auth/sign-up/{proxy+}",
  "GET /api/auth/passkey/generate-authenticate-options",
  "POST /api/auth/passkey/verify-authentication",
  "ANY /api/auth/callback/{proxy+}",
  "POST /api/auth/native/exchange",
] as const;

const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  time: "$context.requestTimeEpoch",
  method: "$context.httpMethod",
  path: "$context.path",
  status: "$context.status",
  latencyMs: "$context.responseLatency",
  integrationError: "$context.integrationErrorMessage",
});

export class AuthService extends Construct {
  readonly functionName: string;
  readonly functionArn: string;
  readonly apiId: string;
  readonly apiEndpoint: string;
  /** Public base URL: https://<domain> when set, else the API endpoint. */
  readonly url: string;
  readonly fn: LambdaFunction;
  readonly apiName: string;
  /** The function's HTTPS-egress group, for a companion function with the same needs. */
  readonly httpsSecurityGroupId: string;
  readonly stageName: string;
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: AuthServiceProps) {
    super(scope, id);
    const { name, memoryMb = 1024, timeoutSeconds = 29, logRetentionDays = 30, throttle = { burstLimit: 100, rateLimit: 50 }, signInThrottle = { burstLimit: 20, rateLimit: 10 } } = props;

    const role = new LambdaRole(this, "role", {
      functionName: name,
      logRetentionDays,
      vpc: true,
      tracing: props.tracing,
      logKmsKeyArn: props.logKmsKeyArn,
      statements: [
        ...(props.secretArns.length ? [{ sid: "OwnSecrets", actions: ["secretsmanager:GetSecretValue"], resources: props.secretArns }] : []),
        ...(props.statements ?? []),
      ],
    });

    // HTTPS out (Secrets Manager, Google) over IPv4 and IPv6; nothing in.
    const https = new SecurityGroup(this, "https-egress", { name: `${name}-https-egress`, description: `${name}: HTTPS out`, vpcId: props.vpcId });
    new VpcSecurityGroupEgressRule(this, "https-v4", { securityGroupId: https.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", description: "HTTPS (IPv4)" });
    new VpcSecurityGroupEgressRule(this, "https-v6", { securityGroupId: https.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv6: "::/0", description: "HTTPS (IPv6)" });

    this.fn = new LambdaFunction(this, "function", {
      functionName: name,
      role: role.role.arn,
      ...props.bundle.code,
      memorySize: memoryMb,
      timeout: timeoutSeconds,
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracingConfig: props.tracing ? { mode: "Active" } : undefined,
      environment: {
        variables: { ...VPC_FUNCTION_ENVIRONMENT, ...props.environment },
      },
      vpcConfig: { subnetIds: props.subnetIds, securityGroupIds: [https.id, ...props.securityGroupIds], ipv6AllowedForDualStack: true },
      loggingConfig: { logFormat: "JSON", logGroup: role.logGroup.name },
      dependsOn: [role.policy, role.logGroup],
    });

    const api = new Apigatewayv2Api(this, "api", {
      name,
      protocolType: "HTTP",
      ipAddressType: "dualstack",
      // With a domain, the execute-api URL would be a second way in that skips it.
      disableExecuteApiEndpoint: props.domain !== undefined,
    });
    const integration = new Apigatewayv2Integration(this, "integration", {
      apiId: api.id,
      integrationType: "AWS_PROXY",
      integrationUri: this.fn.invokeArn,
      payloadFormatVersion: "2.0",
    });
    new Apigatewayv2Route(this, "default-route", { apiId: api.id, routeKey: "$default", target: `integrations/${integration.id}` });
    const signInRoutes = SIGN_IN_ROUTES.map(
      (routeKey, i) => new Apigatewayv2Route(this, `sign-in-route-${i}`, { apiId: api.id, routeKey, target: `integrations/${integration.id}` }),
    );
    const accessLogs = new CloudwatchLogGroup(this, "access-logs", { name: `/aws/apigateway/${name}`, retentionInDays: logRetentionDays, kmsKeyId: props.logKmsKeyArn });
    const stage = new Apigatewayv2Stage(this, "stage", {
      apiId: api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: { throttlingBurstLimit: throttle.burstLimit, throttlingRateLimit: throttle.rateLimit },
      routeSettings: SIGN_IN_ROUTES.map((routeKey) => ({ routeKey, throttlingBurstLimit: signInThrottle.burstLimit, throttlingRateLimit: signInThrottle.rateLimit })),
      // Route settings name routes by key: they must exist first.
      dependsOn: signInRoutes,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    });
    new LambdaPermission(this, "invoke", {
      statementId: "AllowHttpApiInvoke",
      action: "lambda:InvokeFunction",
      functionName: this.fn.functionName,
      principal: "apigateway.amazonaws.com",
      sourceArn: `${api.executionArn}/*/*`,
    });

    if (props.domain) this.addDomain(props.domain, api, stage);

    this.functionName = this.fn.functionName;
    this.functionArn = this.fn.arn;
    this.apiId = api.id;
    this.apiEndpoint = api.apiEndpoint;
    this.url = props.domain ? `https://${props.domain.name}` : api.apiEndpoint;
    this.apiName = name;
    this.httpsSecurityGroupId = https.id;
    this.stageName = "$default";
    this.logGroupName = role.logGroup.name;
  }

  private addDomain(domain: AuthServiceDomain, api: Apigatewayv2Api, stage: Apigatewayv2Stage): void {
    const cert = new AcmCertificate(this, "certificate", {
      domainName: domain.name,
      validationMethod: "DNS",
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(cert.domainValidationOptions, "domain_name");
    const records = new Route53Record(this, "certificate-validation-record", {
      forEach: options,
      zoneId: domain.hostedZoneId,
      name: options.getString("resource_record_name"),
      type: options.getString("resource_record_type"),
      records: [options.getString("resource_record_value")],
      ttl: 60,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "certificate-validation", {
      certificateArn: cert.arn,
      validationRecordFqdns: TerraformIterator.fromResources(records).pluckProperty("fqdn") as unknown as string[],
    });
    const apiDomain = new Apigatewayv2DomainName(this, "domain", {
      domainName: domain.name,
      // Dual-stack, so the AAAA alias below has an IPv6 target.
      domainNameConfiguration: { certificateArn: validation.certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2", ipAddressType: "dualstack" },
    });
    new Apigatewayv2ApiMapping(this, "mapping", { apiId: api.id, domainName: apiDomain.id, stage: stage.id });
    for (const type of ["A", "AAAA"]) {
      new Route53Record(this, type === "A" ? "alias" : "alias-ipv6", {
        zoneId: domain.hostedZoneId,
        name: domain.name,
        type,
        alias: {
          name: apiDomain.domainNameConfiguration.targetDomainName,
          zoneId: apiDomain.domainNameConfiguration.hostedZoneId,
          evaluateTargetHealth: false,
        },
      });
    }
  }
}
