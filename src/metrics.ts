import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from './store/types.js';

/** Label of requests that matched no route, so arbitrary paths cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; the introspection path is expected to answer in single-digit milliseconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The server's Prometheus metrics, in a registry of their own (one per app,
 * never the global default one, so many apps can live in one process).
 *
 * Other modules report through the small methods below; they receive this
 * object through `AppDeps.metrics`.
 */
export class Metrics {
  readonly registry = new Registry();
  private processMetrics = false;

  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  private readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly introspections = new Counter({
    name: 'introspection_results_total',
    help: 'Verdicts by endpoint, result (active or the reason code) and calling client',
    labelNames: ['endpoint', 'result', 'client_id'] as const,
    registers: [this.registry],
  });

  private readonly cacheHits = new Counter({
    name: 'cache_hits_total',
    help: 'Cache lookups answered from the cache, by cache',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  private readonly cacheMisses = new Counter({
    name: 'cache_misses_total',
    help: 'Cache lookups that went to the store, by cache',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  private readonly hitCounts = new Map<string, { hits: number; misses: number }>();

  private readonly storeDuration = new Histogram({
    name: 'store_operation_duration_seconds',
    help: 'Store call latency by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly lookupBatches = new Histogram({
    name: 'store_lookup_batch_keys',
    help: 'Distinct keys per batched MongoDB lookup (one round trip), by operation',
    labelNames: ['operation'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });

  private readonly storeErrors = new Counter({
    name: 'store_errors_total',
    help: 'Store calls that failed, by operation and error name',
    labelNames: ['operation', 'error'] as const,
    registers: [this.registry],
  });

  private readonly rateLimitRejections = new Counter({
    name: 'rate_limited_total',
    help: 'Requests refused with 429 by the rate limiter, by limit kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    const hitCounts = this.hitCounts;
    new Gauge({
      name: 'cache_hit_ratio',
      help: 'Hits / (hits + misses) since start, by cache',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, { hits, misses }] of hitCounts) this.set({ cache }, hits / (hits + misses));
      },
    });
  }

  /** One finished HTTP request; `route` is the route template or UNMATCHED_ROUTE. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.requestDuration.observe({ route, method }, seconds);
  }

  /** One verdict rendered by an endpoint: `result` is `active` or a reason code. */
  introspectionResult(endpoint: string, result: string, clientId: string): void {
    this.introspections.inc({ endpoint, result, client_id: clientId });
  }

  cacheHit(kind: string): void {
    this.cacheHits.inc({ cache: kind });
    this.countLookup(kind, true);
  }

  cacheMiss(kind: string): void {
    this.cacheMisses.inc({ cache: kind });
    this.countLookup(kind, false);
  }

  rateLimited(kind: string): void {
    this.rateLimitRejections.inc({ kind });
  }

  /** One batched lookup sent to MongoDB with `keys` distinct keys. */
  lookupBatch(operation: string, keys: number): void {
    this.lookupBatches.observe({ operation }, keys);
  }

  storeCall(operation: string, seconds: number, error?: unknown): void {
    this.storeDuration.observe({ operation, outcome: error === undefined ? 'ok' : 'error' }, seconds);
    if (error !== undefined) this.storeErrors.inc({ operation, error: (error as Error)?.name ?? 'Error' });
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    // Process metrics start monitors (event loop delay, GC observer); they are
    // registered on the first scrape so apps that are never scraped start none.
    if (!this.processMetrics) {
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry });
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private countLookup(kind: string, hit: boolean): void {
    const entry = this.hitCounts.get(kind) ?? { hits: 0, misses: 0 };
    if (hit) entry.hits++;
    else entry.misses++;
    this.hitCounts.set(kind, entry);
  }
}

const storeParts = ['grants', 'customers', 'clients'] as const;

/**
 * A Store that times every call and counts failures (decorator: the adapter
 * is unchanged). Operations are named `part.method`, e.g. `grants.findById`.
 */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const timed = <A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await fn(...args);
        metrics.storeCall(operation, seconds());
        return result;
      } catch (error) {
        metrics.storeCall(operation, seconds(), error);
        throw error;
      }
    };
  const wrapPart = <T extends object>(name: string, part: T): T =>
    new Proxy(part, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        return timed(`${name}.${key}`, (...args: unknown[]) => value.apply(target, args) as Promise<unknown>);
      },
    });
  const parts = Object.fromEntries(storeParts.map((p) => [p, wrapPart(p, store[p])]));
  return new Proxy(store, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in parts) return parts[key];
      if (key === 'ping') return timed('ping', () => target.ping());
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
