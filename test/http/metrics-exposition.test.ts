import test from 'ava';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Metrics } from '../../src/metrics.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { standardSetup, startTestServer } from '../helpers/app.js';

/**
 * Metrics counted per request in plain JavaScript are handed to prom-client
 * at scrape time. The text of /metrics must be the same as when every call
 * went to prom-client directly: dashboards and alerts read it.
 */

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The metrics as they were defined when each call updated prom-client: the reference text. */
function reference() {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by route template, method and status', labelNames: ['route', 'method', 'status'], registers });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Time from request to response by route template and method', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers });
  const verdicts = new Counter({ name: 'introspection_results_total', help: 'Verdicts by endpoint, result (active or the reason code) and calling client', labelNames: ['endpoint', 'result', 'client_id'], registers });
  const hits = new Counter({ name: 'cache_hits_total', help: 'Cache lookups answered from the cache, by cache', labelNames: ['cache'], registers });
  const misses = new Counter({ name: 'cache_misses_total', help: 'Cache lookups that went to the store, by cache', labelNames: ['cache'], registers });
  new Histogram({ name: 'store_operation_duration_seconds', help: 'Store call latency by operation and outcome', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers });
  new Histogram({ name: 'store_lookup_batch_keys', help: 'Distinct keys per batched MongoDB lookup (one round trip), by operation', labelNames: ['operation'], buckets: [1, 2, 5, 10, 20, 50, 100], registers });
  new Counter({ name: 'store_errors_total', help: 'Store calls that failed, by operation and error name', labelNames: ['operation', 'error'], registers });
  new Counter({ name: 'rate_limited_total', help: 'Requests refused with 429 by the rate limiter, by limit kind', labelNames: ['kind'], registers });
  const lookups = new Map<string, { hits: number; misses: number }>();
  new Gauge({
    name: 'cache_hit_ratio',
    help: 'Hits / (hits + misses) since start, by cache',
    labelNames: ['cache'],
    registers,
    collect() {
      for (const [cache, c] of lookups) this.set({ cache }, c.hits / (c.hits + c.misses));
    },
  });
  const lookup = (cache: string, hit: boolean) => {
    const c = lookups.get(cache) ?? { hits: 0, misses: 0 };
    if (hit) c.hits++;
    else c.misses++;
    lookups.set(cache, c);
  };
  return {
    registry,
    httpRequest: (route: string, method: string, status: number, seconds: number) => {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
    introspectionResult: (endpoint: string, result: string, clientId: string) => verdicts.inc({ endpoint, result, client_id: clientId }),
    cacheHit: (cache: string) => (hits.inc({ cache }), lookup(cache, true)),
    cacheMiss: (cache: string) => (misses.inc({ cache }), lookup(cache, false)),
  };
}

type Calls = Pick<Metrics, 'httpRequest' | 'introspectionResult' | 'cacheHit' | 'cacheMiss'>;

/** A known sequence: series first seen in a mixed order, durations on and between bucket bounds and above the last. */
function traffic(m: Calls, round: number): void {
  const durations = [0.0001, 0.0005, 0.00050001, 0.001, 0.0031, 0.02, 0.3, 1, 4.99, 5, 7.5, 0];
  durations.forEach((seconds, i) => {
    m.httpRequest('/introspect', 'POST', i % 5 === 0 ? 401 : 200, seconds + round / 1e7);
    m.httpRequest(i % 2 ? '/admin/clients/:id' : 'unmatched', i % 3 ? 'GET' : 'DELETE', 200 + (i % 4), seconds * 3);
    m.introspectionResult(i % 2 ? 'introspect' : 'validate', i % 3 ? 'active' : 'expired', `client-${i % 4}`);
    if (i % 3) m.cacheHit(i % 2 ? 'verified' : 'client');
    else m.cacheMiss(i % 4 ? 'grant' : 'verified');
  });
  m.httpRequest('/healthz', 'GET', 200, 0.1 + 0.2);
}

test('the exposition is the same as that of prom-client metrics updated on every call, scrape after scrape', async (t) => {
  const metrics = new Metrics();
  const expected = reference();
  for (let round = 0; round < 3; round++) {
    traffic(metrics, round);
    traffic(expected, round);
    // registry.metrics(), not render(): the process metrics differ from one moment to the next.
    t.is(await metrics.registry.metrics(), await expected.registry.metrics(), `scrape ${round + 1}`);
  }
});

test('an app that saw no requests exposes the same empty metrics as before', async (t) => {
  t.is(await new Metrics().registry.metrics(), await reference().registry.metrics());
});

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length) return Number(match[3]);
  }
  return undefined;
}

test('/metrics after a known sequence of requests: request counts, latency histogram and verdicts', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  try {
    const { auth, token, clientId } = await standardSetup(s);
    const introspect = (tok: string) => s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: tok });
    for (let i = 0; i < 5; i++) t.is((await introspect(token)).status, 200);
    for (let i = 0; i < 2; i++) t.is((await introspect('not-a-token')).status, 200);
    t.is((await s.request.get('/introspect')).status, 405);
    t.is((await s.request.get('/healthz')).status, 200);
    t.is((await s.request.get('/healthz')).status, 200);

    const first = (await s.request.get('/metrics')).text;
    t.is(sample(first, 'http_requests_total', { route: '/introspect', method: 'POST', status: '200' }), 7);
    t.is(sample(first, 'http_requests_total', { route: '/introspect', method: 'GET', status: '405' }), 1);
    t.is(sample(first, 'http_requests_total', { route: '/healthz', method: 'GET', status: '200' }), 2);
    // This scrape is counted once it is answered.
    t.is(sample(first, 'http_requests_total', { route: '/metrics', method: 'GET', status: '200' }), undefined);
    t.is(sample(first, 'introspection_results_total', { endpoint: 'introspect', result: 'active', client_id: clientId }), 5);
    t.is(sample(first, 'introspection_results_total', { endpoint: 'introspect', result: 'malformed', client_id: clientId }), 2);

    const histogram = (text: string, route: string, method: string) => {
      const labels = { route, method };
      const buckets = LATENCY_BUCKETS.map((le) => sample(text, 'http_request_duration_seconds_bucket', { ...labels, le: String(le) })!);
      return {
        buckets,
        inf: sample(text, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }),
        count: sample(text, 'http_request_duration_seconds_count', labels),
        sum: sample(text, 'http_request_duration_seconds_sum', labels)!,
      };
    };
    const post = histogram(first, '/introspect', 'POST');
    t.is(post.count, 7);
    t.is(post.inf, 7);
    // Cumulative, and every request here took well under five seconds.
    for (let i = 1; i < post.buckets.length; i++) t.true(post.buckets[i]! >= post.buckets[i - 1]!);
    t.is(post.buckets.at(-1), 7);
    t.true(post.sum > 0 && post.sum < 7 * 5);
    t.is(histogram(first, '/healthz', 'GET').count, 2);

    // Counting goes on after a scrape; a second scrape neither loses nor doubles it.
    await introspect(token);
    const second = (await s.request.get('/metrics')).text;
    t.is(sample(second, 'http_requests_total', { route: '/introspect', method: 'POST', status: '200' }), 8);
    t.is(sample(second, 'http_requests_total', { route: '/metrics', method: 'GET', status: '200' }), 1);
    t.is(histogram(second, '/introspect', 'POST').count, 8);
    t.is(sample(second, 'introspection_results_total', { endpoint: 'introspect', result: 'active', client_id: clientId }), 6);
  } finally {
    await s.close();
  }
});
