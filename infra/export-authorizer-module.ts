/**
 * `make module`: the JwtAuthorizer construct as a plain Terraform module for projects that do
 * not use cdktf. Writes dist/terraform/jwt-authorizer/ with main.tf.json (variables in, ARNs
 * out, no provider or backend: the caller's own apply), and the Lambda zip it references
 * through `path.module`, so the directory can be copied or vendored anywhere.
 *
 *   npx tsx infra/export-authorizer-module.ts [--out DIR]
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { App, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { JwtAuthorizer, LambdaBundle } from "../modules/index.js";
import { bundleDir } from "./bundles.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const MODULE_DIR = join(ROOT, "dist", "terraform", "jwt-authorizer");
const STACK = "jwt-authorizer";

function defineModule(app: App, bundlePath: string): void {
  const stack = new TerraformStack(app, STACK);
  // Synthesis needs a provider construct; it is stripped below, a module inherits its caller's.
  new AwsProvider(stack, "aws", {});
  const v = (id: string, description: string, defaultValue?: string | number) =>
    new TerraformVariable(stack, id, { type: typeof defaultValue === "number" ? "number" : "string", description, default: defaultValue });
  const authorizer = new JwtAuthorizer(stack, "authorizer", {
    name: v("name", "Name of the authorizer Lambda function").stringValue,
    bundle: new LambdaBundle(stack, "bundle", { path: bundlePath }),
    jwksUrl: v("jwks_url", "JWKS URL of the auth service, e.g. https://auth.example.org/api/auth/jwks").stringValue,
    issuer: v("issuer", "Expected JWT issuer (the auth service URL)").stringValue,
    audience: v("audience", "Expected JWT audience").stringValue,
    ssmPrefix: v("ssm_prefix", "SSM path prefix for the published ARNs, e.g. /myapp/authorizer").stringValue,
    logRetentionDays: v("log_retention_days", "CloudWatch log retention in days", 30).numberValue,
  });
  const out = (id: string, value: string, description: string) => new TerraformOutput(stack, id, { value, description });
  out("function_arn", authorizer.functionArn, "ARN of the authorizer Lambda");
  out("invoke_arn", authorizer.invokeArn, "Invoke ARN for aws_apigatewayv2_authorizer.authorizer_uri");
  out("function_name", authorizer.functionName, "Name of the authorizer Lambda (for aws_lambda_permission)");
  out("arn_parameter", authorizer.arnParameterName, "SSM parameter holding the function ARN");
  out("invoke_arn_parameter", authorizer.invokeArnParameterName, "SSM parameter holding the invoke ARN");
}

/** Turn a synthesized root stack into a reusable module: no provider, no backend, module-relative assets. */
export function toModule(json: Record<string, any>): Record<string, any> {
  delete json.provider;
  delete json.terraform?.backend;
  const text = JSON.stringify(json).replace(/"assets\//g, '"${path.module}/assets/');
  return JSON.parse(text);
}

export function exportAuthorizerModule(outDir = MODULE_DIR, bundlePath = bundleDir("authorizer")): string {
  const synthDir = mkdtempSync(join(tmpdir(), "authplane-module-"));
  try {
    const app = new App({ outdir: synthDir });
    defineModule(app, bundlePath);
    app.synth();
    const stackDir = join(synthDir, "stacks", STACK);
    const json = toModule(JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")));
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "main.tf.json"), `${JSON.stringify(json, null, 2)}\n`);
    cpSync(join(stackDir, "assets"), join(outDir, "assets"), { recursive: true });
    return outDir;
  } finally {
    rmSync(synthDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log("usage: npx tsx infra/export-authorizer-module.ts [--out DIR]   (default dist/terraform/jwt-authorizer)");
  } else {
    console.log(`wrote ${exportAuthorizerModule(values.out ? resolve(values.out) : MODULE_DIR)}`);
  }
}
