import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { firstError, terraform } from "../../scripts/terraform-runner.js";

/** A stand-in `terraform` that prints `failures` failing outputs in turn, then succeeds; it counts its calls. */
function fakeTerraform(failures: string[]): { binary: string; calls: () => number } {
  const dir = mkdtempSync(join(tmpdir(), "authplane-fake-tf-"));
  const count = join(dir, "count");
  writeFileSync(count, "0");
  writeFileSync(join(dir, "failures.json"), JSON.stringify(failures));
  const binary = join(dir, "terraform");
  writeFileSync(
    binary,
    `#!/usr/bin/env node
const fs = require("node:fs");
const n = Number(fs.readFileSync(${JSON.stringify(count)}, "utf8"));
fs.writeFileSync(${JSON.stringify(count)}, String(n + 1));
const failures = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, "failures.json"))}, "utf8"));
if (n < failures.length) { process.stderr.write(failures[n]); process.exit(1); }
process.stdout.write("Success! The configuration is valid.\\n");
`,
  );
  chmodSync(binary, 0o755);
  return { binary, calls: () => Number(readFileSync(count, "utf8")) };
}

const PLUGIN_TIMEOUT = "\n│ Error: Failed to load plugin schemas\n│\n│ Error while loading schemas for plugin components: timeout while waiting for plugin to start\n";
const REAL_ERROR = '\n│ Error: Unsupported argument\n│\n│   on cdk.tf.json line 12:\n│ An argument named "nope" is not expected here.\n';

describe("terraform runner", () => {
  it("starts a provider that missed its start-up handshake again, and reports success", async () => {
    const fake = fakeTerraform([PLUGIN_TIMEOUT]);
    const result = await terraform({ terraform: fake.binary, pluginCacheDir: mkdtempSync(join(tmpdir(), "authplane-cache-")) }).chain("s", tmpdir(), [["validate"]]);
    expect(result).toMatchObject({ stack: "s", ok: true });
    expect(fake.calls()).toBe(2);
  });

  it("does not retry a configuration error, and gives up on a provider that never starts", async () => {
    const options = { pluginCacheDir: mkdtempSync(join(tmpdir(), "authplane-cache-")) };
    const broken = fakeTerraform([REAL_ERROR, REAL_ERROR]);
    const result = await terraform({ ...options, terraform: broken.binary }).chain("s", tmpdir(), [["validate"]]);
    expect(result.ok).toBe(false);
    expect(broken.calls()).toBe(1);
    expect(firstError(result.output)).toBe("Error: Unsupported argument");

    const stuck = fakeTerraform([PLUGIN_TIMEOUT, PLUGIN_TIMEOUT, PLUGIN_TIMEOUT, PLUGIN_TIMEOUT]);
    const gaveUp = await terraform({ ...options, terraform: stuck.binary }).chain("s", tmpdir(), [["validate"]]);
    expect(gaveUp.ok).toBe(false);
    expect(stuck.calls()).toBe(3);
    expect(firstError(gaveUp.output)).toBe("Error: Failed to load plugin schemas");
  });
});
