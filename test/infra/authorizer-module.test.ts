/**
 * The Terraform-module contract, proved rather than assumed: export the authorizer as a plain
 * module, then `terraform init -backend=false && terraform validate` the HCL example that
 * consumes it (offline, against the provider mirror).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportAuthorizerModule } from "../../infra/export-authorizer-module.js";
import { validateStacks } from "../../scripts/validate-stacks.js";

describe("the authorizer as a plain Terraform module", () => {
  let moduleDir: string;
  let json: Record<string, any>;

  beforeAll(() => {
    moduleDir = exportAuthorizerModule(join(mkdtempSync(join(tmpdir(), "authplane-module-")), "jwt-authorizer"));
    json = JSON.parse(readFileSync(join(moduleDir, "main.tf.json"), "utf8"));
  });

  it("has inputs and outputs, and no provider or backend of its own", () => {
    expect(Object.keys(json.variable)).toEqual(expect.arrayContaining(["name", "jwks_url", "issuer", "audience", "ssm_prefix"]));
    expect(Object.keys(json.output)).toEqual(expect.arrayContaining(["function_arn", "invoke_arn", "function_name", "arn_parameter", "invoke_arn_parameter"]));
    expect(json.provider).toBeUndefined();
    expect(json.terraform?.backend).toBeUndefined();
  });

  it("ships its Lambda zip and references it through path.module", () => {
    const lambda = Object.values(json.resource.aws_lambda_function)[0] as { filename: string };
    expect(lambda.filename).toMatch(/^\$\{path\.module\}\/assets\//);
    expect(existsSync(join(moduleDir, lambda.filename.replace("${path.module}/", "")))).toBe(true);
  });

  it("the HCL consumer example validates against it", async () => {
    const example = mkdtempSync(join(tmpdir(), "authplane-consumer-"));
    cpSync(resolve("examples/terraform-consumer"), example, { recursive: true });
    const main = join(example, "main.tf");
    writeFileSync(main, readFileSync(main, "utf8").replace('"../../dist/terraform/jwt-authorizer"', JSON.stringify(moduleDir)));
    // Its own plugin cache: Terraform's cache is not safe for two concurrent writers, and
    // validate.test.ts fills the shared one at the same time in another worker.
    const [result] = await validateStacks([example], { pluginCacheDir: resolve(".tmp/plugin-cache-module") });
    expect(result!.ok, result!.output).toBe(true);
  }, 120_000);
});
