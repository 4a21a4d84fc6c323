/**
 * A bounded least-recently-used map whose entries carry their own deadline, used to remember
 * verified tokens: a repeated token then costs a Map lookup instead of a signature check. Keyed by
 * the exact token string (V8 hashes a string once; a sha256 would cost more than it saves), and an
 * entry never outlives the token it stands for.
 */
export class ExpiringLru<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  /**
   * @param capacity most entries held; 0 disables the cache
   * @param now milliseconds clock, replaceable in tests @default Date.now
   */
  constructor(
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** `now`: the caller's clock reading, when it has one (reading the clock is not free). */
  get(key: string, now = this.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Remembers `value` until `expiresAt` (ms since the epoch); past deadlines are not stored. */
  set(key: string, value: V, expiresAt: number, now = this.now()): void {
    if (this.capacity <= 0 || expiresAt <= now) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }
}
