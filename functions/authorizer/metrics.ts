/**
 * The authorizer's counters, as CloudWatch Embedded Metric Format log lines (functions/emf.ts, the
 * format both functions share): CloudWatch turns them into metrics in the "authplane" namespace,
 * `Allows` with `Function=authorizer`, and `Denies` under two dimension sets from the same line:
 * {Function, Code} (the per-code attack alarms) and {Function, Class} with Class "fault" or
 * "client" (deny-codes.ts FAULT_CODES; one alarm watches Class=fault). No agent, no API call.
 *
 * Counting is a Map increment on the hot path; the lines are written at most once per flush
 * interval (and when asked to, e.g. by a test), one per deny code plus one for allows, so a flood
 * of requests costs a few lines a minute rather than one per request. The exception is the first
 * fault of an interval, written at once: a single fault on an instance that then goes idle must
 * still reach its alarm. Other counts not yet flushed when an instance is retired are lost: at
 * most one interval of one instance.
 */
import { METRIC_NAMESPACE, emfLine } from "../emf.js";
import { FAULT_CODES } from "./deny-codes.js";

export interface MetricsOptions {
  /** Receives each EMF line (JSON text, no newline; the default sink writes it raw to stdout). */
  write: (line: string) => void;
  /** Least time between two flushes, in ms. @default 10000 */
  flushIntervalMs?: number;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
}

/** Metric and dimension names, as the monitoring stack's alarms name them (modules/monitoring.ts). */
export const AUTHORIZER_METRICS = {
  allows: "Allows",
  denies: "Denies",
  codeDimension: "Code",
  classDimension: "Class",
  faultClass: "fault",
  function: { Function: "authorizer" },
} as const;

/** The EMF document for `count` denies with `code`: one line, both dimension sets. */
export function denyDocument(code: string, count: number, now: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [["Function", "Code"], ["Function", "Class"]], Metrics: [{ Name: "Denies", Unit: "Count" }] }],
    },
    Function: "authorizer",
    Code: code,
    Class: FAULT_CODES.has(code) ? "fault" : "client",
    Denies: count,
  };
}

export class AuthorizerMetrics {
  private allows = 0;
  private lastFault = -Infinity;
  private readonly denies = new Map<string, number>();
  private lastFlush: number;
  private readonly now: () => number;
  private readonly interval: number;

  constructor(private readonly options: MetricsOptions) {
    this.now = options.now ?? Date.now;
    this.interval = options.flushIntervalMs ?? 10_000;
    this.lastFlush = this.now();
  }

  /** `now`: the caller's clock reading, when it has one. */
  allow(now = this.now()): void {
    this.allows++;
    if (now - this.lastFlush >= this.interval) this.flush(now);
  }

  deny(code: string, now = this.now()): void {
    this.denies.set(code, (this.denies.get(code) ?? 0) + 1);
    const firstFault = FAULT_CODES.has(code) && now - this.lastFault >= this.interval;
    if (firstFault) this.lastFault = now;
    if (firstFault || now - this.lastFlush >= this.interval) this.flush(now);
  }

  /** Writes what was counted since the last flush; nothing when nothing was. Never throws. */
  flush(now = this.now()): void {
    this.lastFlush = now;
    try {
      if (this.allows > 0) this.options.write(emfLine(AUTHORIZER_METRICS.allows, this.allows, AUTHORIZER_METRICS.function, now));
      for (const [code, count] of this.denies) this.options.write(JSON.stringify(denyDocument(code, count, now)));
    } catch {
      // A broken log sink must not fail a request; the counts are dropped.
    }
    this.allows = 0;
    this.denies.clear();
  }
}
