import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { OAuthError } from './errors.js';
import type { AppContext, AppMiddleware } from './middleware.js';

/**
 * Rate limits: fixed-window counters behind a small port (`WindowCounter`),
 * so the backing can change without touching the policies: in-process here
 * (`MemoryWindowCounter`), shared by the workers of a cluster
 * (rate-limit-cluster.ts), or something like Redis across hosts.
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
export function rateLimitHeaders(policy: RateLimitPolicy, state: WindowCount, nowMs: number): Record<string, string> {
  const remaining = Math.max(0, policy.limit - state.count);
  const reset = Math.max(0, Math.ceil((state.resetAtMs - nowMs) / 1000));
  return {
    'RateLimit-Policy': `"${policy.name}";q=${policy.limit};w=${policy.windowSeconds}`,
    RateLimit: `"${policy.name}";r=${remaining};t=${reset}`,
  };
}

/** Requests that authenticate a client, the admin or a metrics scraper; only these are refused to a failing address. */
export function authenticatesCaller(ctx: AppContext): boolean {
  // The router matches paths case-insensitively and with a trailing slash: so must this.
  const path = ctx.path.toLowerCase().replace(/\/+$/, '');
  return (
    path === '/introspect' ||
    path === '/revoke' ||
    path === '/api/v1/auth/token/validate' ||
    path === '/metrics' ||
    path === '/admin' ||
    path.startsWith('/admin/')
  );
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
   * Runs around everything that may authenticate a caller (see
   * `refuseFailingAddress` and `countAuthFailure`): a 401 from below counts
   * as one failure of the address.
   */
  authFailureGuard(): AppMiddleware {
    return async (ctx, next) => {
      if (this.authFailures.limit === 0 || !authenticatesCaller(ctx)) return next();
      await this.refuseFailingAddress(ctx.ip, ctx.state.requestId);
      try {
        await next();
      } catch (error) {
        if (error instanceof OAuthError && error.status === 401) ctx.set(await this.countAuthFailure(ctx.ip));
        throw error;
      }
    };
  }

  /**
   * Before any credential is checked: an address with too many failures in
   * the window gets 429 (each refusal counts as a failure too, so hammering
   * does not shorten the wait).
   */
  async refuseFailingAddress(ip: string, requestId: string | undefined): Promise<void> {
    const policy = this.authFailures;
    if (policy.limit === 0) return;
    const windowMs = policy.windowSeconds * 1000;
    const key = `auth_failures:${ip}`;
    const nowMs = this.#clock.now().getTime();
    const seen = await this.counter.peek(key, windowMs, nowMs);
    if (seen.count >= policy.limit) {
      const state = await this.counter.hit(key, windowMs, nowMs);
      this.#refuse(policy, state, nowMs, { ip, req_id: requestId }, 'too many failed authentication attempts from this address');
    }
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
  async charge(clientId: string, ip: string, requestId: string | undefined): Promise<Record<string, string>> {
    const policy = this.clientRequests;
    if (policy.limit === 0) return {};
    const nowMs = this.#clock.now().getTime();
    const state = await this.counter.hit(`client:${clientId}`, policy.windowSeconds * 1000, nowMs);
    if (state.count > policy.limit) {
      this.#refuse(policy, state, nowMs, { client_id: clientId, ip, req_id: requestId }, 'request budget of this client exhausted');
    }
    return rateLimitHeaders(policy, state, nowMs);
  }

  /** `charge` for the client of `ctx.state.client`, setting the fields on the answer. */
  async chargeClient(ctx: AppContext): Promise<void> {
    const client = ctx.state.client;
    if (client) ctx.set(await this.charge(client.id, ctx.ip, ctx.state.requestId));
  }

  /** A middleware for route chains, after client authentication. */
  clientBudget(): AppMiddleware {
    return async (ctx, next) => {
      await this.chargeClient(ctx);
      await next();
    };
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
