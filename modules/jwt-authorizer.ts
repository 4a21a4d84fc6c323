/**
 * The shared JWT authorizer: a small Lambda (outside any VPC: it only fetches the public JWKS and
 * the revocation feed) that the APIs attaching it may invoke, published in SSM so other stacks and
 * plain Terraform projects find it without knowing this one.
 *
 * One function serves every backend. A backend says which app it belongs to, and optionally the
 * permission each route needs, through two stage variables on its own stage (`authplane_app`,
 * `authplane_routes`); the attach helpers compute them and put them, with the route, into the
 * authorizer's identity sources, so API Gateway's result cache is keyed per token, app and route.
 */
import { ApiGatewayAuthorizer } from "@cdktf/provider-aws/lib/api-gateway-authorizer/index.js";
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter/index.js";
import { Fn, TerraformIterator, Token, type IResolvable } from "cdktf";
import { Construct } from "constructs";
import type { LambdaBundle } from "./lambda-bundle.js";
import { LambdaRole, XRAY_WRITE_ACTIONS } from "./lambda-role.js";

/** Stage variable names the authorizer reads (the attachment contract). */
export const AUTHPLANE_STAGE_VARIABLES = { app: "authplane_app", routes: "authplane_routes" } as const;
/**
 * What `app: "*"` is written as: API Gateway refuses `*` in a stage variable value (values must
 * match [A-Za-z0-9-._~:/?#&=,]+); the authorizer reads `~any` and `*` alike.
 */
export const ANY_APP_STAGE_VALUE = "~any";
/** API Gateway caps a stage variable value at 512 characters. */
const MAX_STAGE_VARIABLE_LENGTH = 512;
/** Result-cache TTL bound: the revocation promise (≤ 60 s) holds only with TTL + feed refresh below it. */
export const MAX_RESULT_TTL_SECONDS = 60;
const SLUG = /^[a-z][a-z0-9-]{0,62}$/;
const PERMISSION = /^[^\s:]+:[^\s:]+$/;

export interface RevocationSettings {
  /** The feed. @default the JWKS URL's origin + "/revocations"; "off" disables revocation */
  url?: string;
  /** Background refresh interval, ms. @default 15000 */
  refreshMs?: number;
  /** Past this age of the last good copy every token is refused, ms. @default 300000 */
  maxStaleMs?: number;
}

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
   * Default API Gateway result-cache TTL for the attach helpers, in seconds (0–60). Each app and
   * route is cached apart, so a client pays one Lambda call per token, app and route per TTL; a
   * revoked token stays usable for up to TTL + the feed refresh (30 s + 15 s).
   * @default 30
   */
  resultTtlSeconds?: number;
  /** @default 30 */
  logRetentionDays?: number;
  /** @default 256 (RSA verify is CPU-bound; 256 MB keeps cold starts short at low cost) */
  memoryMb?: number;
  /** @default 5 */
  timeoutSeconds?: number;
  /** Reserved concurrency. @default undefined (unreserved, the account pool) */
  reservedConcurrency?: number;
  /** KMS key ARN for the function's log group. @default undefined (CloudWatch's own encryption) */
  logKmsKeyArn?: string;
  /**
   * X-Ray active tracing (and the two X-Ray write actions on the role). A Terraform boolean
   * (the plain module's `var.tracing`) decides at apply time. @default false
   */
  tracing?: boolean | IResolvable;
  /** IAM permissions boundary for the execution role. @default undefined */
  permissionsBoundaryArn?: string;
  /** Tags on every resource this construct creates. @default {} */
  tags?: Record<string, string>;
  /**
   * Execution-ARN patterns (`arn:aws:execute-api:region:account:api-id/authorizers/*`) of APIs
   * that attach this authorizer outside the attach helpers (which add their own permission).
   * Nothing else may invoke the function.
   * @default []
   */
  invokerSourceArns?: string[];
  /** The revocation feed consumer. @default the function's defaults */
  revocations?: RevocationSettings;
  /**
   * The auth service's JWKS (JSON) to start from, so a cold start verifies without fetching it;
   * keys added later by rotation are still fetched on first sight.
   * @default undefined (fetched on the first request)
   */
  seedJwks?: string;
  /** Extra authorizer settings (JWT_CLOCK_TOLERANCE_SECONDS, …). @default {} */
  environment?: Record<string, string>;
}

