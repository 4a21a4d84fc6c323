/**
 * The authorizer's counters, as CloudWatch Embedded Metric Format log lines: CloudWatch turns them
 * into metrics (namespace "authplane") with no agent and no API call. Counting is a Map increment
 * on the hot path; the lines are written at most once per flush interval (and when asked to, e.g.
 * by a test), one per deny code plus one for allows, so a flood of requests costs a few lines a
 * minute rather than one per request. Counts not yet flushed when an instance is retired are
 * lost: at most one interval of one instance.
 */
export const METRICS_NAMESPACE = "authplane";

export interface MetricsOptions {
  /** Receives each EMF document. */
  write: (line: Record<string, unknown>) => void;
  /** Least time between two flushes, in ms. @default 10000 */
  flushIntervalMs?: number;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
  /** Value of the "Function" dimension. @default "authorizer" */
  functionName?: string;
}

export class AuthorizerMetrics {
  private allows = 0;
  private readonly denies = new Map<string, number>();
  private lastFlush: number;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly fn: string;

  constructor(private readonly options: MetricsOptions) {
    this.now = options.now ?? Date.now;
    this.interval = options.flushIntervalMs ?? 10_000;
    this.fn = options.functionName ?? "authorizer";
    this.lastFlush = this.now();
  }

  /** `now`: the caller's clock reading, when it has one. */
  allow(now = this.now()): void {
    this.allows++;
    if (now - this.lastFlush >= this.interval) this.flush();
  }

  deny(code: string, now = this.now()): void {
    this.denies.set(code, (this.denies.get(code) ?? 0) + 1);
    if (now - this.lastFlush >= this.interval) this.flush();
  }

  /** Writes what was counted since the last flush; nothing when nothing was. Never throws. */
  flush(): void {
    const timestamp = this.now();
    this.lastFlush = timestamp;
    try {
      if (this.allows > 0) {
        this.options.write(this.document(timestamp, "Allows", [["Function"]], { Allows: this.allows }));
      }
      for (const [code, count] of this.denies) {
        // The same count under two dimension sets: total denies, and denies by code.
        this.options.write(this.document(timestamp, "Denies", [["Function"], ["Function", "Code"]], { Code: code, Denies: count }));
      }
    } catch {
      // A broken log sink must not fail a request; the counts are dropped.
    }
    this.allows = 0;
    this.denies.clear();
  }

  private document(timestamp: number, metric: string, dimensions: string[][], values: Record<string, unknown>): Record<string, unknown> {
    return {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: dimensions, Metrics: [{ Name: metric, Unit: "Count" }] }],
      },
      Function: this.fn,
      ...values,
    };
  }
}
