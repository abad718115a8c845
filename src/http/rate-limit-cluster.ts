import type { Cluster, Worker } from 'node:cluster';
import type { WindowCount, WindowCounter } from './rate-limit.js';

/**
 * Rate-limit counts shared by the workers of a node:cluster, so that N
 * workers allow one budget, not N.
 *
 * Each worker counts locally and sends what it added to the primary every
 * `flushMs` (a few milliseconds); the primary adds it up per key and window
 * and sends the new totals back to every worker. A worker's count is the
 * last total it heard plus what it has added since, so it never undercounts
 * its own requests, and sees the other workers' within about `flushMs` plus
 * one IPC hop. A burst spread over several workers can therefore pass the
 * limit by what the others accept in that interval, and no more.
 *
 * Windows are aligned to the clock (`floor(now / window)`), so that all
 * processes agree which window a request falls in. Only keys and counts cross
 * the channel (addresses and client ids), never a credential.
 *
 * Why not rate-limiter-flexible's RateLimiterCluster: there every count is a
 * request to the primary and its answer. `npm run bench:cluster-limits` (two
 * workers, `attempt` + `charge` one after another, same sittings): with this
 * counter 5-8 µs and 2.6 KB per call in a worker, and 2-3 ms of the
 * primary's CPU in all; with RateLimiterCluster 214-341 µs and 14.8 KB per
 * call, and 53-65 µs of the primary's CPU per call, which caps the whole
 * cluster at about 15,000-19,000 requests a second. Both counted every call.
 * It also stalls every request for its timeout (5 s) when the primary does
 * not answer, where this counter goes on counting alone, and it cannot be
 * driven by the stand-in cluster of the tests (it uses the process's own
 * channel).
 */

const ADD = 'open-login:ratelimit:add';
const TOTALS = 'open-login:ratelimit:totals';

/** [key, window start (epoch ms), window length (ms), count] */
type Entry = [string, number, number, number];

interface AddMessage {
  type: typeof ADD;
  seq: number;
  entries: Entry[];
}

interface TotalsMessage {
  type: typeof TOTALS;
  /** Set on the answer to a worker's own `add`: those counts are now in the totals. */
  ackSeq?: number;
  entries: Entry[];
}

const isEntry = (e: unknown): e is Entry =>
  Array.isArray(e) && e.length === 4 && typeof e[0] === 'string' && e.slice(1).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);

function isMessage<T extends AddMessage | TotalsMessage>(m: unknown, type: T['type']): m is T {
  if (m === null || typeof m !== 'object') return false;
  const v = m as Record<string, unknown>;
  return v.type === type && Array.isArray(v.entries) && v.entries.every(isEntry);
}

/** Messages to the primary kept while awaiting its answer. */
const MAX_UNANSWERED = 1000;

const alignedStart = (nowMs: number, windowMs: number) => Math.floor(nowMs / windowMs) * windowMs;

interface Slot {
  start: number;
  windowMs: number;
  /** The cluster-wide count the primary last reported. */
  total: number;
  /** Added here and sent, not yet in a total heard back. */
  inFlight: number;
  /** Added here, not yet sent. */
  unsent: number;
}

export interface ClusterWindowCounterOptions {
  proc?: NodeJS.Process;
  /** How often additions are sent to the primary. */
  flushMs?: number;
  /** Above this many keys, ended windows are dropped, then the oldest keys. */
  maxKeys?: number;
}

