/** `make cost`: its output shape, and its figures recomputed by hand from the price table. */
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { calculateCost, type CostReport } from "../../infra/cost/calculate.js";
import { ALWAYS_FREE, PRICES, REQUEST_ASSUMPTIONS as A } from "../../infra/cost/prices.js";
import { loadEnvironments } from "../../infra/environment.js";
import { costOfSynthesized } from "../../scripts/cost.js";
import { resources, synthesizeAll, type Synthesized } from "./synthesized.js";

let synth: Synthesized;
beforeAll(() => {
  synth = synthesizeAll(loadEnvironments("environments", undefined));
});

const stacksOf = (env: string) => new Map([...synth.stacks].filter(([name]) => name.startsWith(`${env}-`)));
const count = (env: string, type: string) => [...stacksOf(env).values()].reduce((n, s) => n + resources(s, type).length, 0);
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(0.006);

function makeCost(env: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("make", ["-s", "cost", `ENV=${env}`]);
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout }));
  });
}

describe("make cost", () => {
  it("prints a table, then the report as one JSON line last", async () => {
    const { status, stdout } = await makeCost("dev");
    expect(status).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    const report = JSON.parse(lines.at(-1)!) as CostReport;
    expect(Object.keys(report).slice(0, 3)).toEqual(["env", "region", "prices_as_of"]);
    expect(report).toMatchObject({ env: "dev", region: "eu-west-1", hosted_zone_usd_month: 0 });
    for (const key of ["idle_usd_month", "per_million_requests_usd"] as const) expect(typeof report[key]).toBe("number");
    expect(report.items.length).toBeGreaterThan(20);
    expect(lines[0]).toMatch(/^dev \(eu-west-1\), prices as of \d{4}-\d{2}-\d{2}/);
    expect(lines[1]).toMatch(/^stack\s+resource type\s+n\s+idle \$\/mo\s+\$\/M req\s+basis$/);
    expect(stdout).toContain(`idle: $${report.idle_usd_month.toFixed(2)}/month + hosted zone $0.00/month`);
  }, 120_000);

  it("dev idles within $2 a month plus the hosted zone: two auth-stack secrets, no topic key, 14 alarms", () => {
    const report = calculateCost("dev", "eu-west-1", stacksOf("dev"));
    expect(report.idle_usd_month).toBeLessThanOrEqual(2);
    expect(count("dev", "aws_secretsmanager_secret")).toBe(2);
    expect(count("dev", "aws_kms_key")).toBe(0);
    expect(count("dev", "aws_cloudwatch_metric_alarm")).toBe(14);
    expect(report.items.find((i) => i.type === "aws_sns_topic")?.basis).toMatch(/no topic key/);
    // Staging and prod keep the key, and price it.
    const staging = calculateCost("staging", "eu-west-1", stacksOf("staging"));
    expect(staging.items.find((i) => i.type === "aws_kms_key")).toMatchObject({ count: 1, idle_usd_month: PRICES["eu-west-1"]!.kmsKeyMonth });
  });

  it("dev's idle figure is its secrets, its topic key, the alarms past the free ten and Aurora's storage, from the price table", () => {
    const p = PRICES["eu-west-1"]!;
    const report = calculateCost("dev", "eu-west-1", stacksOf("dev"));
    const secrets = count("dev", "aws_secretsmanager_secret") + 1; // + the RDS-managed master secret
    const alarms = count("dev", "aws_cloudwatch_metric_alarm");
    const expected = secrets * p.secretMonth + count("dev", "aws_kms_key") * p.kmsKeyMonth + Math.max(0, alarms - ALWAYS_FREE.alarms) * p.alarmMonth + A.idleAuroraStorageGb * p.auroraStorageGbMonth;
    close(report.idle_usd_month, expected);
    // Paused at 0 ACU: no compute while idle.
    expect(report.items.find((i) => i.type === "aws_rds_cluster")?.basis).toMatch(/^0 ACU idle/);
    const noFree = calculateCost("dev", "eu-west-1", stacksOf("dev"), { freeTier: false });
    close(noFree.idle_usd_month, expected + Math.min(alarms, ALWAYS_FREE.alarms) * p.alarmMonth + p.dashboardMonth);
  });

  it("a million requests cost the auth function, the HTTP API, logs, Aurora's awake time and data out", () => {
    const p = PRICES["eu-west-1"]!;
    const report = calculateCost("dev", "eu-west-1", stacksOf("dev"));
    const gbSeconds = 1e6 * (A.authDurationMs / 1000) * 1; // 1024 MB
    const expected =
      gbSeconds * p.lambdaArmGbSecond + p.lambdaPerMillionRequests + p.httpApiPerMillion + (A.responseBytes * 1e6 / 1e9) * p.dataOutGb +
      (A.logBytesPerRequest * 1e6 / 1e9) * p.logsIngestGb + (A.auroraAcuSecondsPerRequest * 1e6 / 3600) * p.auroraAcuHour + A.auroraIosPerRequest * p.auroraIoPerMillion;
    close(report.per_million_requests_usd, expected);
    // prod traces with X-Ray: a million traces more.
    const prod = calculateCost("prod", "eu-west-1", stacksOf("prod"));
    close(prod.per_million_requests_usd, expected + p.xrayPerMillionTraces);
    expect(prod.hosted_zone_usd_month).toBe(p.hostedZoneMonth);
  });

  it("prices follow the region's table", () => {
    const eu = calculateCost("dev", "eu-west-1", stacksOf("dev"));
    const us = calculateCost("dev", "us-east-1", stacksOf("dev"));
    expect(us.per_million_requests_usd).toBeLessThan(eu.per_million_requests_usd);
    expect(() => calculateCost("dev", "ap-south-2", stacksOf("dev"))).toThrow(/no prices for region ap-south-2/);
  });

  it("a NAT gateway shows up as the hourly cost it is", () => {
    const [dev] = loadEnvironments("environments", "dev");
    const withNat = synthesizeAll([{ ...dev!, natGateway: true }]);
    const p = PRICES["eu-west-1"]!;
    const nat = calculateCost("dev", "eu-west-1", withNat.stacks).items.find((i) => i.type === "aws_nat_gateway");
    close(nat!.idle_usd_month, A.hoursPerMonth * (p.natGatewayHour + p.publicIpv4Hour));
  });

  it("a resource type without a price rule is an error, not a silent zero", () => {
    const stacks = new Map([["x-y", { resource: { aws_elasticache_cluster: { c: {} } } }]]);
    expect(() => calculateCost("x", "eu-west-1", stacks)).toThrow(/x-y: no price rule for aws_elasticache_cluster/);
  });

  it("reads the synthesized stacks from disk the way make cost does", () => {
    const fromDisk = costOfSynthesized("staging", synth.outdir);
    const inMemory = calculateCost("staging", "eu-west-1", stacksOf("staging"));
    const key = (i: { stack: string; type: string }) => `${i.stack} ${i.type}`;
    expect({ ...fromDisk, items: [...fromDisk.items].sort((a, b) => key(a).localeCompare(key(b))) }).toEqual({ ...inMemory, items: [...inMemory.items].sort((a, b) => key(a).localeCompare(key(b))) });
    expect(() => costOfSynthesized("qa", synth.outdir)).toThrow(/no synthesized stacks for qa/);
  });
});
