/**
 * `make module`: the JwtAuthorizer construct as a plain Terraform module for projects that do
 * not use cdktf, with the faces Terraform users expect (terraform-aws-modules' layout):
 *
 *   dist/terraform/jwt-authorizer/
 *     versions.tf  variables.tf  outputs.tf   HCL, written from the specs below
 *     main.tf.json                            the construct's resources, synthesized by cdktf with
 *                                             readable addresses (aws_lambda_function.this, …)
 *     function.zip                            the authorizer bundle
 *     modules/attach-http-api/                attach it to an HTTP API with app, routes and TTL
 *     examples/basic/                         a consumer (examples/terraform-consumer, see consumer-example.ts)
 *     tests/module.tftest.hcl                 `terraform test` under mock_provider "aws"
 *     README.md                               inputs/outputs tables generated from the specs
 *   dist/terraform/authplane-jwt-authorizer-<version>.zip   the same directory, the release artifact
 *
 * The resources come from the construct (one definition, no drift); the variables, their
 * validation and the README come from one spec each, so the tables cannot disagree with the code.
 *
 *   npx tsx infra/export-authorizer-module.ts [--out DIR] [--bundle DIR]
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { App, TerraformOutput, TerraformStack, TerraformVariable, Token, type TerraformElement } from "cdktf";
import type { Node } from "constructs";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { crc32, deflateRawSync } from "node:zlib";
import { encodeRoutes, JwtAuthorizer, LambdaBundle, MAX_RESULT_TTL_SECONDS } from "../modules/index.js";
import { bundleDir } from "./bundles.js";
import { functionMocks, mockAwsProvider } from "./terraform-test-mocks.js";
import { basicExample, README_MODULE_DIR, readConsumerExample, readmeExample } from "./consumer-example.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const TERRAFORM_DIST = join(ROOT, "dist", "terraform");
export const MODULE_DIR = join(TERRAFORM_DIST, "jwt-authorizer");
export const MODULE_VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const STACK = "jwt-authorizer";
/** Oldest AWS provider with every argument the module sets (Lambda logging_config came in 5.x). */
export const AWS_PROVIDER_CONSTRAINT = ">= 5.30, < 7.0";

export interface VariableSpec {
  name: string;
  type: string;
  description: string;
  /** HCL literal; absent = required. */
  default?: string;
  validation?: Array<{ condition: string; message: string }>;
}

