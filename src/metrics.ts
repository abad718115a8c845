import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from './store/types.js';

/** Label of requests that matched no route, so arbitrary paths cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; the introspection path is expected to answer in single-digit milliseconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels<N extends string> = Record<N, string>;

/** One series of a counter, counted in plain JS. */
interface Count<N extends string> {
  readonly labels: Labels<N>;
  n: number;
}

/**
 * A counter's series counted in plain JS, in the order they first appeared
 * (the order prom-client lists them in), and handed to the prom-client
 * counter when it is scraped: counting a request is then a property
 * increment, not a hash of its labels.
 */
class Counts<N extends string> {
  readonly #series: Count<N>[] = [];

  add(labels: Labels<N>): Count<N> {
    const count = { labels, n: 0 };
    this.#series.push(count);
    return count;
  }

  /** The counter's `collect`: sets it to the totals at each scrape. */
  collector(): (this: Counter<N>) => void {
    const all = this.#series;
    return function () {
      this.reset();
      for (const { labels, n } of all) this.inc(labels, n);
    };
  }
}

/** One series of a histogram: observations per bucket (not cumulative; the last one above every bound), sum and count. */
interface Observations<N extends string> {
  readonly labels: Labels<N>;
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** A histogram's series kept in plain JS, as Counts above. */
class HistogramCounts<N extends string> {
  readonly #series: Observations<N>[] = [];

  constructor(readonly bounds: readonly number[]) {}

  add(labels: Labels<N>): Observations<N> {
    const series = { labels, buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
    this.#series.push(series);
    return series;
  }

  /** As prom-client's `observe`: a value goes in the first bucket whose bound it does not exceed. */
  observe(series: Observations<N>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.buckets[i]!++;
    series.sum += value;
    series.count++;
  }

  /**
   * The histogram's `collect`: sets its series to these at each scrape.
   * prom-client has no call that sets a bucket's count, so this writes the
   * table its `observe` fills and its exposition reads (`hashMap`: per
   * series its labels, count per upper bound, sum and count); a test holds
   * the text to that of a prom-client histogram fed by `observe`.
   */
  collector(): (this: Histogram<N>) => void {
    const { bounds } = this;
    const all = this.#series;
    return function () {
      const table: Record<string, { labels: Labels<N>; bucketValues: Record<number, number>; sum: number; count: number }> = {};
      all.forEach(({ labels, buckets, sum, count }, index) => {
        const bucketValues: Record<number, number> = {};
        bounds.forEach((bound, i) => (bucketValues[bound] = buckets[i]!));
        table[index] = { labels, bucketValues, sum, count };
      });
      (this as unknown as { hashMap: typeof table }).hashMap = table;
    };
  }
}

/** Per route and method: the request counts by status, and the latency series. */
interface RouteSeries {
  readonly byStatus: Map<number, Count<'route' | 'method' | 'status'>>;
  readonly latency: Observations<'route' | 'method'>;
}

/** Per cache: its hit and miss series, made at the first hit and the first miss. */
interface CacheSeries {
  hits: Count<'cache'> | null;
  misses: Count<'cache'> | null;
}

/**
 * The server's Prometheus metrics, in a registry of their own (one per app,
 * never the global default one, so many apps can live in one process).
 *
 * Other modules report through the small methods below; they receive this
 * object through `AppDeps.metrics`. What is counted on every request
 * (requests, latencies, verdicts, cache lookups) is counted in plain
 * JavaScript and handed to prom-client when /metrics is scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private processMetrics = false;

  readonly #requestCounts = new Counts<'route' | 'method' | 'status'>();
  readonly #latencies = new HistogramCounts<'route' | 'method'>(LATENCY_BUCKETS);
  readonly #verdictCounts = new Counts<'endpoint' | 'result' | 'client_id'>();
  readonly #hitCounts = new Counts<'cache'>();
  readonly #missCounts = new Counts<'cache'>();

  /** route → method → series. */
  readonly #routes = new Map<string, Map<string, RouteSeries>>();
  /** endpoint → result → client id → count. */
  readonly #verdicts = new Map<string, Map<string, Map<string, Count<'endpoint' | 'result' | 'client_id'>>>>();
  /** cache → series, in the order of each cache's first lookup. */
  readonly #caches = new Map<string, CacheSeries>();

  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: this.#requestCounts.collector(),
  });

  private readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
    collect: this.#latencies.collector(),
  });

  private readonly introspections = new Counter({
    name: 'introspection_results_total',
    help: 'Verdicts by endpoint, result (active or the reason code) and calling client',
    labelNames: ['endpoint', 'result', 'client_id'] as const,
    registers: [this.registry],
    collect: this.#verdictCounts.collector(),
  });

  private readonly cacheHits = new Counter({
    name: 'cache_hits_total',
    help: 'Cache lookups answered from the cache, by cache',
    labelNames: ['cache'] as const,
    registers: [this.registry],
    collect: this.#hitCounts.collector(),
  });

  private readonly cacheMisses = new Counter({
    name: 'cache_misses_total',
    help: 'Cache lookups that went to the store, by cache',
    labelNames: ['cache'] as const,
    registers: [this.registry],
    collect: this.#missCounts.collector(),
  });

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
    const caches = this.#caches;
    new Gauge({
      name: 'cache_hit_ratio',
      help: 'Hits / (hits + misses) since start, by cache',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, { hits, misses }] of caches) {
          const hit = hits?.n ?? 0;
          this.set({ cache }, hit / (hit + (misses?.n ?? 0)));
        }
      },
    });
  }

  /** One finished HTTP request; `route` is the route template or UNMATCHED_ROUTE. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.#routes.get(route);
    if (byMethod === undefined) this.#routes.set(route, (byMethod = new Map()));
    let series = byMethod.get(method);
    if (series === undefined) byMethod.set(method, (series = { byStatus: new Map(), latency: this.#latencies.add({ route, method }) }));
    let count = series.byStatus.get(status);
    if (count === undefined) series.byStatus.set(status, (count = this.#requestCounts.add({ route, method, status: String(status) })));
    count.n++;
    this.#latencies.observe(series.latency, seconds);
  }

  /** One verdict rendered by an endpoint: `result` is `active` or a reason code. */
  introspectionResult(endpoint: string, result: string, clientId: string): void {
    let byResult = this.#verdicts.get(endpoint);
    if (byResult === undefined) this.#verdicts.set(endpoint, (byResult = new Map()));
    let byClient = byResult.get(result);
    if (byClient === undefined) byResult.set(result, (byClient = new Map()));
    let count = byClient.get(clientId);
    if (count === undefined) byClient.set(clientId, (count = this.#verdictCounts.add({ endpoint, result, client_id: clientId })));
    count.n++;
  }

  cacheHit(kind: string): void {
    const series = this.#cache(kind);
    (series.hits ??= this.#hitCounts.add({ cache: kind })).n++;
  }

  cacheMiss(kind: string): void {
    const series = this.#cache(kind);
    (series.misses ??= this.#missCounts.add({ cache: kind })).n++;
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

  #cache(kind: string): CacheSeries {
    let series = this.#caches.get(kind);
    if (series === undefined) this.#caches.set(kind, (series = { hits: null, misses: null }));
    return series;
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
        // Peeks read this process's memory, not the database: not store calls, and they must stay synchronous.
        if (key.startsWith('peek')) return (...args: unknown[]) => value.apply(target, args) as unknown;
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