/** The API an attachment is for: an `Apigatewayv2Api` or `ApiGatewayRestApi` fits. */
export interface AttachableApi {
  id: string;
  /** e.g. arn:aws:execute-api:eu-west-1:123456789012:abc123 */
  executionArn: string;
}

export interface AttachmentOptions {
  api: AttachableApi;
  /** The app (organization slug) this API belongs to, or "*" for a platform-wide API. Required. */
  app: string;
  /**
   * Permission each route needs ("resource:action"), by route key ("POST /candidates"; REST:
   * "POST /candidates/{id}" with the resource path); "*" is the default for other routes.
   * @default undefined (membership of the app suffices)
   */
  routes?: Record<string, string>;
  /** @default the construct's resultTtlSeconds (30) */
  resultTtlSeconds?: number;
  /** @default "authplane" */
  name?: string;
}

export interface Attachment<A> {
  authorizer: A;
  /** Put these on the API's stage (`stage_variables`); the authorizer denies without them. */
  stageVariables: Record<string, string>;
  /** Lets exactly this API's authorizer invoke the function. */
  permission: LambdaPermission;
}

/** base64url without padding, as the contract carries `authplane_routes`. */
export function encodeRoutes(routes: Record<string, string>): string {
  return Buffer.from(JSON.stringify(routes)).toString("base64url");
}

/** How each API Gateway flavour names the same identity sources. */
const IDENTITY_DIALECTS = {
  http: { header: "$request.header.Authorization", stageVariable: "$stageVariables.", route: ["$context.routeKey"] },
  rest: { header: "method.request.header.Authorization", stageVariable: "stageVariables.", route: ["context.httpMethod", "context.resourcePath"] },
} as const;

/**
 * The authorizer's identity sources, which are also API Gateway's result-cache key: the token,
 * the app, the route table (only when set: every source must be present or API Gateway answers
 * 401 itself) and the route, so a cached decision never crosses apps or routes (contract 2).
 */
function identitySourcesFor(dialect: keyof typeof IDENTITY_DIALECTS, stageVariables: Record<string, string>): string[] {
  const d = IDENTITY_DIALECTS[dialect];
  return [
    d.header,
    `${d.stageVariable}${AUTHPLANE_STAGE_VARIABLES.app}`,
    ...(stageVariables[AUTHPLANE_STAGE_VARIABLES.routes] ? [`${d.stageVariable}${AUTHPLANE_STAGE_VARIABLES.routes}`] : []),
    ...d.route,
  ];
}

/** The stage variables for an app and route table; throws on values the authorizer would refuse. */
export function stageVariablesFor(app: string, routes?: Record<string, string>): Record<string, string> {
  if (app === undefined || app === null || (app !== "*" && !SLUG.test(app))) {
    throw new Error(`attach: app must be an app's organization slug (lower-case letters, digits, dashes) or "*" for any app, got ${JSON.stringify(app)}`);
  }
  const vars: Record<string, string> = { [AUTHPLANE_STAGE_VARIABLES.app]: app === "*" ? ANY_APP_STAGE_VALUE : app };
  if (routes && Object.keys(routes).length > 0) {
    for (const [route, permission] of Object.entries(routes)) {
      if (route === "" || !PERMISSION.test(permission)) {
        throw new Error(`attach: routes[${JSON.stringify(route)}] must be "resource:action", got ${JSON.stringify(permission)}`);
      }
    }
    const encoded = encodeRoutes(routes);
    if (encoded.length > MAX_STAGE_VARIABLE_LENGTH) {
      throw new Error(`attach: routes encode to ${encoded.length} characters; a stage variable holds at most ${MAX_STAGE_VARIABLE_LENGTH} (use a "*" default for most routes)`);
    }
    vars[AUTHPLANE_STAGE_VARIABLES.routes] = encoded;
  }
  return vars;
}

