import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { firstAloneThenPool, firstError, INIT, terraform } from "../../scripts/terraform-runner.js";

const cliConfigFile = resolve(".tmp/terraformrc");

/** A stack directory as cdktf leaves it: configuration, no lock file. */
function freshStack(): string {
  const dir = mkdtempSync(join(tmpdir(), "authplane-runner-stack-"));
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } } } }));
  return dir;
}

describe("terraform runner", () => {
  it("fills the shared plugin cache once; inits after it (no lock file, run together) read the entry and never replace it", async () => {
    if (!existsSync(cliConfigFile)) {
      mkdirSync(".tmp", { recursive: true });
      writeFileSync(cliConfigFile, execFileSync("./scripts/terraformrc.sh", { encoding: "utf8" }));
    }
    const pluginCacheDir = mkdtempSync(join(tmpdir(), "authplane-runner-cache-"));
    const tf = terraform({ pluginCacheDir, cliConfigFile });
    const entry = join(pluginCacheDir, "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
    const inodes: number[] = [];
    const results = await firstAloneThenPool([freshStack(), freshStack(), freshStack()], 2, async (dir) => {
      const result = await tf.chain(dir, dir, [INIT]);
      inodes.push(lstatSync(entry).ino);
      return result;
    });
    expect(results.filter((r) => !r.ok).map((r) => firstError(r.output))).toEqual([]);
    // Terraform's default replaces the entry (remove, then create) on every such init: the window
    // in which a concurrent init found no provider binary (stop 18's CI failure).
    expect(new Set(inodes).size).toBe(1);
  }, 120_000);

  it("names a failed run by its first error diagnostic", () => {
    const output = 'Initializing provider plugins...\n╷\n│ Error: Unsupported argument\n│\n│   on cdk.tf.json line 12:\n│ An argument named "nope" is not expected here.\n╵';
    expect(firstError(output)).toBe("Error: Unsupported argument");
    expect(firstError("terraform: command not found")).toBe("terraform: command not found");
  });
});
