import { RateLimiterMemory, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { WindowCount, WindowCounter } from '../src/http/rate-limit.js';

/**
 * The `WindowCounter` port on rate-limiter-flexible, for measuring it against
 * the server's own counters (bench/micro.ts, `bench:inprocess
 * --rate-limit-counter=flexible`). One limiter per window length; its points
 * are unbounded so that the policies (RateLimits) decide, as with the other
 * counters. The library keeps its own time (Date.now), so this only fits the
 * system clock.
 */
export class FlexibleWindowCounter implements WindowCounter {
  readonly #limiters = new Map<number, RateLimiterAbstract>();

  constructor(readonly make: (windowSeconds: number) => RateLimiterAbstract = (duration) => new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration, keyPrefix: '' })) {}

  #limiter(windowMs: number): RateLimiterAbstract {
    let limiter = this.#limiters.get(windowMs);
    if (limiter === undefined) {
      limiter = this.make(windowMs / 1000);
      this.#limiters.set(windowMs, limiter);
    }
    return limiter;
  }

  hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return this.#limiter(windowMs)
      .consume(key, 1)
      .then((res: RateLimiterRes) => ({ count: res.consumedPoints, resetAtMs: nowMs + res.msBeforeNext }));
  }

  peek(key: string, windowMs: number, nowMs: number): Promise<WindowCount> {
    return this.#limiter(windowMs)
      .get(key)
      .then((res: RateLimiterRes | null) => (res === null ? { count: 0, resetAtMs: nowMs + windowMs } : { count: res.consumedPoints, resetAtMs: nowMs + res.msBeforeNext }));
  }
}
