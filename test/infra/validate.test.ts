import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPONENTS } from "../../infra/component-stack.js";
import { loadEnvironments } from "../../infra/environment.js";
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

describe("terraform validate", () => {
  it("every stack of an environment passes terraform init -backend=false && terraform validate", async () => {
    // prod: the environment with every optional part (custom domain, assumed role).
    const { outdir } = synthesizeAll(loadEnvironments("environments", "prod"));
    const dirs = stackDirs(outdir);
    expect(dirs.map((d) => d.split("/").at(-1))).toEqual(COMPONENTS.map((c) => `prod-${c}`).sort());
    const results = await validateStacks(dirs, { concurrency: 2, cliConfigFile, pluginCacheDir: join(resolve(".tmp"), "plugin-cache") });
    for (const r of results) expect(r.ok, `${r.stack}:\n${r.output}`).toBe(true);
  }, 240_000);
});
