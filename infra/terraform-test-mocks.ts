/**
 * The `mock_provider "aws"` blocks of both `terraform test` suites: the plain module's own
 * tests/module.tftest.hcl (infra/export-authorizer-module.ts) and the run of every synthesized
 * stack (scripts/test-stacks.ts). Terraform's mock provider makes up random strings for computed
 * attributes, and the provider's own validators refuse them where an ARN or a JSON policy is
 * expected; the resources every authplane function has get realistic values from here, in the
 * account, region and name each suite says.
 */

export interface MockAccount {
  accountId: string;
  region: string;
  /** Names the function, its role and its log group (/aws/lambda/<name>). */
  functionName: string;
}

/** A policy document's `json` must parse as an IAM policy wherever a role or policy takes it. */
const EMPTY_POLICY_JSON = '"{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}"';

/** The mocks every Lambda of authplane needs: its policy documents, role, log group and the function itself. */
export function functionMocks({ accountId, region, functionName }: MockAccount): string[] {
  const functionArn = `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
  return [
    `mock_data "aws_iam_policy_document" {\n  defaults = { json = ${EMPTY_POLICY_JSON} }\n}`,
    `mock_resource "aws_iam_role" {\n  defaults = { arn = "arn:aws:iam::${accountId}:role/${functionName}" }\n}`,
    `mock_resource "aws_cloudwatch_log_group" {\n  defaults = { arn = "arn:aws:logs:${region}:${accountId}:log-group:/aws/lambda/${functionName}" }\n}`,
    `mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "${functionArn}"
    invoke_arn = "arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${functionArn}/invocations"
  }
}`,
  ];
}

/** `mock_provider "aws"` holding the given mock blocks (each written unindented), after an optional comment line. */
export function mockAwsProvider(blocks: readonly string[], comment?: string): string {
  const body = blocks.map((block) => block.replace(/^(?=.)/gm, "  ")).join("\n");
  return `mock_provider "aws" {\n${comment ? `  # ${comment}\n` : ""}${body}\n}\n`;
}
