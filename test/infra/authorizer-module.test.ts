/**
 * The authorizer's two faces for other projects, proved rather than assumed:
 * - the cdktf construct's attach helpers (app required, cache keyed per app and route, invoke
 *   permission scoped to the attaching API, the knobs a platform team needs);
 * - the plain Terraform module `make module` writes: HCL inputs with validation, outputs, a
 *   provider lower bound, a generated README, a release zip; `terraform test` plans and applies it
 *   under mock_provider "aws" and refuses an http:// JWKS URL with a clear message; the HCL
 *   consumer example validates against the zip fetched over real HTTP.
 */
import type { TerraformStack } from "cdktf";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunction } from "../../functions/build.js";
import { parseRouteTable } from "../../functions/authorizer/attachment.js";
import { basicExample, readmeExample } from "../../infra/consumer-example.js";
import {
  ATTACH_VARIABLES,
  AWS_PROVIDER_CONSTRAINT,
  exportAuthorizerModule,
  inputsTable,
  MODULE_VARIABLES,
  MODULE_VERSION,
  type ExportedModule,
} from "../../infra/export-authorizer-module.js";
import { JwtAuthorizer, LambdaBundle } from "../../modules/index.js";
import { firstError, terraform as terraformIn } from "../../scripts/terraform-runner.js";
import { validateStacks } from "../../scripts/validate-stacks.js";
import { resources as all, stubBundleDir, synthesizeConstruct } from "./synthesized.js";

const API = { id: "api-1", executionArn: "arn:aws:execute-api:eu-west-1:123456789012:api-1" };

const synth = (build: (stack: TerraformStack, bundle: LambdaBundle) => void) =>
  synthesizeConstruct((stack) => build(stack, new LambdaBundle(stack, "bundle", { path: stubBundleDir({ isAuthorized: false }) })));
const props = (bundle: LambdaBundle) => ({
  name: "t-authz",
  bundle,
  jwksUrl: "https://auth.example.org/api/auth/jwks",
  issuer: "https://auth.example.org",
  audience: "apps",
  ssmPrefix: "/t/authorizer",
});