export interface OutputSpec {
  name: string;
  description: string;
  /** HCL expression. */
  value: string;
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export const MODULE_VARIABLES: VariableSpec[] = [
  {
    name: "name",
    type: "string",
    description: "Name of the Lambda function; also names its role and log group (/aws/lambda/<name>).",
    validation: [{ condition: 'can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))', message: "name: 1 to 64 letters, digits, dashes or underscores (a Lambda function name)." }],
  },
  {
    name: "jwks_url",
    type: "string",
    description: "JWKS URL of the authplane auth service, e.g. https://auth.example.org/api/auth/jwks.",
    validation: [
      {
        condition: 'can(regex("^https://[^/?#]+", var.jwks_url))',
        message: "jwks_url must be an https:// URL (e.g. https://auth.example.org/api/auth/jwks): over plain http anyone on the path could swap the keys and sign their own tokens.",
      },
    ],
  },
  {
    name: "issuer",
    type: "string",
    description: "The `iss` every token must carry: the auth service URL, e.g. https://auth.example.org.",
    validation: [{ condition: 'can(regex("^https://", var.issuer))', message: "issuer must be the https:// URL of the auth service (its JWT_ISSUER)." }],
  },
  {
    name: "audience",
    type: "string",
    description: "The `aud` tokens must carry (the auth service's JWT_AUDIENCE); several comma-separated.",
    validation: [{ condition: "length(trimspace(var.audience)) > 0", message: "audience must not be empty." }],
  },
  {
    name: "ssm_prefix",
    type: "string",
    description: "SSM path prefix under which the ARNs are published (<prefix>/arn, <prefix>/invoke-arn).",
    validation: [{ condition: 'can(regex("^/[A-Za-z0-9_./-]+[^/]$", var.ssm_prefix))', message: 'ssm_prefix must be an SSM path such as "/myapp/authorizer" (leading slash, no trailing slash).' }],
  },
  {
    name: "invoker_source_arns",
    type: "list(string)",
    description:
      "Execution-ARN patterns of the APIs that may invoke the function, e.g. arn:aws:execute-api:eu-west-1:123456789012:abc123/authorizers/*. Nothing else may. The attach-http-api submodule adds its own permission, so APIs attached with it need no entry here.",
    default: "[]",
    validation: [
      {
        condition: 'alltrue([for arn in var.invoker_source_arns : can(regex("^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9*]+/", arn))])',
        message: "invoker_source_arns: each entry must be an execute-api ARN pattern naming one API, e.g. arn:aws:execute-api:eu-west-1:123456789012:abc123/authorizers/*.",
      },
    ],
  },
  {
    name: "memory_mb",
    type: "number",
    description: "Lambda memory in MB (RSA verification is CPU-bound; CPU grows with memory).",
    default: "256",
    validation: [{ condition: "var.memory_mb >= 128 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb", message: "memory_mb must be a whole number from 128 to 10240." }],
  },
  {
    name: "timeout_seconds",
    type: "number",
    description: "Lambda timeout in seconds (API Gateway waits at most 10 s for an authorizer).",
    default: "5",
    validation: [{ condition: "var.timeout_seconds >= 1 && var.timeout_seconds <= 10 && floor(var.timeout_seconds) == var.timeout_seconds", message: "timeout_seconds must be a whole number from 1 to 10." }],
  },
  {
    name: "reserved_concurrency",
    type: "number",
    description: "Reserved concurrency of the function; -1 leaves it unreserved (the account's pool).",
    default: "-1",
    validation: [{ condition: "var.reserved_concurrency >= -1 && floor(var.reserved_concurrency) == var.reserved_concurrency", message: "reserved_concurrency must be -1 (unreserved) or a whole number of instances." }],
  },
  {
    name: "log_retention_days",
    type: "number",
    description: "CloudWatch log retention in days.",
    default: "30",
    validation: [{ condition: `contains([${LOG_RETENTION_DAYS.join(", ")}], var.log_retention_days)`, message: `log_retention_days must be one of CloudWatch's values: ${LOG_RETENTION_DAYS.join(", ")}.` }],
  },
  {
    name: "log_kms_key_arn",
    type: "string",
    description: "KMS key ARN to encrypt the log group with; null keeps CloudWatch's own encryption.",
    default: "null",
    validation: [{ condition: 'var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))', message: "log_kms_key_arn must be a KMS key ARN (arn:aws:kms:…) or null." }],
  },
  {
    name: "tracing",
    type: "bool",
    description: "X-Ray active tracing on the function (and the two X-Ray write actions on its role); false leaves Lambda's PassThrough.",
    default: "false",
    validation: [{ condition: "var.tracing != null", message: "tracing must be true or false." }],
  },
  {
    name: "permissions_boundary_arn",
    type: "string",
    description: "IAM permissions boundary for the execution role; null for none.",
    default: "null",
    validation: [{ condition: 'var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::", var.permissions_boundary_arn))', message: "permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::…) or null." }],
  },
  {
    name: "tags",
    type: "map(string)",
    description: "Tags on every resource the module creates.",
    default: "{}",
  },
  {
    name: "revocations_url",
    type: "string",
    description: 'The auth service\'s revocation feed; "" = the JWKS URL\'s origin + /revocations; "off" disables revocation (tokens then live until they expire).',
    default: '""',
    validation: [{ condition: 'var.revocations_url == "" || var.revocations_url == "off" || can(regex("^https://", var.revocations_url))', message: 'revocations_url must be "", "off" or an https:// URL.' }],
  },
  {
    name: "revocations_refresh_ms",
    type: "number",
    description: "How often each instance refreshes the revocation feed (conditional GET), in ms.",
    default: "15000",
    validation: [{ condition: "var.revocations_refresh_ms >= 1000 && var.revocations_refresh_ms <= 3600000", message: "revocations_refresh_ms must be from 1000 to 3600000." }],
  },
  {
    name: "revocations_max_stale_ms",
    type: "number",
    description: "Past this age of the last good copy of the feed every token is refused (revocations_stale), in ms.",
    default: "300000",
    validation: [{ condition: "var.revocations_max_stale_ms >= 1000 && var.revocations_max_stale_ms <= 86400000", message: "revocations_max_stale_ms must be from 1000 to 86400000 (and not below revocations_refresh_ms)." }],
  },
  {
    name: "seed_jwks",
    type: "string",
    description: 'The auth service\'s JWKS as JSON, so a cold start verifies without fetching it; "" fetches on first use.',
    default: '""',
    validation: [{ condition: 'var.seed_jwks == "" || can(jsondecode(var.seed_jwks).keys)', message: 'seed_jwks must be "" or a JWKS document ({"keys":[…]}).' }],
  },
];

const MODULE_OUTPUTS: Array<Omit<OutputSpec, "value"> & { of: (a: JwtAuthorizer) => string }> = [
  { name: "function_arn", description: "ARN of the authorizer Lambda.", of: (a) => a.functionArn },
  { name: "function_name", description: "Name of the authorizer Lambda (for aws_lambda_permission).", of: (a) => a.functionName },
  { name: "invoke_arn", description: "Invoke ARN, for authorizer_uri of aws_apigatewayv2_authorizer / aws_api_gateway_authorizer.", of: (a) => a.invokeArn },
  { name: "role_arn", description: "ARN of the function's execution role.", of: (a) => a.roleArn },
  { name: "log_group_name", description: "The function's CloudWatch log group (metrics arrive in it as EMF lines, namespace authplane).", of: (a) => a.logGroupName },
  { name: "arn_parameter", description: "SSM parameter holding the function ARN.", of: (a) => a.arnParameterName },
  { name: "invoke_arn_parameter", description: "SSM parameter holding the invoke ARN.", of: (a) => a.invokeArnParameterName },
];

export const ATTACH_VARIABLES: VariableSpec[] = [
  { name: "api_id", type: "string", description: "ID of the HTTP API (aws_apigatewayv2_api.id)." },
  {
    name: "api_execution_arn",
    type: "string",
    description: "Execution ARN of the HTTP API (aws_apigatewayv2_api.execution_arn); the invoke permission is scoped to it.",
    validation: [{ condition: 'can(regex("^arn:aws[a-z-]*:execute-api:", var.api_execution_arn))', message: "api_execution_arn must be the API's execution ARN (arn:aws:execute-api:…)." }],
  },
  { name: "authorizer_invoke_arn", type: "string", description: "invoke_arn output of the jwt-authorizer module." },
  { name: "authorizer_function_name", type: "string", description: "function_name output of the jwt-authorizer module." },
  {
    name: "app",
    type: "string",
    description: 'The app (organization slug) this API belongs to, or "*" for a platform-wide API that accepts any app. Required: there is no default.',
    validation: [{ condition: 'var.app == "*" || can(regex("^[a-z][a-z0-9-]{0,62}$", var.app))', message: 'app must be an app\'s organization slug (lower-case letters, digits, dashes, e.g. "hiring") or "*" for any app.' }],
  },
  {
    name: "routes",
    type: "map(string)",
    description: 'Permission each route needs, by route key: { "POST /candidates" = "candidate:write", "*" = "candidate:read" }; "*" is the default for other routes. Empty = membership of the app suffices.',
    default: "{}",
    validation: [
      {
        condition: 'alltrue([for route, permission in var.routes : route != "" && can(regex("^[^\\\\s:]+:[^\\\\s:]+$", permission))])',
        message: 'routes: each value must be a permission "resource:action", e.g. "candidate:write".',
      },
      {
        condition: 'length(replace(replace(replace(base64encode(jsonencode(var.routes)), "+", "-"), "/", "_"), "=", "")) <= 512',
        message: 'routes: the table must encode to at most 512 characters (API Gateway\'s stage variable limit); use a "*" default for most routes.',
      },
    ],
  },
  {
    name: "result_ttl_seconds",
    type: "number",
    description: `API Gateway result-cache TTL per token, app and route, in seconds. Each cached decision saves a Lambda call; a revoked token stays usable up to this plus the feed refresh (30 + 15 s < 60 s).`,
    default: "30",
    validation: [{ condition: `var.result_ttl_seconds >= 0 && var.result_ttl_seconds <= ${MAX_RESULT_TTL_SECONDS} && floor(var.result_ttl_seconds) == var.result_ttl_seconds`, message: `result_ttl_seconds must be a whole number from 0 to ${MAX_RESULT_TTL_SECONDS} (longer breaks the revocation bound).` }],
  },
  { name: "name", type: "string", description: "Name of the API Gateway authorizer.", default: '"authplane"' },
];

export const ATTACH_OUTPUTS: OutputSpec[] = [
  { name: "authorizer_id", description: "ID of the authorizer, for routes' authorizer_id (authorization_type = \"CUSTOM\").", value: "aws_apigatewayv2_authorizer.this.id" },
  { name: "stage_variables", description: "Stage variables the API's stage must carry (merge them into aws_apigatewayv2_stage.stage_variables).", value: "local.stage_variables" },
  { name: "identity_sources", description: "The identity sources (cache key): header, app, route table when set, route key.", value: "local.identity_sources" },
];

const ATTACH_MAIN = `# Attaches the authplane JWT authorizer to one HTTP API: the authorizer with identity sources
# that key API Gateway's result cache per token, app and route, the stage variables that tell
# the shared function which app (and route permissions) this API requires, and an invoke
# permission scoped to this API's authorizers.

locals {
  # API Gateway refuses "*" in a stage variable value; the authorizer reads "~any" as "*".
  app_stage_value = var.app == "*" ? "~any" : var.app
  # base64url without padding of the JSON route table (the attachment contract).
  routes_encoded = length(var.routes) == 0 ? "" : replace(replace(replace(base64encode(jsonencode(var.routes)), "+", "-"), "/", "_"), "=", "")

  stage_variables = merge(
    { authplane_app = local.app_stage_value },
    local.routes_encoded == "" ? {} : { authplane_routes = local.routes_encoded },
  )

  # Every identity source must be present or API Gateway answers 401 itself: the route table
  # only when there is one.
  identity_sources = concat(
    ["$request.header.Authorization", "$stageVariables.authplane_app"],
    local.routes_encoded == "" ? [] : ["$stageVariables.authplane_routes"],
    ["$context.routeKey"],
  )
}

resource "aws_apigatewayv2_authorizer" "this" {
  api_id                            = var.api_id
  name                              = var.name
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = var.authorizer_invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  identity_sources                  = local.identity_sources
  authorizer_result_ttl_in_seconds  = var.result_ttl_seconds
}

resource "aws_lambda_permission" "this" {
  action        = "lambda:InvokeFunction"
  function_name = var.authorizer_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "\${var.api_execution_arn}/authorizers/\${aws_apigatewayv2_authorizer.this.id}"
}
`;

function versionsTf(): string {
  return `terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "${AWS_PROVIDER_CONSTRAINT}"
    }
  }
}
`;
}

const hclString = (s: string) => JSON.stringify(s).replace(/\$\{/g, "$$${");

export function variablesTf(specs: VariableSpec[]): string {
  return specs
    .map((v) => {
      const lines = [`variable "${v.name}" {`, `  description = ${hclString(v.description)}`, `  type        = ${v.type}`];
      if (v.default !== undefined) lines.push(`  default     = ${v.default}`);
      if (v.default === "null") lines.push("  nullable    = true");
      for (const rule of v.validation ?? []) {
        lines.push("", "  validation {", `    condition     = ${rule.condition}`, `    error_message = ${hclString(rule.message)}`, "  }");
      }
      lines.push("}");
      return lines.join("\n");
    })
    .join("\n\n")
    .concat("\n");
}

export function outputsTf(specs: OutputSpec[]): string {
  return specs.map((o) => `output "${o.name}" {\n  description = ${hclString(o.description)}\n  value       = ${o.value}\n}`).join("\n\n").concat("\n");
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function inputsTable(specs: VariableSpec[]): string {
  const rows = specs.map((v) => `| \`${v.name}\` | ${cell(v.description)} | \`${cell(v.type)}\` | ${v.default === undefined ? "n/a" : `\`${cell(v.default)}\``} | ${v.default === undefined ? "yes" : "no"} |`);
  return ["| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|", ...rows].join("\n");
}

export function outputsTable(specs: Array<{ name: string; description: string }>): string {
  return ["| Name | Description |", "|---|---|", ...specs.map((o) => `| \`${o.name}\` | ${cell(o.description)} |`)].join("\n");
}

function readme(outputs: OutputSpec[], example: string): string {
  return `<!-- Generated by \`make module\` (infra/export-authorizer-module.ts) from the module's own variable and output specs; do not edit. -->
# authplane JWT authorizer (Terraform module ${MODULE_VERSION})

The shared authplane JWT authorizer as a Lambda for API Gateway (HTTP API payload 2.0 and REST
REQUEST authorizers): it verifies the auth service's RS256 tokens against the cached JWKS, enforces
the app and route permission the backend's stage declares, refuses revoked tokens from the auth
service's revocation feed, and hands the claims to the backend as the authorizer context. Counters
(Allows; Denies by Code and by Class, "fault" or "client", with Function=authorizer) arrive in its log group as CloudWatch
EMF lines, namespace \`authplane\`: alarm on \`Denies{Function=authorizer,Class=fault}\` >= 1 to hear of
\`revocations_stale\`, \`app_not_configured\`, \`ERR_AUTHORIZER_CONFIG\` and \`ERR_AUTHORIZER_INTERNAL\`.

## How a backend attaches

One function serves every backend; nothing in it is per app. A backend declares on **its own stage**:

- \`authplane_app\`: its app's organization slug, or \`~any\` (what \`app = "*"\` writes: API Gateway
  refuses \`*\` in a stage variable) for a platform-wide API. A stage without it is denied
  (\`app_not_configured\`); a token without an app is \`no_app\`, for another app \`wrong_app\`.
- \`authplane_routes\` (optional): base64url JSON \`{"POST /candidates":"candidate:write","*":"candidate:read"}\`;
  a token without the route's permission is \`missing_permission\`.

The identity sources carry the header, both stage variables and \`$context.routeKey\`, so API
Gateway's result cache is keyed per token, app and route: one app's or route's decision is never
reused for another. \`modules/attach-http-api\` does all of it, including an invoke permission
scoped to that API. The function accepts no other caller: list other APIs in \`invoker_source_arns\`.

**REST APIs:** use a \`REQUEST\` authorizer (TOKEN events carry no stage variables) with
\`identity_source = "method.request.header.Authorization,stageVariables.authplane_app,context.httpMethod,context.resourcePath"\`
(add \`stageVariables.authplane_routes\` when set; route keys are \`"GET /candidates/{id}"\`), the
same stage variables on \`aws_api_gateway_stage.variables\`, and an \`aws_lambda_permission\` with
\`source_arn = "\${aws_api_gateway_rest_api.this.execution_arn}/authorizers/\${aws_api_gateway_authorizer.this.id}"\`.

**Revocation bound:** each instance refreshes the feed every \`revocations_refresh_ms\` (15 s) and
API Gateway caches a decision \`result_ttl_seconds\` (30 s): a token minted before an offboard is
refused within 15 + 30 s < 60 s. If the feed cannot be reached the last copy serves; past
\`revocations_max_stale_ms\` (5 min) every token is refused. The TTL's cost: each distinct token,
app and route pays one Lambda invocation per TTL (about 1 ms of a 256 MB function).

## Example

With the module copied to \`${README_MODULE_DIR}\` (or the release zip's URL as \`source\`,
and \`//modules/attach-http-api\` after it for the submodule):

\`\`\`hcl
${example}\`\`\`

The same as a working consumer: [examples/basic](examples/basic). \`terraform test\` runs
[tests/module.tftest.hcl](tests/module.tftest.hcl) under a mock AWS provider.

## Requirements

| Name | Version |
|---|---|
| terraform | >= 1.5 |
| aws | ${AWS_PROVIDER_CONSTRAINT} |

## Inputs

${inputsTable(MODULE_VARIABLES)}

## Outputs

${outputsTable(outputs)}

## Submodule \`modules/attach-http-api\`

### Inputs

${inputsTable(ATTACH_VARIABLES)}

### Outputs

${outputsTable(ATTACH_OUTPUTS)}
`;
}

/** The account, region and function the module's tests and their variables name. */
const MOCK_ACCOUNT = { accountId: "123456789012", region: "eu-west-1", functionName: "t-authorizer" };

// The expected authplane_routes is encoded by the construct's own helper: HCL's jsonencode (keys
// sorted) and the TypeScript encoder must agree on the contract.
const MODULE_TEST = `# terraform test: the module plans and applies under a mock AWS provider, its submodule keys the
# cache per app and route, and its inputs are validated.
${mockAwsProvider(functionMocks(MOCK_ACCOUNT), "Computed attributes the provider's own validators check, given realistic shapes.")}
variables {
  name                = "t-authorizer"
  jwks_url            = "https://auth.example.org/api/auth/jwks"
  issuer              = "https://auth.example.org"
  audience            = "authplane"
  ssm_prefix          = "/t/authorizer"
  invoker_source_arns = ["arn:aws:execute-api:eu-west-1:123456789012:abc123/authorizers/*"]
  tags                = { team = "t" }
}

run "applies_with_secure_defaults" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.JWKS_URL == "https://auth.example.org/api/auth/jwks"
    error_message = "the function must verify against the given JWKS"
  }
  assert {
    condition     = aws_lambda_function.this.memory_size == 256 && aws_lambda_function.this.timeout == 5
    error_message = "defaults: 256 MB, 5 s"
  }
  assert {
    condition     = length(aws_lambda_permission.invokers) == 1 && alltrue([for p in aws_lambda_permission.invokers : p.source_arn == "arn:aws:execute-api:eu-west-1:123456789012:abc123/authorizers/*"])
    error_message = "only the listed API may invoke the function"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/t-authorizer" && output.log_group_name == "/aws/lambda/t-authorizer"
    error_message = "the log group is the function's own"
  }
  assert {
    condition     = aws_lambda_function.this.tags["team"] == "t" && aws_iam_role.this.tags["team"] == "t"
    error_message = "tags reach every resource"
  }
}

run "attaches_to_an_http_api_per_app_and_route" {
  command = apply

  module {
    source = "./modules/attach-http-api"
  }

  variables {
    api_id                   = "abc123"
    api_execution_arn        = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
    authorizer_invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:t-authorizer/invocations"
    authorizer_function_name = "t-authorizer"
    app                      = "hiring"
    routes                   = { "POST /candidates" = "candidate:write", "*" = "candidate:read" }
  }

  assert {
    condition     = output.stage_variables == { authplane_app = "hiring", authplane_routes = "${encodeRoutes({ "*": "candidate:read", "POST /candidates": "candidate:write" })}" }
    error_message = "stage variables carry the app and the route table"
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.this.identity_sources == toset(["$request.header.Authorization", "$stageVariables.authplane_app", "$stageVariables.authplane_routes", "$context.routeKey"])
    error_message = "the cache key must differ per app and route"
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.this.authorizer_result_ttl_in_seconds == 30
    error_message = "default TTL is 30 s"
  }
  assert {
    condition     = startswith(aws_lambda_permission.this.source_arn, "arn:aws:execute-api:eu-west-1:123456789012:abc123/authorizers/")
    error_message = "the invoke permission is scoped to this API"
  }
}

run "traces_and_encrypts_logs_when_asked" {
  command = apply

  variables {
    tracing         = true
    log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active" && length(aws_iam_role_policy.xray) == 1
    error_message = "tracing = true: active tracing and the X-Ray write policy"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "the log group is encrypted with the given key"
  }
}

run "untraced_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "PassThrough" && length(aws_iam_role_policy.xray) == 0
    error_message = "tracing defaults to off: no X-Ray policy"
  }
}

run "refuses_a_log_key_that_is_not_a_kms_arn" {
  command = plan

  variables {
    log_kms_key_arn = "alias/aws/logs"
  }

  expect_failures = [var.log_kms_key_arn]
}

run "refuses_a_plain_http_jwks_url" {
  command = plan

  variables {
    jwks_url = "http://auth.example.org/api/auth/jwks"
  }

  expect_failures = [var.jwks_url]
}

run "refuses_a_result_ttl_past_the_revocation_bound" {
  command = plan

  module {
    source = "./modules/attach-http-api"
  }

  variables {
    api_id                   = "abc123"
    api_execution_arn        = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
    authorizer_invoke_arn    = "x"
    authorizer_function_name = "t-authorizer"
    app                      = "hiring"
    result_ttl_seconds       = 300
  }

  expect_failures = [var.result_ttl_seconds]
}
`;

/** cdktf's construct paths → the resource names a Terraform user would write. */
const ADDRESSES: Record<string, string> = {
  "authorizer/function": "this",
  "authorizer/role/role": "this",
  "authorizer/role/logs": "this",
  "authorizer/role/policy": "this",
  "authorizer/role/assume": "assume_role",
  "authorizer/role/policy-doc": "this",
  "authorizer/invokers": "invokers",
  "authorizer/xray-policy": "xray",
  "authorizer/xray-policy-doc": "xray",
  "authorizer/arn-parameter": "function_arn",
  "authorizer/invoke-arn-parameter": "invoke_arn",
};

function defineModule(app: App, bundlePath: string): TerraformStack {
  const stack = new ModuleStack(app, STACK);
  // Synthesis needs a provider construct; it is stripped below, a module inherits its caller's.
  new AwsProvider(stack, "aws", {});
  const vars = Object.fromEntries(MODULE_VARIABLES.map((v) => [v.name, new TerraformVariable(stack, v.name, {})]));
  const s = (name: string) => vars[name]!.stringValue;
  const n = (name: string) => vars[name]!.numberValue;
  const authorizer = new JwtAuthorizer(stack, "authorizer", {
    name: s("name"),
    bundle: new LambdaBundle(stack, "bundle", { path: bundlePath }),
    jwksUrl: s("jwks_url"),
    issuer: s("issuer"),
    audience: s("audience"),
    ssmPrefix: s("ssm_prefix"),
    invokerSourceArns: vars.invoker_source_arns!.listValue,
    memoryMb: n("memory_mb"),
    timeoutSeconds: n("timeout_seconds"),
    reservedConcurrency: n("reserved_concurrency"),
    logRetentionDays: n("log_retention_days"),
    logKmsKeyArn: s("log_kms_key_arn"),
    tracing: vars.tracing!.booleanValue,
    permissionsBoundaryArn: s("permissions_boundary_arn"),
    tags: Token.asStringMap(vars.tags!.value),
    revocations: { url: s("revocations_url"), refreshMs: n("revocations_refresh_ms"), maxStaleMs: n("revocations_max_stale_ms") },
    seedJwks: s("seed_jwks"),
  });
  for (const o of MODULE_OUTPUTS) new TerraformOutput(stack, o.name, { value: o.of(authorizer) });
  return stack;
}

/** A stack whose resources get the names in ADDRESSES (allocated before anything references them). */
class ModuleStack extends TerraformStack {
  protected override allocateLogicalId(element: TerraformElement | Node): string {
    const node = "node" in element ? element.node : element;
    const address = ADDRESSES[node.path.split("/").slice(1).join("/")];
    return address ?? super.allocateLogicalId(element);
  }
}

function stripMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripMetadata);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "//").map(([k, v]) => [k, stripMetadata(v)]));
}

