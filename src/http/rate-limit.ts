import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { OAuthError } from './errors.js';

/**
 * Rate limits: fixed-window counters behind a small port (`WindowCounter`),
 * so the backing can change without touching the policies: in-process here
 * (`MemoryWindowCounter`), shared by the workers of a cluster
 * (rate-limit-cluster.ts), or something like Redis across hosts.
 *
 * Why not rate-limiter-flexible (11.4) for the counting: measured against it
 * in one sitting (bench/flexible-counter.ts is the port on it), it costs on
 * the hot path and does not fit the port.
 * - `npm run bench:inprocess -- --alloc-n=8000`, bytes allocated per
 *   introspection, 4 runs each: JWT 21,933-21,957 with ours against
 *   24,542-24,574 with RateLimiterMemory, opaque 19,727-19,772 against
 *   22,390-22,431 (about +2.6 KB, +12-13 %). Times (fastest of 5, seven
 *   sittings on the loaded machine) were slower with it in 6 of 7 for JWT
 *   and 4 of 7 for opaque, by up to a few µs: within the noise.
 * - `npm run bench:micro`, fastest of 7: `attempt` + `charge` 1.6 µs and
 *   2.4 KB against 2.6 µs and 5.1 KB; one counter hit 72 ns and 89 B
 *   against 410 ns and 977 B. Its `consume` and `get` answer with a
 *   promise, so `attempt` loses the synchronous admission below.
 * - It keeps its own time (Date.now and a timer per key), not the server's
 *   Clock: with it, windows end by the wall clock only, and 3 tests of
 *   test/http/rate-limit.test.ts that move a fixed clock fail. Nor does it
 *   bound the number of keys it holds within a window.
 * For cluster sharing see rate-limit-cluster.ts. A store-backed counter for
 * several hosts (its RateLimiterMongo or RateLimiterRedis) fits this port as
 * bench/flexible-counter.ts does: the port takes asynchronous answers, and
 * `attempt` holds its limit with them (test/security/auth-failure-race.test.ts).
 */

/** The count of one key in its current window. */
export interface WindowCount {
  count: number;
  /** When the window ends, in epoch milliseconds. */
  resetAtMs: number;
}

/** The storage port of the limiter. Results may be promises, for a shared backing. */
export interface WindowCounter {
  /** Adds one to `key` in the window containing `nowMs` and returns the new count. */
  hit(key: string, windowMs: number, nowMs: number): WindowCount | Promise<WindowCount>;
  /** The count of `key` without adding to it. */
  peek(key: string, windowMs: number, nowMs: number): WindowCount | Promise<WindowCount>;
}

/** Attempts from one address that may wait for the ones in flight; more are refused at once. */
const MAX_WAITING_ATTEMPTS = 1000;

/** Above this many keys, expired windows are dropped, then the oldest keys. */
export const DEFAULT_MAX_KEYS = 100_000;

/**
 * Fixed windows per key, in a Map. Memory is bounded: expired windows are
 * swept at most once per window length, and when the map is full the oldest
 * keys go first (Map iteration follows insertion order, and a key is
 * re-inserted when its window starts again).
 */
export class MemoryWindowCounter implements WindowCounter {
  readonly #windows = new Map<string, WindowCount>();
  #lastSweepMs = 0;

  constructor(readonly maxKeys: number = DEFAULT_MAX_KEYS) {}

  get size(): number {
    return this.#windows.size;
  }

  hit(key: string, windowMs: number, nowMs: number): WindowCount {
    this.#sweep(windowMs, nowMs);
    let entry = this.#windows.get(key);
    if (!entry || entry.resetAtMs <= nowMs) {
      this.#windows.delete(key);
      entry = { count: 0, resetAtMs: nowMs + windowMs };
      this.#windows.set(key, entry);
      this.#bound();
    }
    entry.count += 1;
    return { ...entry };
  }

  peek(key: string, windowMs: number, nowMs: number): WindowCount {
    const entry = this.#windows.get(key);
    if (!entry || entry.resetAtMs <= nowMs) return { count: 0, resetAtMs: nowMs + windowMs };
    return { ...entry };
  }

  #sweep(windowMs: number, nowMs: number): void {
    if (nowMs - this.#lastSweepMs < windowMs && this.#windows.size < this.maxKeys) return;
    this.#lastSweepMs = nowMs;
    for (const [key, entry] of this.#windows) if (entry.resetAtMs <= nowMs) this.#windows.delete(key);
  }

  #bound(): void {
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= this.maxKeys) break;
      this.#windows.delete(key);
    }
  }
}

/** One quota: `limit` units per `windowSeconds`, named as in the RateLimit fields. */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowSeconds: number;
}

/**
 * 429 in the RFC 6749 §5.2 form. RFC 6749 has no code for this; `slow_down`
 * (RFC 8628 §3.5) means "poll the device endpoint less often" and clients
 * treat it that way, so the code names the HTTP status (RFC 6585 §4), as
 * many servers do.
 */