describe("JwtAuthorizer attachments (cdktf)", () => {
  it("an HTTP API attachment names its app, keys the cache per token, app, route table and route, and scopes the invoke permission to that API", () => {
    let stageVariables: Record<string, string> = {};
    const json = synth((s, bundle) => {
      const authz = new JwtAuthorizer(s, "authz", props(bundle));
      ({ stageVariables } = authz.attachToHttpApi(s, "attach", { api: API, app: "hiring", routes: { "POST /candidates": "candidate:write", "*": "candidate:read" } }));
    });
    expect(stageVariables.authplane_app).toBe("hiring");
    // The value the construct writes is exactly what the function parses.
    const table = parseRouteTable(stageVariables.authplane_routes!);
    expect(table?.routes.get("POST /candidates")).toEqual({ resource: "candidate", action: "write" });
    expect(table?.fallback).toEqual({ resource: "candidate", action: "read" });
    const [authorizer] = all(json, "aws_apigatewayv2_authorizer");
    expect(authorizer.identity_sources).toEqual(["$request.header.Authorization", "$stageVariables.authplane_app", "$stageVariables.authplane_routes", "$context.routeKey"]);
    expect(authorizer.authorizer_result_ttl_in_seconds).toBe(30);
    const permissions = all(json, "aws_lambda_permission");
    expect(permissions).toHaveLength(1);
    expect(permissions[0].source_arn).toMatch(/^arn:aws:execute-api:eu-west-1:123456789012:api-1\/authorizers\/\$\{aws_apigatewayv2_authorizer\.attach\.id\}$/);
    expect(JSON.stringify(json)).not.toContain("source_account");
  });

  it("a REST attachment is a REQUEST authorizer keyed per token, app, method and resource path", () => {
    let stageVariables: Record<string, string> = {};
    const json = synth((s, bundle) => {
      ({ stageVariables } = new JwtAuthorizer(s, "authz", props(bundle)).attachToRestApi(s, "rest", { api: API, app: "*", resultTtlSeconds: 10 }));
    });
    // API Gateway refuses "*" in a stage variable value; the function reads "~any" as "*".
    expect(stageVariables).toEqual({ authplane_app: "~any" });
    expect(all(json, "aws_api_gateway_authorizer")[0]).toMatchObject({
      type: "REQUEST",
      identity_source: "method.request.header.Authorization,stageVariables.authplane_app,context.httpMethod,context.resourcePath",
      authorizer_result_ttl_in_seconds: 10,
    });
    expect(all(json, "aws_lambda_permission")[0].source_arn).toContain("arn:aws:execute-api:eu-west-1:123456789012:api-1/authorizers/");
  });

  it("refuses an attachment without an app, with a malformed permission, with too many routes, or a TTL past the revocation bound", () => {
    const attach = (options: Record<string, unknown>) => () =>
      synth((s, bundle) => new JwtAuthorizer(s, "authz", props(bundle)).attachToHttpApi(s, "a", { api: API, ...options } as never));
    expect(attach({})).toThrow(/app must be an app's organization slug .* or "\*"/);
    expect(attach({ app: "" })).toThrow(/app must be/);
    expect(attach({ app: "Hiring" })).toThrow(/app must be/);
    expect(attach({ app: "hiring", routes: { "POST /x": "write" } })).toThrow(/must be "resource:action"/);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`POST /resource-number-${i}`, `resource${i}:write`]));
    expect(attach({ app: "hiring", routes: many })).toThrow(/at most 512/);
    expect(attach({ app: "hiring", resultTtlSeconds: 300 })).toThrow(/from 0 to 60/);
  });

  it("creates no invoke permission of its own beyond the listed APIs, and exposes the platform knobs", () => {
    const json = synth((s, bundle) => {
      new JwtAuthorizer(s, "authz", {
        ...props(bundle),
        memoryMb: 512,
        timeoutSeconds: 3,
        reservedConcurrency: 20,
        logKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
        tracing: true,
        permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary",
        tags: { team: "platform" },
        invokerSourceArns: ["arn:aws:execute-api:eu-west-1:123456789012:abc/authorizers/*"],
        revocations: { refreshMs: 10_000, maxStaleMs: 120_000 },
      });
    });
    const [fn] = all(json, "aws_lambda_function");
    expect(fn).toMatchObject({ memory_size: 512, timeout: 3, reserved_concurrent_executions: 20, tags: { team: "platform" }, tracing_config: { mode: "Active" } });
    const policy = JSON.stringify(Object.values(json.data.aws_iam_policy_document));
    expect(policy).toContain("xray:PutTraceSegments");
    expect(fn.environment.variables).toMatchObject({ REVOCATIONS_REFRESH_MS: "10000", REVOCATIONS_MAX_STALE_MS: "120000" });
    expect(all(json, "aws_cloudwatch_log_group")[0]).toMatchObject({ kms_key_id: "arn:aws:kms:eu-west-1:123456789012:key/k", tags: { team: "platform" } });
    expect(all(json, "aws_iam_role")[0]).toMatchObject({ permissions_boundary: "arn:aws:iam::123456789012:policy/boundary", tags: { team: "platform" } });
    const [permission] = all(json, "aws_lambda_permission");
    expect(permission).toMatchObject({ source_arn: "${each.value}", principal: "apigateway.amazonaws.com" });
    expect(permission.for_each).toContain("arn:aws:execute-api:eu-west-1:123456789012:abc/authorizers/*");

    const bare = synth((s, bundle) => new JwtAuthorizer(s, "authz", props(bundle)));
    expect(all(bare, "aws_lambda_permission")).toHaveLength(0);
    // Untraced by default: no tracing config and no X-Ray action on the role.
    expect(all(bare, "aws_lambda_function")[0].tracing_config).toBeUndefined();
    expect(all(bare, "aws_cloudwatch_log_group")[0].kms_key_id).toBeUndefined();
    expect(JSON.stringify(bare.data)).not.toContain("xray:");
  });
});

