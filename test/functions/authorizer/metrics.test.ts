/**
 * Counters as CloudWatch Embedded Metric Format: Allows, and Denies by code, aggregated in memory
 * and written as a few EMF documents per flush interval, never one per request.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer } from "../../../functions/authorizer/authorizer.js";
import { DENY } from "../../../functions/authorizer/deny-codes.js";
import { AuthorizerMetrics } from "../../../functions/authorizer/metrics.js";
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
      metrics: (d) => documents.push(d),
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
      expect(d._aws.CloudWatchMetrics[0]).toEqual({ Namespace: "authplane", Dimensions: [["Function"], ["Function", "Code"]], Metrics: [{ Name: "Denies", Unit: "Count" }] });
    }
    // Counted since the last flush only; nothing to write, nothing written.
    authorizer.metrics.flush();
    expect(documents).toHaveLength(3);
  });

  it("a broken sink never fails a request", async () => {
    const metrics = new AuthorizerMetrics({ write: () => { throw new Error("sink down"); }, flushIntervalMs: 0 });
    expect(() => metrics.deny("x")).not.toThrow();
    expect(() => metrics.allow()).not.toThrow();
  });
});
