import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPONENTS } from "../../infra/component-stack.js";
import { loadEnvironments } from "../../infra/environment.js";
import { combinedRoot, testStacksCombined, tftestFor, withoutPreventDestroy } from "../../scripts/test-stacks.js";
import { firstError } from "../../scripts/terraform-runner.js";
import { stackDirs, validateStacks } from "../../scripts/validate-stacks.js";
import { synthesizeAll } from "./synthesized.js";

// `make test` writes .tmp/terraformrc first; a bare `npx vitest` gets it from the same script.
const cliConfigFile = resolve(".tmp/terraformrc");
beforeAll(() => {
  if (!existsSync(cliConfigFile)) {
    mkdirSync(".tmp", { recursive: true });
    writeFileSync(cliConfigFile, execFileSync("./scripts/terraformrc.sh", { encoding: "utf8" }));
  }
});

describe("terraform validate, plan and apply (mock AWS provider)", () => {
  it("the generated test overrides every remote state a stack reads, with a value for each output it uses", () => {
    const { stacks, texts } = synthesizeAll(loadEnvironments("environments", "dev"));
    const auth = texts.get("dev-auth")!;
    const hcl = tftestFor(auth);
    for (const name of Object.keys(stacks.get("dev-auth")!.data?.terraform_remote_state ?? {})) {
      expect(hcl).toContain(`target = data.terraform_remote_state.${name}\n`);
    }
    for (const m of auth.matchAll(/outputs\.([\w.-]+?)\}/g)) expect(hcl).toContain(`"${m[1]}" = `);
    expect(hcl).toMatch(/mock_provider "aws"/);
    expect(hcl).toMatch(/run "plan" \{\n  command = plan\n\}/);
    expect(hcl).toMatch(/run "apply" \{\n  command = apply\n\}/);
    // The copy under test may be destroyed; the real bucket keeps prevent_destroy.
    const bootstrap = texts.get("dev-bootstrap")!;
    expect(bootstrap).toContain('"prevent_destroy": true');
    expect(withoutPreventDestroy(bootstrap)).not.toContain("prevent_destroy");
  });

  it("the combined root holds every stack as a module without its backend or provider, with overrides addressed inside it", () => {
    const { outdir } = synthesizeAll(loadEnvironments("environments", "prod"));
    const work = combinedRoot(stackDirs(outdir), mkdtempSync(join(tmpdir(), "authplane-root-")));
    const root = JSON.parse(readFileSync(join(work, "main.tf.json"), "utf8"));
    expect(Object.keys(root.module).sort()).toEqual(COMPONENTS.map((c) => `prod-${c}`).sort());
    for (const name of Object.keys(root.module)) {
      const child = JSON.parse(readFileSync(join(work, "stacks", name, "cdk.tf.json"), "utf8"));
      expect(child.provider).toBeUndefined();
      expect(child.terraform.backend).toBeUndefined();
    }
    const hcl = readFileSync(join(work, "authplane.tftest.hcl"), "utf8");
    expect(hcl).toContain("target = module.prod-auth.data.terraform_remote_state.cross-stack-reference-input-prod-database\n");
    expect(hcl).toContain("target = module.prod-monitoring.data.terraform_remote_state.cross-stack-reference-input-prod-authorizer\n");
  });

  it("every stack of every environment passes terraform validate, then plans and applies under terraform test", async () => {
    const envs = loadEnvironments("environments", undefined);
    const { outdir } = synthesizeAll(envs);
    const dirs = stackDirs(outdir);
    expect(dirs.map((d) => d.split("/").at(-1))).toEqual(envs.flatMap((e) => COMPONENTS.map((c) => `${e.name}-${c}`)).sort());
    const result = await testStacksCombined(dirs, { cliConfigFile, pluginCacheDir: join(resolve(".tmp"), "plugin-cache") });
    // The first diagnostic lands in the diff, the last lines a CI log keeps; the whole output is the message.
    expect(result.ok ? "" : firstError(result.output), result.output).toBe("");
    expect(result.output).toMatch(/run "plan"\.\.\. pass[^]*run "apply"\.\.\. pass/);
  }, 600_000);

  it("each stack as synthesized, with its own provider and backend blocks, passes terraform validate (prod: role assumption; bootstrap: local state)", async () => {
    const { outdir } = synthesizeAll(loadEnvironments("environments", "prod"));
    const results = await validateStacks(stackDirs(outdir), { concurrency: 2, cliConfigFile, pluginCacheDir: join(resolve(".tmp"), "plugin-cache") });
    expect(results.map((r) => r.stack).sort()).toEqual(COMPONENTS.map((c) => `prod-${c}`).sort());
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => `${r.stack}: ${firstError(r.output)}`), failed.map((r) => `${r.stack}:\n${r.output}`).join("\n\n")).toEqual([]);
  }, 600_000);
});