describe("the module's examples, derived from examples/terraform-consumer", () => {
  it("refuses a consumer whose module source is not a release zip, or that uses a variable the README has no value for", () => {
    const consumer = readFileSync(resolve("examples/terraform-consumer/main.tf"), "utf8");
    expect(() => basicExample(consumer.replaceAll(/source = "https:[^"]+"/g, 'source = "./local"'))).toThrow(/no module source pointing at the release zip/);
    expect(() => readmeExample(consumer.replace("var.audience", "var.team_audience"))).toThrow(/the README has no value for var\.team_audience/);
    expect(readmeExample(consumer)).not.toMatch(/\.zip|var\./);
  });
});

/** This file's own plugin cache: concurrent writers to one cache race. */
const PLUGIN_CACHE = resolve(".tmp/plugin-cache-authorizer-module");
const terraform = (cwd: string, args: string[]) => terraformIn({ pluginCacheDir: PLUGIN_CACHE }).chain(basename(cwd), cwd, [[...args, "-no-color"]]);
/** Where examples/terraform-consumer fetches the module from (the test serves the fresh zip there instead). */
const RELEASE = "https://github.com/your-org/authplane/releases/download/v0.1.0/";
const RELEASE_ZIP = `${RELEASE}authplane-jwt-authorizer-${MODULE_VERSION}.zip`;

describe("the authorizer as a plain Terraform module", () => {
  let exported: ExportedModule;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "authplane-module-"));
    const bundle = await buildFunction("authorizer", join(root, "bundle"));
    exported = exportAuthorizerModule(join(root, "jwt-authorizer"), bundle.outdir);
    // The release zip over real HTTP, as a consumer fetches it.
    server = createServer((req, res) => {
      if (req.url === `/${basename(exported.artifact)}`) res.writeHead(200, { "content-type": "application/zip" }).end(readFileSync(exported.artifact));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  const file = (path: string) => readFileSync(join(exported.dir, path), "utf8");

  it("has typed, described and validated inputs, the outputs a platform needs, a provider lower bound and no provider or backend", () => {
    const variables = file("variables.tf");
    for (const v of MODULE_VARIABLES) {
      expect(variables).toContain(`variable "${v.name}" {\n  description = `);
      expect(variables).toMatch(new RegExp(`variable "${v.name}" \\{\\n  description = [^\\n]+\\n  type        = ${v.type.replace(/[()]/g, "\\$&")}`));
    }
    expect(variables).toContain('condition     = can(regex("^https://[^/?#]+", var.jwks_url))');
    const outputs = file("outputs.tf");
    for (const name of ["function_arn", "function_name", "invoke_arn", "role_arn", "log_group_name"]) expect(outputs).toContain(`output "${name}" {`);
    expect(outputs).toContain("value       = aws_iam_role.this.arn");
    expect(file("versions.tf")).toContain(`version = "${AWS_PROVIDER_CONSTRAINT}"`);
    expect(AWS_PROVIDER_CONSTRAINT).toMatch(/^>= 5\./);
    const main = JSON.parse(file("main.tf.json"));
    expect(main.provider).toBeUndefined();
    expect(main.terraform).toBeUndefined();
    expect(main.variable).toBeUndefined();
    expect(Object.keys(main.resource.aws_lambda_function)).toEqual(["this"]);
    expect(JSON.stringify(main)).not.toMatch(/_[0-9A-F]{8}\b/);
    expect(main.resource.aws_lambda_function.this.filename).toBe("${path.module}/function.zip");
    expect(existsSync(join(exported.dir, "function.zip"))).toBe(true);
  });

  it("has a README whose inputs and outputs tables are generated from the code, with an example", () => {
    const readme = file("README.md");
    expect(readme).toContain(inputsTable(MODULE_VARIABLES));
    expect(readme).toContain(inputsTable(ATTACH_VARIABLES));
    expect(readme).toContain("| `role_arn` |");
    expect(readme).toContain('module "authplane_attach" {');
    expect(readme).toContain(`Terraform module ${MODULE_VERSION}`);
  });

  it("its README example and examples/basic are examples/terraform-consumer with only the sources and the consumer's variables rewritten, and every HCL file is terraform fmt clean", async () => {
    const consumer = readFileSync(resolve("examples/terraform-consumer/main.tf"), "utf8");
    const submodule = `"${RELEASE_ZIP}//modules/attach-http-api"`;
    const example = /```hcl\n([\s\S]*?)```/.exec(file("README.md"))?.[1];
    expect(example).toBe(
      consumer
        .slice(consumer.indexOf('module "authorizer" {'))
        .replaceAll(submodule, '"./modules/authplane-jwt-authorizer/modules/attach-http-api"')
        .replaceAll(`"${RELEASE_ZIP}"`, '"./modules/authplane-jwt-authorizer"')
        .replaceAll("${var.auth_url}", "https://auth.example.org")
        .replaceAll("var.auth_url", '"https://auth.example.org"')
        .replaceAll("var.audience", '"authplane"'),
    );
    expect(example).not.toContain("var.");
    const basic = file("examples/basic/main.tf");
    expect(basic.slice(basic.indexOf("terraform {"))).toBe(
      consumer.slice(consumer.indexOf("terraform {")).replaceAll(submodule, '"../../modules/attach-http-api"').replaceAll(`"${RELEASE_ZIP}"`, '"../.."'),
    );

    const readmeExample = mkdtempSync(join(tmpdir(), "authplane-readme-example-"));
    writeFileSync(join(readmeExample, "main.tf"), example!);
    for (const dir of [exported.dir, readmeExample, resolve("examples/terraform-consumer")]) {
      const fmt = await terraform(dir, ["fmt", "-check", "-diff", "-recursive"]);
      expect(fmt.ok ? "" : `${dir}: ${firstError(fmt.output)}`, fmt.output).toBe("");
    }
  });

  it("plans and applies under terraform test with mock_provider \"aws\", and refuses an http:// JWKS URL with a clear message", async () => {
    const init = await terraform(exported.dir, ["init", "-backend=false", "-input=false"]);
    expect(init.ok ? "" : firstError(init.output), init.output).toBe("");
    const validate = await terraform(exported.dir, ["validate"]);
    expect(validate.ok ? "" : firstError(validate.output), validate.output).toBe("");
    const test = await terraform(exported.dir, ["test"]);
    expect(test.ok ? "" : firstError(test.output), test.output).toBe("");
    expect(test.output).toContain('run "applies_with_secure_defaults"... pass');
    expect(test.output).toContain('run "refuses_a_plain_http_jwks_url"... pass');
    expect(test.output).toContain('run "traces_and_encrypts_logs_when_asked"... pass');
    expect(test.output).toContain('run "untraced_by_default"... pass');
    expect(test.output).toContain('run "refuses_a_log_key_that_is_not_a_kms_arn"... pass');
    expect(test.output).toMatch(/Success! 7 passed, 0 failed/);

    // The message an operator sees: a plan of the module with an http:// URL, no expect_failures.
    writeFileSync(
      join(exported.dir, "tests", "http.tftest.hcl"),
      `mock_provider "aws" {}\nvariables {\n  name = "t"\n  jwks_url = "http://auth.example.org/api/auth/jwks"\n  issuer = "https://auth.example.org"\n  audience = "a"\n  ssm_prefix = "/t/a"\n}\nrun "plain_http" {\n  command = plan\n}\n`,
    );
    const http = await terraform(exported.dir, ["test", "-filter=tests/http.tftest.hcl"]);
    expect(http.ok).toBe(false);
    expect(http.output.replace(/\s+/g, " ")).toContain("jwks_url must be an https:// URL (e.g. https://auth.example.org/api/auth/jwks)");
    // Each run block starts the AWS provider plugin: slow on a busy machine, hence the long timeout.
  }, 600_000);

  it("the HCL consumer example validates against the release zip fetched over HTTP", async () => {
    const example = mkdtempSync(join(tmpdir(), "authplane-consumer-"));
    cpSync(resolve("examples/terraform-consumer"), example, { recursive: true });
    const main = join(example, "main.tf");
    const text = readFileSync(main, "utf8");
    expect(text).toContain(RELEASE_ZIP);
    writeFileSync(main, text.replaceAll(RELEASE, `${baseUrl}/`));
    // examples/basic, derived from the same consumer, against the module beside it.
    const results = await validateStacks([example, join(exported.dir, "examples", "basic")], { pluginCacheDir: PLUGIN_CACHE });
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => `${r.stack}: ${firstError(r.output)}`), failed.map((r) => `${r.stack}:\n${r.output}`).join("\n\n")).toEqual([]);
    // What Terraform unpacked is the whole module: its .tf files, README and function bundle.
    for (const f of ["versions.tf", "variables.tf", "outputs.tf", "main.tf.json", "README.md", "function.zip", "modules/attach-http-api/main.tf"]) {
      expect(existsSync(join(example, ".terraform", "modules", "authorizer", f)), f).toBe(true);
    }
  }, 180_000);
});
