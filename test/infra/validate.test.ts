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
  it("every synthesized stack of every environment passes terraform init -backend=false && terraform validate", async () => {
    const envs = loadEnvironments("environments", undefined);
    const { outdir } = synthesizeAll(envs);
    const dirs = stackDirs(outdir);
    expect(dirs.map((d) => d.split("/").at(-1))).toEqual(envs.flatMap((e) => COMPONENTS.map((c) => `${e.name}-${c}`)).sort());
    const results = await validateStacks(dirs, { concurrency: 2, cliConfigFile, pluginCacheDir: join(resolve(".tmp"), "plugin-cache") });
    for (const r of results) expect(r.ok, `${r.stack}:\n${r.output}`).toBe(true);
  }, 240_000);
});