export class RateLimited extends OAuthError {
  constructor(description: string, headers: Record<string, string>) {
    super('too_many_requests', description, 429, headers);
  }
}

/**
 * The draft-ietf-httpapi-ratelimit-headers fields (draft 11): a policy list
 * item `"name";q=<quota>;w=<window>` and a service limit item
 * `"name";r=<remaining>;t=<seconds to reset>`.
 */
/** A policy's `RateLimit-Policy` field never changes: made once per policy, not per answer. */
const policyFields = new WeakMap<RateLimitPolicy, string>();

function policyField(policy: RateLimitPolicy): string {
  let field = policyFields.get(policy);
  if (field === undefined) {
    field = `"${policy.name}";q=${policy.limit};w=${policy.windowSeconds}`;
    policyFields.set(policy, field);
  }
  return field;
}

export function rateLimitHeaders(policy: RateLimitPolicy, state: WindowCount, nowMs: number): Record<string, string> {
  const remaining = Math.max(0, policy.limit - state.count);
  const reset = Math.max(0, Math.ceil((state.resetAtMs - nowMs) / 1000));
  return {
    'RateLimit-Policy': policyField(policy),
    RateLimit: `"${policy.name}";r=${remaining};t=${reset}`,
  };
}

export interface RateLimitsOptions {
  config: Pick<Config, 'rateLimitAuthFailures' | 'rateLimitClientRequests' | 'rateLimitWindowSeconds'>;
  clock: Clock;
  logger: Logger;
  counter?: WindowCounter;
  /** Counts every refusal by policy name (Prometheus `rate_limited_total`). */
  metrics?: { rateLimited(kind: string): void };
}

/**
 * The two policies: failed authentications per source address (client and
 * admin credentials alike), and requests per authenticated client. A limit of
 * 0 turns its policy off.
 */
export class RateLimits {
  readonly authFailures: RateLimitPolicy;
  readonly clientRequests: RateLimitPolicy;
  readonly counter: WindowCounter;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: RateLimitsOptions['metrics'];
  /** Authentication attempts being verified, per address (this process). */
  readonly #inFlight = new Map<string, number>();
  /** Attempts waiting for one in flight to settle, per address. */
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(options: RateLimitsOptions) {
    const { config } = options;
    this.authFailures = { name: 'auth_failures', limit: config.rateLimitAuthFailures, windowSeconds: config.rateLimitWindowSeconds };
    this.clientRequests = { name: 'client', limit: config.rateLimitClientRequests, windowSeconds: config.rateLimitWindowSeconds };
    this.counter = options.counter ?? new MemoryWindowCounter();
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  /**
   * One authentication attempt by a caller at `ip`: client credentials, the
   * admin token or the metrics token. `verify` checks the credentials and
   * throws a 401 `OAuthError` when they are wrong.
   *
   * The failed-login limit must hold however requests interleave. Checking
   * the count before the credentials and counting the failure after them
   * lets many requests pass the check together (their bodies arriving at
   * once) and all be evaluated. So attempts in flight count too: an attempt
   * is admitted only while the failures of the window plus the attempts
   * still being verified stay under the limit; past that it waits for one in
   * flight to settle and looks again. At most `limit` credentials from one
   * address are evaluated per window in this process, and correct
   * credentials sent many at once are delayed, never refused.
   *
   * A 401 from `verify` counts one failure and carries the RateLimit fields.
   */
  attempt<T>(ip: string, requestId: string | undefined, verify: () => T | Promise<T>): T | Promise<T> {
    if (this.authFailures.limit === 0) return verify();
    // The usual attempt (an in-process count, under the limit) is admitted without waiting a turn.
    if (this.#admitNow(ip)) return this.#verifyAdmitted(ip, verify);
    return this.#admit(ip, requestId).then(() => this.#verifyAdmitted(ip, verify));
  }

  /**
   * Runs an admitted attempt; a 401 counts one failure before the attempt
   * stops counting as in flight. Credentials checked at once (the client in
   * memory) give their answer at once, without a promise; a failure always
   * goes through the counting, which may have to wait for the counter.
   */
  #verifyAdmitted<T>(ip: string, verify: () => T | Promise<T>): T | Promise<T> {
    let verified: T | Promise<T>;
    try {
      verified = verify();
    } catch (error) {
      return this.#failed(ip, error);
    }
    if (!(verified instanceof Promise)) {
      this.#settle(ip);
      return verified;
    }
    return verified.then(
      (value) => {
        this.#settle(ip);
        return value;
      },
      (error: unknown) => this.#failed(ip, error),
    );
  }

  async #failed(ip: string, error: unknown): Promise<never> {
    try {
      if (error instanceof OAuthError && error.status === 401) Object.assign(error.headers, await this.countAuthFailure(ip));
    } finally {
      this.#settle(ip);
    }
    throw error;
  }