/** The counter as a worker uses it (`process.send` exists). */
export class ClusterWindowCounter implements WindowCounter {
  readonly #slots = new Map<string, Slot>();
  readonly #sent = new Map<number, Entry[]>();
  readonly #proc: NodeJS.Process;
  readonly #flushMs: number;
  readonly #maxKeys: number;
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ClusterWindowCounterOptions = {}) {
    this.#proc = options.proc ?? process;
    if (typeof this.#proc.send !== 'function') throw new Error('ClusterWindowCounter needs an IPC channel (run as a cluster worker)');
    this.#flushMs = options.flushMs ?? 5;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#proc.on('message', (message: unknown) => {
      if (isMessage<TotalsMessage>(message, TOTALS)) this.#onTotals(message);
    });
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Messages sent to the primary and not answered yet. */
  get unanswered(): number {
    return this.#sent.size;
  }

  hit(key: string, windowMs: number, nowMs: number): WindowCount {
    const slot = this.#slot(key, windowMs, nowMs, true)!;
    slot.unsent += 1;
    if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#flush(), this.#flushMs);
      this.#timer.unref();
    }
    return { count: slot.total + slot.inFlight + slot.unsent, resetAtMs: slot.start + windowMs };
  }

  peek(key: string, windowMs: number, nowMs: number): WindowCount {
    const slot = this.#slot(key, windowMs, nowMs, false);
    const start = alignedStart(nowMs, windowMs);
    return slot ? { count: slot.total + slot.inFlight + slot.unsent, resetAtMs: start + windowMs } : { count: 0, resetAtMs: start + windowMs };
  }

  /** The key's slot for the current window; a slot of an ended window starts over. */
  #slot(key: string, windowMs: number, nowMs: number, create: boolean): Slot | undefined {
    const start = alignedStart(nowMs, windowMs);
    const slot = this.#slots.get(key);
    if (slot && slot.start === start && slot.windowMs === windowMs) return slot;
    if (!create) return undefined;
    // Counts of an ended window are dropped, sent or not: they no longer limit anything.
    const fresh: Slot = { start, windowMs, total: 0, inFlight: 0, unsent: 0 };
    this.#slots.delete(key);
    this.#slots.set(key, fresh);
    this.#bound(nowMs);
    return fresh;
  }

  #flush(): void {
    this.#timer = null;
    const entries: Entry[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.unsent === 0) continue;
      entries.push([key, slot.start, slot.windowMs, slot.unsent]);
      slot.inFlight += slot.unsent;
      slot.unsent = 0;
    }
    if (entries.length === 0 || !this.#proc.connected) return;
    this.#seq += 1;
    this.#sent.set(this.#seq, entries);
    // A primary that stops answering must not grow this map without end; the counts of a
    // dropped message stay in `inFlight`, which can only make this worker count high.
    if (this.#sent.size > MAX_UNANSWERED) this.#sent.delete(this.#sent.keys().next().value!);
    const message: AddMessage = { type: ADD, seq: this.#seq, entries };
    this.#proc.send!(message);
  }

  #onTotals(message: TotalsMessage): void {
    for (const [key, start, windowMs, total] of message.entries) {
      const slot = this.#slots.get(key);
      if (slot && slot.start === start && slot.windowMs === windowMs) slot.total = total;
      else if (!slot || slot.start < start) {
        // Another worker's key (an address that failed there): this worker must refuse it too.
        this.#slots.delete(key);
        this.#slots.set(key, { start, windowMs, total, inFlight: 0, unsent: 0 });
        this.#bound(start);
      }
    }
    if (message.ackSeq === undefined) return;
    // The primary sends the answer to an `add` before any later total, so these counts are in `total` now.
    for (const [key, start, windowMs, count] of this.#sent.get(message.ackSeq) ?? []) {
      const slot = this.#slots.get(key);
      if (slot && slot.start === start && slot.windowMs === windowMs) slot.inFlight = Math.max(0, slot.inFlight - count);
    }
    this.#sent.delete(message.ackSeq);
  }

  #bound(nowMs: number): void {
    if (this.#slots.size <= this.#maxKeys) return;
    for (const [key, slot] of this.#slots) if (slot.start + slot.windowMs <= nowMs) this.#slots.delete(key);
    for (const key of this.#slots.keys()) {
      if (this.#slots.size <= this.#maxKeys) break;
      this.#slots.delete(key);
    }
  }
}

/**
 * The primary's part: adds up what the workers send and tells every worker
 * the new totals (the sender first, as the answer to its message).
 */
export function relayRateLimits(cluster: Pick<Cluster, 'on' | 'workers'>, options: { maxKeys?: number; now?: () => number } = {}): void {
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const totals = new Map<string, { start: number; windowMs: number; total: number }>();

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage<AddMessage>(message, ADD) || typeof message.seq !== 'number') return;
    const updated: Entry[] = [];
    for (const [key, start, windowMs, count] of message.entries) {
      let entry = totals.get(key);
      if (!entry || entry.start < start || entry.windowMs !== windowMs) {
        entry = { start, windowMs, total: 0 };
        totals.delete(key);
        totals.set(key, entry);
      } else if (entry.start > start) {
        continue; // a late count of a window that has ended
      }
      entry.total += count;
      updated.push([key, start, windowMs, entry.total]);
    }
    if (totals.size > maxKeys) {
      const nowMs = now();
      for (const [key, e] of totals) if (e.start + e.windowMs <= nowMs) totals.delete(key);
      for (const key of totals.keys()) {
        if (totals.size <= maxKeys) break;
        totals.delete(key);
      }
    }
    const answer: TotalsMessage = { type: TOTALS, ackSeq: message.seq, entries: updated };
    if (worker.isConnected()) worker.send(answer);
    if (updated.length === 0) return;
    const broadcast: TotalsMessage = { type: TOTALS, entries: updated };
    for (const other of Object.values(cluster.workers ?? {})) {
      if (other && other.id !== worker.id && other.isConnected()) other.send(broadcast);
    }
  });
}
