# A plain Terraform project (no cdktf) that puts authplane's JWT authorizer in front of its own
# HTTP API. `make module` writes the module this points at; the test suite runs
# `terraform init -backend=false && terraform validate` here against that output.
#
# Projects that deploy in the same account as authplane can skip the module and look the
# authorizer up instead:
#   data "aws_ssm_parameter" "authorizer_invoke_arn" { name = "/authplane/prod/authorizer/invoke-arn" }

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
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
}

provider "aws" {
  region = var.region
}

module "authorizer" {
  source = "../../dist/terraform/jwt-authorizer"

  name       = "timetracking-api-authorizer"
  jwks_url   = "${var.auth_url}/api/auth/jwks"
  issuer     = var.auth_url
  audience   = var.audience
  ssm_prefix = "/timetracking/authorizer"
}

resource "aws_apigatewayv2_api" "backend" {
  name          = "timetracking-api"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_authorizer" "authplane" {
  api_id                            = aws_apigatewayv2_api.backend.id
  name                              = "authplane"
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = module.authorizer.invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  identity_sources                  = ["$request.header.Authorization"]
  # Well under the 15-minute token lifetime: a revoked person is out within minutes.
  authorizer_result_ttl_in_seconds = 300
}

resource "aws_lambda_permission" "invoke_authorizer" {
  statement_id  = "AllowTimetrackingApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.authorizer.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.backend.execution_arn}/authorizers/${aws_apigatewayv2_authorizer.authplane.id}"
}

resource "aws_apigatewayv2_route" "timesheets" {
  api_id             = aws_apigatewayv2_api.backend.id
  route_key          = "GET /timesheets"
  authorization_type = "CUSTOM"
  authorizer_id      = aws_apigatewayv2_authorizer.authplane.id
}

output "authorizer_arn" {
  value = module.authorizer.function_arn
}
