/**
 * CloudWatch Embedded Metric Format: one JSON log line per counted event, which CloudWatch Logs
 * turns into a metric in the "authplane" namespace. No agent, no PutMetricData call, no
 * permission beyond writing the function's own log.
 *
 * Written straight to stdout, not through console.log: with Lambda's JSON log format, console
 * output is wrapped in Lambda's own JSON object (the metric would be lost inside "message"),
 * while a raw stdout line reaches CloudWatch Logs as it is (the fix the AWS EMF library made in
 * 4.1.1). Dependency-free so both function bundles can import it.
 */

/** The namespace every authplane metric lives in (the monitoring stack's alarms read it). */
export const METRIC_NAMESPACE = "authplane";

/** A dimension value must be short, non-empty text; anything else is folded to "other". */
const DIMENSION_VALUE = /^[\w.:/-]{1,64}$/;

export type Dimensions = Record<string, string>;

/** Where lines go; tests swap it. */
export type MetricSink = (line: string) => void;

let sink: MetricSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Redirect metric lines (tests); returns the previous sink. */
export function setMetricSink(next: MetricSink): MetricSink {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * The EMF document for `value` of `metric` with `dimensions` (one dimension set: exactly the
 * given keys). Exposed for tests and for callers that batch their own output.
 */
export function emfLine(metric: string, value: number, dimensions: Dimensions = {}, timestamp = Date.now()): string {
  const dims = Object.fromEntries(Object.entries(dimensions).map(([k, v]) => [k, DIMENSION_VALUE.test(v) ? v : "other"]));
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [Object.keys(dims)], Metrics: [{ Name: metric, Unit: "Count" }] }],
    },
    ...dims,
    [metric]: value,
  });
}

/** Count one (or `value`) `metric` event. Never throws: a metric must not fail a request. */
export function countMetric(metric: string, dimensions: Dimensions = {}, value = 1): void {
  try {
    sink(emfLine(metric, value, dimensions));
  } catch {
    // stdout closed or a broken test sink: losing a data point beats failing the request
  }
}