function checkTtl(ttl: number): number {
  if (!Token.isUnresolved(ttl) && !(Number.isInteger(ttl) && ttl >= 0 && ttl <= MAX_RESULT_TTL_SECONDS)) {
    throw new Error(`resultTtlSeconds must be a whole number from 0 to ${MAX_RESULT_TTL_SECONDS} (revocation bound), got ${ttl}`);
  }
  return ttl;
}

export class JwtAuthorizer extends Construct {
  readonly functionArn: string;
  readonly invokeArn: string;
  readonly functionName: string;
  readonly roleArn: string;
  readonly logGroupName: string;
  readonly arnParameterName: string;
  readonly invokeArnParameterName: string;
  readonly resultTtlSeconds: number;

  constructor(scope: Construct, id: string, props: JwtAuthorizerProps) {
    super(scope, id);
    this.resultTtlSeconds = checkTtl(props.resultTtlSeconds ?? 30);
    const tags = props.tags && Object.keys(props.tags).length > 0 ? props.tags : undefined;
    const tracing = props.tracing ?? false;
    const role = new LambdaRole(this, "role", {
      functionName: props.name,
      logRetentionDays: props.logRetentionDays ?? 30,
      vpc: false,
      logKmsKeyArn: props.logKmsKeyArn,
      tracing: tracing === true,
    });
    // LambdaRole is shared with the auth service; these two are set on its resources here.
    if (props.permissionsBoundaryArn) role.role.permissionsBoundary = props.permissionsBoundaryArn;
    if (tags) {
      role.role.tags = tags;
      role.logGroup.tags = tags;
    }
    // Known only at apply (a Terraform boolean): the X-Ray write actions in a policy of their own
    // that exists only when on. Lambda refuses active tracing before the role may write traces.
    const xray =
      typeof tracing === "boolean"
        ? undefined
        : new IamRolePolicy(this, "xray-policy", {
            count: Token.asNumber(Fn.conditional(tracing, 1, 0)),
            name: `${props.name}-xray`,
            role: role.role.id,
            policy: new DataAwsIamPolicyDocument(this, "xray-policy-doc", { statement: [{ sid: "XRayWrite", actions: XRAY_WRITE_ACTIONS, resources: ["*"] }] }).json,
          });
    const revocations = props.revocations ?? {};
    const fn = new LambdaFunction(this, "function", {
      functionName: props.name,
      role: role.role.arn,
      ...props.bundle.code,
      memorySize: props.memoryMb ?? 256,
      timeout: props.timeoutSeconds ?? 5,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        variables: {
          JWKS_URL: props.jwksUrl,
          JWT_ISSUER: props.issuer,
          JWT_AUDIENCE: props.audience,
          ...(props.seedJwks ? { JWKS_SEED: props.seedJwks } : {}),
          ...(revocations.url !== undefined ? { REVOCATIONS_URL: revocations.url } : {}),
          ...(revocations.refreshMs !== undefined ? { REVOCATIONS_REFRESH_MS: String(revocations.refreshMs) } : {}),
          ...(revocations.maxStaleMs !== undefined ? { REVOCATIONS_MAX_STALE_MS: String(revocations.maxStaleMs) } : {}),
          ...props.environment,
        },
      },
      loggingConfig: { logFormat: "JSON", logGroup: role.logGroup.name },
      tracingConfig: typeof tracing === "boolean" ? (tracing ? { mode: "Active" } : undefined) : { mode: Token.asString(Fn.conditional(tracing, "Active", "PassThrough")) },
      tags,
      dependsOn: [role.policy, role.logGroup, ...(xray ? [xray] : [])],
    });
    // No account-wide permission: only APIs that attach it (the helpers below, or the listed
    // execution ARNs) may invoke it, so another team's API cannot borrow its decisions.
    if (props.invokerSourceArns !== undefined) {
      const invokers = TerraformIterator.fromList(props.invokerSourceArns);
      new LambdaPermission(this, "invokers", {
        forEach: invokers,
        action: "lambda:InvokeFunction",
        functionName: fn.functionName,
        principal: "apigateway.amazonaws.com",
        sourceArn: invokers.value,
      });
    }
    const arn = new SsmParameter(this, "arn-parameter", {
      name: `${props.ssmPrefix}/arn`,
      type: "String",
      value: fn.arn,
      description: "authplane JWT authorizer function ARN",
      tags,
    });
    const invokeArn = new SsmParameter(this, "invoke-arn-parameter", {
      name: `${props.ssmPrefix}/invoke-arn`,
      type: "String",
      value: fn.invokeArn,
      description: "authplane JWT authorizer invoke ARN (authorizer_uri)",
      tags,
    });
    this.functionArn = fn.arn;
    this.invokeArn = fn.invokeArn;
    this.functionName = fn.functionName;
    this.roleArn = role.role.arn;
    this.logGroupName = role.logGroup.name;
    this.arnParameterName = arn.name;
    this.invokeArnParameterName = invokeArn.name;
  }

  private permissionFor(scope: Construct, id: string, api: AttachableApi, authorizerId: string): LambdaPermission {
    return new LambdaPermission(scope, `${id}-invoke`, {
      action: "lambda:InvokeFunction",
      functionName: this.functionName,
      principal: "apigateway.amazonaws.com",
      sourceArn: `${api.executionArn}/authorizers/${authorizerId}`,
    });
  }

  /**
   * Put this authorizer in front of an HTTP API (payload 2.0, simple responses). The identity
   * sources are the Authorization header, the app and route-table stage variables and the route
   * key, so API Gateway caches each decision per token, app and route for the TTL. Put the
   * returned `stageVariables` on the API's stage; routes then use `authorizationType: "CUSTOM"`
   * with the authorizer's id.
   *
   * @example
   * const { authorizer, stageVariables } = authz.attachToHttpApi(this, "authz", {
   *   api, app: "hiring", routes: { "POST /candidates": "candidate:write", "*": "candidate:read" },
   * });
   * new Apigatewayv2Stage(this, "stage", { apiId: api.id, name: "$default", autoDeploy: true, stageVariables });
   */
  attachToHttpApi(scope: Construct, id: string, options: AttachmentOptions): Attachment<Apigatewayv2Authorizer> {
    const stageVariables = stageVariablesFor(options.app, options.routes);
    const authorizer = new Apigatewayv2Authorizer(scope, id, {
      apiId: options.api.id,
      name: options.name ?? "authplane",
      authorizerType: "REQUEST",
      authorizerUri: this.invokeArn,
      authorizerPayloadFormatVersion: "2.0",
      enableSimpleResponses: true,
      identitySources: identitySourcesFor("http", stageVariables),
      authorizerResultTtlInSeconds: checkTtl(options.resultTtlSeconds ?? this.resultTtlSeconds),
    });
    return { authorizer, stageVariables, permission: this.permissionFor(scope, id, options.api, authorizer.id) };
  }

  /**
   * The REST API counterpart: a REQUEST authorizer (TOKEN authorizers carry no stage variables,
   * so the authorizer would deny every request with `app_not_configured`), cached per token, app,
   * method and resource path.
   */
  attachToRestApi(scope: Construct, id: string, options: AttachmentOptions): Attachment<ApiGatewayAuthorizer> {
    const stageVariables = stageVariablesFor(options.app, options.routes);
    const authorizer = new ApiGatewayAuthorizer(scope, id, {
      restApiId: options.api.id,
      name: options.name ?? "authplane",
      type: "REQUEST",
      authorizerUri: this.invokeArn,
      identitySource: identitySourcesFor("rest", stageVariables).join(","),
      authorizerResultTtlInSeconds: checkTtl(options.resultTtlSeconds ?? this.resultTtlSeconds),
    });
    return { authorizer, stageVariables, permission: this.permissionFor(scope, id, options.api, authorizer.id) };
  }
}
