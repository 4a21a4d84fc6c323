/**
 * Counters as CloudWatch Embedded Metric Format: Allows, and Denies by code, aggregated in memory
 * and written as a few EMF documents per flush interval, never one per request.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer } from "../../../functions/authorizer/authorizer.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { AUTHORIZER_METRICS, AuthorizerMetrics } from "../../../functions/authorizer/metrics.js";
import { claims, httpEvent, rsaKey, sign, testConfig, type SigningKey } from "./support.js";

let key: SigningKey;
beforeAll(async () => {
  key = await rsaKey();
});

describe("EMF counters", () => {
  it("aggregate allows and denies by code, and flush once per interval as EMF documents in the authplane namespace", async () => {
    const documents: Array<Record<string, any>> = [];
    const clock = { offset: 0 };
    const authorizer = createAuthorizer(testConfig([key.jwk], { metricsFlushMs: 10_000 }), {
      log: () => {},
      metrics: (line) => documents.push(JSON.parse(line)),
      now: () => Date.now() + clock.offset,
    });
    const valid = await sign(key);
    const other = await sign(key, claims({ org_slug: "timetracking" }));
    for (let i = 0; i < 50; i++) await authorizer.handle(httpEvent(`Bearer ${valid}`));
    for (let i = 0; i < 7; i++) await authorizer.handle(httpEvent(`Bearer ${other}`));
    for (let i = 0; i < 3; i++) await authorizer.handle(httpEvent());
    expect(documents).toEqual([]);

    clock.offset = 10_000;
    await authorizer.handle(httpEvent(`Bearer ${valid}`));
    expect(documents).toHaveLength(3);
    const allows = documents.find((d) => "Allows" in d)!;
    expect(allows).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: "authplane", Dimensions: [["Function"]], Metrics: [{ Name: "Allows", Unit: "Count" }] }] },
      Function: "authorizer",
      Allows: 51,
    });
    expect(typeof allows._aws.Timestamp).toBe("number");
    const denies = Object.fromEntries(documents.filter((d) => "Denies" in d).map((d) => [d.Code, d.Denies]));
    expect(denies).toEqual({ [DENY.wrongApp]: 7, [DENY.headerMissing]: 3 });
    for (const d of documents.filter((x) => "Denies" in x)) {
      // The dimension the monitoring stack's deny alarms read (modules/monitoring.ts).
      // Two dimension sets from one line: by code (attack alarms) and by class (the fault alarm).
      expect(d._aws.CloudWatchMetrics[0]).toEqual({ Namespace: "authplane", Dimensions: [["Function", "Code"], ["Function", "Class"]], Metrics: [{ Name: "Denies", Unit: "Count" }] });
      expect(d.Function).toBe("authorizer");
      expect(d.Class).toBe("client");
    }
    // Counted since the last flush only; nothing to write, nothing written.
    authorizer.metrics.flush();
    expect(documents).toHaveLength(3);
  });

  it("uses the names the monitoring stack's alarms read", async () => {
    const { AUTHPLANE_METRICS } = await import("../../../modules/monitoring.js");
    expect(AUTHPLANE_METRICS).toMatchObject({
      namespace: "authplane",
      denies: AUTHORIZER_METRICS.denies,
      denyDimension: AUTHORIZER_METRICS.codeDimension,
      authorizerFunction: AUTHORIZER_METRICS.function,
      classDimension: AUTHORIZER_METRICS.classDimension,
      faultClass: AUTHORIZER_METRICS.faultClass,
    });
  });

  it("the first fault of an interval is written at once; later ones wait for the interval", () => {
    const lines: Array<Record<string, any>> = [];
    const clock = { t: 1_000_000 };
    const metrics = new AuthorizerMetrics({ write: (l) => lines.push(JSON.parse(l)), flushIntervalMs: 10_000, now: () => clock.t });
    metrics.deny(DENY.wrongApp);
    expect(lines).toEqual([]);
    metrics.deny(DENY.revocationsStale);
    // Flushed together: the fault and the client deny counted before it.
    expect(lines.map((d) => [d.Code, d.Class, d.Denies])).toEqual([[DENY.wrongApp, "client", 1], [DENY.revocationsStale, "fault", 1]]);
    clock.t += 1_000;
    metrics.deny(DENY.revocationsStale);
    metrics.deny(DENY.internal);
    expect(lines).toHaveLength(2);
    clock.t += 10_000;
    metrics.deny(DENY.config);
    expect(lines.slice(2).map((d) => [d.Code, d.Class, d.Denies])).toEqual([[DENY.revocationsStale, "fault", 1], [DENY.internal, "fault", 1], [DENY.config, "fault", 1]]);
  });

  it("a broken sink never fails a request", async () => {
    const metrics = new AuthorizerMetrics({ write: () => { throw new Error("sink down"); }, flushIntervalMs: 0 });
    expect(() => metrics.deny("x")).not.toThrow();
    expect(() => metrics.allow()).not.toThrow();
  });
});
