# A plain Terraform project (no cdktf) that puts authplane's JWT authorizer in front of its own
# HTTP API, from the release artifact `make module` writes
# (dist/terraform/authplane-jwt-authorizer-<version>.zip): publish that zip where your projects
# can fetch it (a release asset, an S3 bucket via "s3::https://…", an internal web server) and
# point `source` at it; `//modules/attach-http-api` picks the attach submodule out of the same zip.
# The test suite serves the freshly built zip over local HTTP in place of the URL below and runs
# `terraform init -backend=false && terraform validate` here.
#
# Projects that deploy in the same account as authplane can skip the function module and look
# the shared authorizer up instead:
#   data "aws_ssm_parameter" "authorizer_invoke_arn" { name = "/authplane/prod/authorizer/invoke-arn" }

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.99"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "auth_url" {
  description = "Public URL of the authplane auth service, e.g. https://auth.example.org"
  type        = string
}

variable "audience" {
  description = "The JWT audience the auth service signs for (its JWT_AUDIENCE)"
  type        = string
  default     = "authplane"
}

provider "aws" {
  region = var.region
}

module "authorizer" {
  source = "https://github.com/your-org/authplane/releases/download/v0.1.0/authplane-jwt-authorizer-0.1.0.zip"

  name                 = "timetracking-api-authorizer"
  jwks_url             = "${var.auth_url}/api/auth/jwks"
  issuer               = var.auth_url
  audience             = var.audience
  ssm_prefix           = "/timetracking/authorizer"
  reserved_concurrency = 50
  tags                 = { team = "timetracking" }
}

resource "aws_apigatewayv2_api" "backend" {
  name          = "timetracking-api"
  protocol_type = "HTTP"
}

# The authorizer, its identity sources (token, app, route table, route key: one cache entry per
# token, app and route), the stage variables telling the shared function which app this API is
# and what each route needs, and an invoke permission for this API only.
module "authplane_attach" {
  source = "https://github.com/your-org/authplane/releases/download/v0.1.0/authplane-jwt-authorizer-0.1.0.zip//modules/attach-http-api"

  api_id                   = aws_apigatewayv2_api.backend.id
  api_execution_arn        = aws_apigatewayv2_api.backend.execution_arn
  authorizer_invoke_arn    = module.authorizer.invoke_arn
  authorizer_function_name = module.authorizer.function_name
  app                      = "timetracking"
  routes = {
    "POST /timesheets" = "timesheet:write"
    "*"                = "timesheet:read"
  }
  # 30 s is the default: a revoked token is refused within 15 s (feed refresh) + 30 s.
  result_ttl_seconds = 30
}

resource "aws_apigatewayv2_stage" "default" {
  api_id          = aws_apigatewayv2_api.backend.id
  name            = "$default"
  auto_deploy     = true
  stage_variables = module.authplane_attach.stage_variables
}

resource "aws_apigatewayv2_route" "timesheets" {
  api_id             = aws_apigatewayv2_api.backend.id
  route_key          = "GET /timesheets"
  authorization_type = "CUSTOM"
  authorizer_id      = module.authplane_attach.authorizer_id
}

output "authorizer_arn" {
  value = module.authorizer.function_arn
}
