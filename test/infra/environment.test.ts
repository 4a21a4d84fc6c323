import { mkdtempSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { auroraMaxConnections, loadEnvironments, selectedEnvironment } from "../../infra/environment.js";

const fixture = (name: string) => join("test/infra/fixtures", name);
const file = (name: string) => `${fixture(name)}/qa.json`;

/** The loader's single Error message for a fixture directory. */
function loadError(name: string): string {
  try {
    loadEnvironments(fixture(name), undefined);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`fixture ${name} loaded without error`);
}

describe("environment files", () => {
  it("the committed dev, staging and prod files load and fill defaults", () => {
    const envs = loadEnvironments("environments", undefined);
    expect(envs.map((e) => e.name)).toEqual(["dev", "prod", "staging"]);
    for (const env of envs) {
      expect(env.aurora.minCapacity).toBe(0);
      expect(env.natGateway).toBe(false);
      expect(env.jwtAudience).toBe("authplane");
    }
    expect(envs.find((e) => e.name === "prod")?.authDomain).toBeDefined();
    expect(envs.find((e) => e.name === "dev")?.authDomain).toBeUndefined();
  });

  it("a missing field names the file, the field and a right value", () => {
    expect(loadError("missing-field")).toBe(`${file("missing-field")}: accountId: required field is missing (example: "123456789012")`);
  });

  it("a value of the wrong type says what type was expected and what came", () => {
    expect(loadError("wrong-type")).toBe(`${file("wrong-type")}: accountId: expected string, got number 123456789012 (example: "123456789012")`);
  });

  it("an unknown field (a typo) is an error suggesting the right one and listing the allowed fields", () => {
    const message = loadError("unknown-field");
    expect(message).toMatch(new RegExp(`^${file("unknown-field")}: regoin: unknown field \\(did you mean "region"\\?\\); allowed: name, accountId, region,`));
    expect(message).toContain("logRetentionDays");
  });

  it("an account id that is not 12 digits is rejected with an example", () => {
    expect(loadError("bad-account-id")).toBe(`${file("bad-account-id")}: accountId: expected 12 digits, got "12345" (example: "123456789012")`);
  });

  it("invalid JSON names the file, line and column", () => {
    expect(loadError("invalid-json")).toMatch(new RegExp(`^${file("invalid-json")}: invalid JSON at line 5, column 1: `));
  });

  it("a name that differs from the file name is rejected", () => {
    expect(loadError("name-mismatch")).toBe(`${file("name-mismatch")}: name: expected the file's base name "qa", got "prod" (example: "qa")`);
  });

  it("authDomain without hostedZoneId is rejected", () => {
    expect(loadError("half-domain")).toContain(`${file("half-domain")}: hostedZoneId: authDomain and hostedZoneId go together`);
  });

  it("every problem in a file is reported at once, nested fields by their path", () => {
    const lines = loadError("bad-nested").split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`${file("bad-nested")}: trustedOrigins[0]: expected an https origin (scheme and host, no path or trailing slash), got "http://app.example.com" (example: "https://app.example.com")`);
    expect(lines[1]).toBe(`${file("bad-nested")}: aurora.secondsUntilAutoPause: expected 300 to 86400 seconds, got number 60 (example: 300)`);
    expect(lines[2]).toMatch(/logRetentionDays: expected a CloudWatch retention value \(1, 3, 5, .*\), got number 42 \(example: 30\)$/);
  });

  it("problems in several files come back as one error", () => {
    const dir = mkdtempSync(join(tmpdir(), "authplane-envs-"));
    copyFileSync(file("valid"), join(dir, "qa.json"));
    writeFileSync(join(dir, "other.json"), "{}");
    writeFileSync(join(dir, "broken.json"), "{");
    expect(() => loadEnvironments(dir, undefined)).toThrowError(/broken\.json: invalid JSON[^]*other\.json: name: required field is missing/);
  });

  it("selecting one environment loads only that file; an unknown one lists the available", () => {
    expect(loadEnvironments("environments", "staging").map((e) => e.name)).toEqual(["staging"]);
    expect(() => loadEnvironments("environments", "qa")).toThrowError('unknown environment "qa" (ENV/ENVIRONMENT); available: dev, prod, staging');
  });

  it("ENV wins over ENVIRONMENT and empty means every environment", () => {
    expect(selectedEnvironment({ ENV: "dev", ENVIRONMENT: "prod" })).toBe("dev");
    expect(selectedEnvironment({ ENVIRONMENT: "prod" })).toBe("prod");
    expect(selectedEnvironment({ ENV: "" })).toBeUndefined();
  });
});

