/**
 * The auth service's revocation feed (`GET /revocations`), held per instance and refreshed in the
 * background: a token is revoked when its subject or its session was revoked at or after it was
 * issued (`subjects[sub] >= iat` or `sessions[sid] >= iat`).
 *
 * The hot path never waits for the network while the copy is fresh: a request that finds the copy
 * older than the refresh interval starts a conditional GET (If-None-Match; a 304 only renews the
 * copy's age) and decides on the copy it has. It waits only when there is no usable copy: the
 * first load at a cold start, or an instance that sat idle (frozen) long past the interval, so its
 * copy says nothing about the last minute. If the feed cannot be reached, the last copy keeps
 * serving and the failure is logged; past `maxStaleMs` without a successful fetch every token is
 * refused (`revocations_stale`): failing open would let an offboarded person in for as long as the
 * feed is down.
 */
import { DENY, type DenyCode } from "./deny-codes.js";

export interface RevocationFeedOptions {
  url: URL;
  /** Background refresh interval, in ms. */
  refreshMs: number;
  /** Past this age of the last successful fetch, deny everything, in ms. */
  maxStaleMs: number;
  /** Abort a fetch after this long, in ms. */
  timeoutMs: number;
  /** Told about failed fetches. @default no-op */
  onFetchError?: (reason: string) => void;
  /** Milliseconds clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

/** Largest feed accepted: an entry is ~50 bytes, a feed lists one JWT lifetime of revocations. */
const MAX_FEED_BYTES = 8 * 1024 * 1024;
/** First retry after a failed fetch, doubled per further failure, capped at the refresh interval. */
const FIRST_RETRY_MS = 1000;

export class RevocationFeed {
  private subjects = new Map<string, number>();
  private sessions = new Map<string, number>();
  private etag: string | undefined;
  /** When the copy was last confirmed by the feed (200 or 304). */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private nextAttemptAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private inflight: Promise<void> | undefined;
  private readonly now: () => number;
  /** Fetches made, and how many were answered 304 (for tests and metrics). */
  fetches = 0;
  notModified = 0;

  constructor(private readonly options: RevocationFeedOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * undefined when the copy is fresh enough to decide on now, else a promise that settles once a
   * due fetch did (never rejects). Starts a background refresh when one is due.
   */
  ready(now = this.now()): Promise<void> | undefined {
    const age = now - this.confirmedAt;
    if (age <= this.options.refreshMs) return undefined;
    const due = now >= this.nextAttemptAt;
    const pending = this.inflight ?? (due ? this.refresh() : undefined);
    // Under steady traffic the background refresh keeps the copy within one interval (plus a
    // fetch); waiting starts once it is a third of an interval overdue, so the copy a decision
    // uses is never older than 4/3 of the interval while the feed answers (20 s at the default).
    if (age * 3 <= this.options.refreshMs * 4) return undefined;
    return pending;
  }

  /** The deny for a token of `sub`/`sid` issued at `iat` (seconds), or undefined. Synchronous. */
  check(sub: string, sid: string | undefined, iat: number, now = this.now()): DenyCode | undefined {
    if (now - this.confirmedAt > this.options.maxStaleMs) return DENY.revocationsStale;
    const subject = this.subjects.get(sub);
    if (subject !== undefined && subject >= iat) return DENY.revoked;
    if (sid !== undefined) {
      const session = this.sessions.get(sid);
      if (session !== undefined && session >= iat) return DENY.revoked;
    }
    return undefined;
  }

  /** Fetches the feed once (concurrent callers share it); never rejects. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchFeed().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchFeed(): Promise<void> {
    this.fetches++;
    try {
      const headers: Record<string, string> = { accept: "application/json" };
      if (this.etag) headers["if-none-match"] = this.etag;
      const response = await fetch(this.options.url, { headers, redirect: "error", signal: AbortSignal.timeout(this.options.timeoutMs) });
      if (response.status === 304 && this.etag) {
        this.notModified++;
        await response.body?.cancel();
      } else {
        if (!response.ok) throw new Error(`revocation feed answered ${response.status}`);
        const text = await response.text();
        if (text.length > MAX_FEED_BYTES) throw new Error("revocation feed too large");
        const feed = parseFeed(text);
        this.subjects = feed.subjects;
        this.sessions = feed.sessions;
        this.etag = response.headers.get("etag") ?? undefined;
      }
      this.confirmedAt = this.now();
      this.failures = 0;
      this.nextAttemptAt = this.confirmedAt + this.options.refreshMs;
    } catch (error) {
      this.failures++;
      // Short, growing retries: a cold start against a feed that is briefly down recovers in
      // seconds, a long outage costs one request per refresh interval.
      this.nextAttemptAt = this.now() + Math.min(this.options.refreshMs, FIRST_RETRY_MS * 2 ** (this.failures - 1));
      this.options.onFetchError?.(error instanceof Error ? error.message : "revocation feed fetch failed");
    }
  }
}

function entries(value: unknown, field: string): Map<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`revocation feed: ${field} is not an object`);
  const map = new Map<string, number>();
  for (const [id, at] of Object.entries(value)) {
    if (typeof at !== "number" || !Number.isFinite(at)) throw new Error(`revocation feed: ${field} holds a non-numeric time`);
    map.set(id, at);
  }
  return map;
}

/** Parses the feed document (contract: version 1); throws on anything else, keeping the old copy. */
export function parseFeed(text: string): { subjects: Map<string, number>; sessions: Map<string, number> } {
  const json = JSON.parse(text) as Record<string, unknown> | null;
  if (typeof json !== "object" || json === null || json.version !== 1) throw new Error("revocation feed: not a version 1 document");
  return { subjects: entries(json.subjects, "subjects"), sessions: entries(json.sessions, "sessions") };
}
