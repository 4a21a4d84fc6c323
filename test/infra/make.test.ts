/** The make targets an operator runs: deploy order, clean synth output, one clear message for a bad file. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPONENTS } from "../../infra/component-stack.js";

/** Run make asynchronously (a blocking spawn would stall the test worker's RPC for a minute). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("make", args, { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out: `${stdout}${stderr}`, stdout, stderr }));
  });
}
const make = (args: string[], env: Record<string, string> = {}) => run(["-s", ...args], env);

describe("make deploy", () => {
  it("DRY_RUN=1 shows bootstrap deployed alone and first, then each S3-backed stack in dependency order", async () => {
    const { status, stdout } = await make(["deploy", "ENV=dev", "DRY_RUN=1"]);
    expect(status).toBe(0);
    const deploys = stdout.split("\n").filter((l) => l.includes("cdktf deploy"));
    expect(deploys).toEqual(COMPONENTS.map((c) => `npx cdktf deploy --skip-synth --auto-approve=false dev-${c}`));
    // Each run names exactly one stack: cdktf never inits an S3 backend before its bucket exists.
    for (const line of deploys) expect(line.match(/dev-\w+/g)).toHaveLength(1);
    expect(stdout.indexOf("cdktf synth")).toBeLessThan(stdout.indexOf("dev-bootstrap"));
  });

  it("make -n prints the same order without running anything", async () => {
    const r = await run(["-n", "deploy", "ENV=dev"]);
    expect(r.status).toBe(0);
    const bootstrap = r.stdout.indexOf("dev-bootstrap");
    expect(bootstrap).toBeGreaterThan(0);
    expect(r.stdout.slice(bootstrap)).toContain("for component in network database auth authorizer monitoring;");
  });

  it("the Makefile's DEPLOY_ORDER is the stacks' dependency order", () => {
    const order = /^DEPLOY_ORDER := (.+)$/m.exec(readFileSync("Makefile", "utf8"))?.[1]?.split(" ");
    expect(order).toEqual([...COMPONENTS]);
  });

  it("without ENV it says how to call it", async () => {
    const { status, out } = await make(["deploy"], { ENV: "" });
    expect(status).toBe(2);
    expect(out).toContain("usage: make deploy ENV=<name> [DRY_RUN=1]");
  });
});

describe("make synth output", () => {
  it("a bad environment file ends the output with its one message (then make's own status line) and fails", async () => {
    const { status, stdout, stderr } = await make(["synth", "ENV=qa"], { AUTHPLANE_ENVIRONMENTS: "test/infra/fixtures/bad-account-id" });
    expect(status).not.toBe(0);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      'test/infra/fixtures/bad-account-id/qa.json: accountId: expected 12 digits, got "12345" (example: "123456789012")',
      // make[N] when this suite itself runs under `make test`.
      expect.stringMatching(/^make(\[\d+\])?: \*\*\* \[Makefile:\d+: check-env\] Error 1$/),
    ]);
  });

  it("on a fresh clone (no terraformrc yet) synth prints no CLI-configuration warning and no [ERROR] label", async () => {
    const terraformrc = join(mkdtempSync(join(tmpdir(), "authplane-rc-")), "terraformrc");
    const { status, out } = await make(["synth", "ENV=dev"], { TERRAFORMRC: terraformrc });
    expect(status, out).toBe(0);
    expect(out).not.toMatch(/CLI configuration file/);
    expect(out).not.toContain("[ERROR]");
    expect(out).toMatch(/Generated Terraform code for the stacks: dev-auth/);
  }, 300_000);
});
