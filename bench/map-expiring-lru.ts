/**
 * The server's expiring LRU as it was before it moved onto lru-cache
 * (src/lib/lru.ts), kept to measure the two against each other
 * (bench/micro.ts).
 *
 * A bounded map whose entries also carry an expiry time. Least recently used
 * entries leave first when it is full; an expired entry is never returned.
 *
 * A `Map` keeps insertion order, so re-inserting on a hit makes the first key
 * the least recently used one: eviction is O(1) without a linked list.
 */
export class MapExpiringLru<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAtMs: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, if present and `nowMs` is before its expiry. */
  get(key: K, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, expiresAtMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Removes every entry whose value matches; for invalidations that have no key (rare, O(n)). */
  deleteWhere(predicate: (value: V) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (predicate(entry.value)) {
        this.#entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  clear(): void {
    this.#entries.clear();
  }
}
