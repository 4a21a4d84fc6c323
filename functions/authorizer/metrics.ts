/**
 * The authorizer's counters, as CloudWatch Embedded Metric Format log lines (functions/emf.ts, the
 * format both functions share): CloudWatch turns them into metrics in the "authplane" namespace,
 * `Allows` and `Denies` by `code` (the dimension the monitoring stack's deny alarms read), with
 * no agent and no API call. Counting is a Map increment on the hot path; the lines are written
 * at most once per flush interval (and when asked to, e.g. by a test), one per deny code plus one
 * for allows, so a flood of requests costs a few lines a minute rather than one per request.
 * Counts not yet flushed when an instance is retired are lost: at most one interval of one
 * instance.
 */
import { emfLine } from "../emf.js";

export interface MetricsOptions {
  /** Receives each EMF line (JSON text, no newline). */
  write: (line: string) => void;
  /** Least time between two flushes, in ms. @default 10000 */
  flushIntervalMs?: number;
  /** Milliseconds clock. @default Date.now */
  now?: () => number;
}

/** Metric names, as the monitoring stack's alarms name them. */
export const AUTHORIZER_METRICS = { allows: "Allows", denies: "Denies", codeDimension: "code" } as const;

export class AuthorizerMetrics {
  private allows = 0;
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
    if (now - this.lastFlush >= this.interval) this.flush(now);
  }

  /** Writes what was counted since the last flush; nothing when nothing was. Never throws. */
  flush(now = this.now()): void {
    this.lastFlush = now;
    try {
      if (this.allows > 0) this.options.write(emfLine(AUTHORIZER_METRICS.allows, this.allows, {}, now));
      for (const [code, count] of this.denies) {
        this.options.write(emfLine(AUTHORIZER_METRICS.denies, count, { [AUTHORIZER_METRICS.codeDimension]: code }, now));
      }
    } catch {
      // A broken log sink must not fail a request; the counts are dropped.
    }
    this.allows = 0;
    this.denies.clear();
  }
}