describe("cross-field checks", () => {
  it("a trusted origin outside passkeyRpId and allowedRpIds is rejected: passkeys would fail there at run time", () => {
    const lines = loadError("origin-outside-rp").split("\n");
    expect(lines).toEqual([
      `${file("origin-outside-rp")}: trustedOrigins[1]: app.other.org is outside passkeyRpId "example.com": passkeys would fail there; use an origin under it or change passkeyRpId, got "https://app.other.org" (example: "https://app.example.com")`,
      `${file("origin-outside-rp")}: trustedOrigins[1]: app.other.org is outside every allowedRpIds entry (example.com), got "https://app.other.org" (example: "https://app.example.com")`,
    ]);
  });

  it("authDomain outside its hosted zone is rejected: the certificate could never validate", () => {
    expect(loadError("domain-outside-zone")).toBe(
      `${file("domain-outside-zone")}: authDomain: auth.example.org is outside the hosted zone example.com: its certificate could never validate, got "auth.example.org" (example: "auth.example.com")`,
    );
  });

  it("authDomain needs hostedZoneName, so the zone check can run", () => {
    const dir = mkdtempSync(join(tmpdir(), "authplane-envs-"));
    const valid = JSON.parse(readFileSync(file("valid"), "utf8"));
    writeFileSync(join(dir, "qa.json"), JSON.stringify({ ...valid, authDomain: "auth.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" }));
    expect(() => loadEnvironments(dir, undefined)).toThrowError(/qa\.json: hostedZoneName: required with authDomain/);
  });

  it("a connection budget past Aurora's max_connections names the arithmetic", () => {
    expect(loadError("budget-over-max")).toBe(
      `${file("budget-over-max")}: auth.reservedConcurrency: auth.reservedConcurrency × auth.poolMax + aurora.reservedConnections = 100 × 2 + 20 = 220 exceeds max_connections 189 at aurora.maxCapacity 1, got number 100 (example: 10)`,
    );
  });

  it("an auto-pause delay on a cluster that never pauses is rejected", () => {
    expect(loadError("pause-without-zero")).toMatch(/aurora\.secondsUntilAutoPause: only applies when aurora\.minCapacity is 0/);
  });

  it("the alarm topic's key is a choice of two, customer-managed unless the file says otherwise", () => {
    const dir = mkdtempSync(join(tmpdir(), "authplane-env-"));
    const base = JSON.parse(readFileSync(file("bad-alert-email"), "utf8"));
    const write = (alerts: unknown) => writeFileSync(join(dir, "qa.json"), JSON.stringify({ ...base, alerts }));
    write({ email: ["oncall@example.com"], topicKey: "aws-managed" });
    expect(() => loadEnvironments(dir, undefined)).toThrow(`${join(dir, "qa.json")}: alerts.topicKey: expected "customer-managed" or "none", got "aws-managed" (example: "customer-managed")`);
    write({ email: [] });
    expect(loadEnvironments(dir, undefined)[0]!.alerts.topicKey).toBe("customer-managed");
    write({ email: [], topicKey: "none" });
    expect(loadEnvironments(dir, undefined)[0]!.alerts.topicKey).toBe("none");
  });

  it("alert addresses are checked one by one", () => {
    expect(loadError("bad-alert-email")).toBe(`${file("bad-alert-email")}: alerts.email[1]: expected an email address, got "not-an-address" (example: "oncall@example.com")`);
  });

  it("max_connections follows AWS's published points for Aurora PostgreSQL Serverless v2", () => {
    expect([1, 4, 8, 16, 32].map((acu) => auroraMaxConnections(acu, 1))).toEqual([189, 823, 1668, 3358, 5000]);
    // With a minimum of 0 or 0.5 ACU, RDS caps it at 2000.
    expect(auroraMaxConnections(16, 0)).toBe(2000);
    expect(auroraMaxConnections(2, 0)).toBe(400);
  });
});