/**
 * Turn a synthesized stack into the module's resources: no provider, backend, variables or
 * outputs (those are HCL files), no cdktf metadata, the bundle at `${path.module}/function.zip`.
 */
export function toModule(json: Record<string, any>): { main: Record<string, any>; outputs: OutputSpec[] } {
  const outputs = MODULE_OUTPUTS.map(({ name, description }) => {
    const value = String(json.output?.[name]?.value ?? "");
    const expression = /^\$\{([^{}]+)\}$/.exec(value)?.[1];
    if (!expression) throw new Error(`module output ${name}: expected a single reference, got ${value}`);
    return { name, description, value: expression };
  });
  const main = stripMetadata({ resource: json.resource, data: json.data }) as Record<string, any>;
  for (const fn of Object.values(main.resource.aws_lambda_function ?? {}) as Array<Record<string, unknown>>) {
    fn.filename = "${path.module}/function.zip";
    fn.source_code_hash = '${filebase64sha256("${path.module}/function.zip")}';
  }
  const text = JSON.stringify(main);
  const hashed = /[a-z_]+_[0-9A-F]{8}\b/.exec(text.replace(/"source_code_hash":"[^"]*"/g, ""));
  if (hashed) throw new Error(`module still holds a cdktf hashed address: ${text.slice(Math.max(0, hashed.index - 200), hashed.index + 60)}`);
  return { main, outputs };
}

/** A deterministic zip (stored paths relative to `dir`, fixed timestamps) of every file under `dir`. */
export function zipDirectory(dir: string, prefix: string): Buffer {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(dir);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_TIME = 0;
  const DOS_DATE = (1 << 5) | 1; // 1980-01-01
  for (const file of files) {
    const name = Buffer.from(`${prefix}${relative(dir, file).split("\\").join("/")}`);
    const data = readFileSync(file);
    const packed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((0o100644 << 16) >>> 0), 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const centralSize = centrals.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

export interface ExportedModule {
  dir: string;
  artifact: string;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function exportAuthorizerModule(outDir = MODULE_DIR, bundlePath = bundleDir("authorizer")): ExportedModule {
  const synthDir = mkdtempSync(join(tmpdir(), "authplane-module-"));
  try {
    const app = new App({ outdir: synthDir });
    defineModule(app, bundlePath);
    app.synth();
    const stackDir = join(synthDir, "stacks", STACK);
    const json = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    const { main, outputs } = toModule(json);
    const asset = (Object.values(json.resource.aws_lambda_function)[0] as { filename: string }).filename;
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    write(join(outDir, "main.tf.json"), `${JSON.stringify(main, null, 2)}\n`);
    copyFileSync(join(stackDir, asset), join(outDir, "function.zip"));
    write(join(outDir, "versions.tf"), versionsTf());
    write(join(outDir, "variables.tf"), variablesTf(MODULE_VARIABLES));
    write(join(outDir, "outputs.tf"), outputsTf(outputs));
    write(join(outDir, "modules/attach-http-api/main.tf"), ATTACH_MAIN);
    write(join(outDir, "modules/attach-http-api/variables.tf"), variablesTf(ATTACH_VARIABLES));
    write(join(outDir, "modules/attach-http-api/outputs.tf"), outputsTf(ATTACH_OUTPUTS));
    write(join(outDir, "modules/attach-http-api/versions.tf"), versionsTf());
    const consumer = readConsumerExample();
    write(join(outDir, "examples/basic/main.tf"), basicExample(consumer));
    write(join(outDir, "tests/module.tftest.hcl"), MODULE_TEST);
    write(join(outDir, "README.md"), readme(outputs, readmeExample(consumer)));
    const artifact = join(dirname(outDir), `authplane-jwt-authorizer-${MODULE_VERSION}.zip`);
    writeFileSync(artifact, zipDirectory(outDir, ""));
    return { dir: outDir, artifact };
  } finally {
    rmSync(synthDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" }, bundle: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(`usage: npx tsx infra/export-authorizer-module.ts [--out DIR] [--bundle DIR]

Writes the plain Terraform module (default dist/terraform/jwt-authorizer) and its release zip
next to it (authplane-jwt-authorizer-${MODULE_VERSION}.zip). --bundle: the authorizer bundle directory
(default dist/functions/authorizer; run npm run build first).`);
  } else {
    const { dir, artifact } = exportAuthorizerModule(values.out ? resolve(values.out) : MODULE_DIR, values.bundle ? resolve(values.bundle) : undefined);
    console.log(`wrote ${dir}\nwrote ${artifact}`);
  }
}