  /**
   * Admits an attempt at once when the counter answers synchronously and the
   * failures plus the attempts in flight are under the limit; false: take
   * the slow path (`#admit`), which also refuses.
   */
  #admitNow(ip: string): boolean {
    const policy = this.authFailures;
    const seen = this.counter.peek(`auth_failures:${ip}`, policy.windowSeconds * 1000, this.#clock.now().getTime());
    return !(seen instanceof Promise) && this.#admitWith(ip, seen.count);
  }

  /** Counts the attempt in flight if `failures` plus those in flight stay under the limit: checked and counted in one synchronous step. */
  #admitWith(ip: string, failures: number): boolean {
    const inFlight = this.#inFlight.get(ip) ?? 0;
    if (failures + inFlight >= this.authFailures.limit) return false;
    this.#inFlight.set(ip, inFlight + 1);
    return true;
  }

  /** Waits until an attempt from `ip` may be verified, and counts it in flight; 429 when the address is over its limit. */
  async #admit(ip: string, requestId: string | undefined): Promise<void> {
    for (;;) {
      const failures = await this.refuseFailingAddress(ip, requestId);
      // No await between the check and the count, so no other attempt can slip in between.
      if (this.#admitWith(ip, failures)) return;
      const waiting = this.#waiting.get(ip) ?? [];
      if (waiting.length >= MAX_WAITING_ATTEMPTS) {
        const nowMs = this.#clock.now().getTime();
        const state = { count: failures, resetAtMs: nowMs + this.authFailures.windowSeconds * 1000 };
        this.#refuse(this.authFailures, state, nowMs, { ip, req_id: requestId }, 'too many authentication attempts in flight from this address');
      }
      this.#waiting.set(ip, waiting);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  /** An attempt from `ip` is over: those waiting look again. */
  #settle(ip: string): void {
    const inFlight = (this.#inFlight.get(ip) ?? 1) - 1;
    if (inFlight > 0) this.#inFlight.set(ip, inFlight);
    else this.#inFlight.delete(ip);
    const waiting = this.#waiting.get(ip);
    if (!waiting) return;
    this.#waiting.delete(ip);
    for (const wake of waiting) wake();
  }

  /**
   * An address with too many failures in the window gets 429 (each refusal
   * counts as a failure too, so hammering does not shorten the wait).
   * Returns the failures counted so far.
   */
  async refuseFailingAddress(ip: string, requestId: string | undefined): Promise<number> {
    const policy = this.authFailures;
    if (policy.limit === 0) return 0;
    const windowMs = policy.windowSeconds * 1000;
    const key = `auth_failures:${ip}`;
    const nowMs = this.#clock.now().getTime();
    const seen = await this.counter.peek(key, windowMs, nowMs);
    if (seen.count >= policy.limit) {
      const state = await this.counter.hit(key, windowMs, nowMs);
      this.#refuse(policy, state, nowMs, { ip, req_id: requestId }, 'too many failed authentication attempts from this address');
    }
    return seen.count;
  }

  /** Counts one failed authentication of the address; returns the RateLimit fields for the 401. */
  async countAuthFailure(ip: string): Promise<Record<string, string>> {
    const policy = this.authFailures;
    if (policy.limit === 0) return {};
    const nowMs = this.#clock.now().getTime();
    const state = await this.counter.hit(`auth_failures:${ip}`, policy.windowSeconds * 1000, nowMs);
    return rateLimitHeaders(policy, state, nowMs);
  }

  /**
   * Counts one request of an authenticated client; over the budget, 429.
   * Returns the client's RateLimit fields, which every answer carries.
   */
  charge(clientId: string, ip: string, requestId: string | undefined): Record<string, string> | Promise<Record<string, string>> {
    const policy = this.clientRequests;
    if (policy.limit === 0) return {};
    const nowMs = this.#clock.now().getTime();
    const counted = this.counter.hit(`client:${clientId}`, policy.windowSeconds * 1000, nowMs);
    // An in-process count answers at once; a shared one (cluster, store) is awaited.
    const fields = (state: WindowCount): Record<string, string> => {
      if (state.count > policy.limit) {
        this.#refuse(policy, state, nowMs, { client_id: clientId, ip, req_id: requestId }, 'request budget of this client exhausted');
      }
      return rateLimitHeaders(policy, state, nowMs);
    };
    return counted instanceof Promise ? counted.then(fields) : fields(counted);
  }

  #refuse(policy: RateLimitPolicy, state: WindowCount, nowMs: number, who: Record<string, unknown>, description: string): never {
    this.#metrics?.rateLimited(policy.name);
    // One audit line per key and window: the first refusal, not every one.
    if (state.count === policy.limit + 1) {
      this.#logger.warn({ event: 'rate_limited', policy: policy.name, ...who, window_s: policy.windowSeconds }, 'audit');
    }
    const headers = rateLimitHeaders(policy, state, nowMs);
    const retryAfter = Math.max(1, Math.ceil((state.resetAtMs - nowMs) / 1000));
    throw new RateLimited(description, { ...headers, 'Retry-After': String(retryAfter) });
  }
}
