import test from 'ava';
import { Metrics, instrumentStore } from '../../src/metrics.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError } from '../../src/store/types.js';
import supertest from 'supertest';
import type { Store } from '../../src/store/types.js';
import { ADMIN_TOKEN, apiTest, basic, buildTestApp, standardSetup, startTestServer } from '../helpers/app.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

apiTest('/metrics counts requests by route and status, and verdicts by reason and client', async (t, s) => {
  const { auth, token, clientId } = await standardSetup(s);
  const introspect = (tok: string) => s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: tok });
  await introspect(token);
  await introspect(token);
  await introspect('not-a-token');
  await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: 'not-a-token' });
  await s.request.post('/introspect').set('Authorization', basic(clientId, 'wrong')).type('form').send({ token });
  await s.request.get('/no/such/path/abc123');
  await s.request.get('/admin/clients/some-client-id').set('Authorization', 'Bearer wrong');

  const res = await s.request.get('/metrics');
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
  const text = res.text;
  t.is(sample(text, 'http_requests_total', { route: '/introspect', method: 'POST', status: '200' }), 3);
  t.is(sample(text, 'http_requests_total', { route: '/introspect', method: 'POST', status: '401' }), 1);
  t.is(sample(text, 'http_requests_total', { route: '/admin/customers/:id', method: 'PUT', status: '201' }), 1);
  // Unknown paths share one label, so probing cannot grow the series count.
  t.is(sample(text, 'http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 1);
  t.false(text.includes('abc123'));
  t.is(sample(text, 'http_requests_total', { route: '/admin/clients/:id', method: 'GET', status: '401' }), 1);
  t.false(text.includes('some-client-id'));

  t.is(sample(text, 'introspection_results_total', { endpoint: 'introspect', result: 'active', client_id: clientId }), 2);
  t.is(sample(text, 'introspection_results_total', { endpoint: 'introspect', result: 'malformed', client_id: clientId }), 1);
  t.is(sample(text, 'introspection_results_total', { endpoint: 'validate', result: 'malformed', client_id: clientId }), 1);

  t.is(sample(text, 'http_request_duration_seconds_count', { route: '/introspect', method: 'POST' }), 4);
  t.true(sample(text, 'http_request_duration_seconds_bucket', { route: '/introspect', method: 'POST', le: '+Inf' })! >= 4);
  // Store calls are timed: the client and grant the admin API wrote. Reads the embedded store answers
  // from memory (its peeks) are not store calls and are not timed.
  t.is(sample(text, 'store_operation_duration_seconds_count', { operation: 'clients.insert', outcome: 'ok' }), 1);
  t.is(sample(text, 'store_operation_duration_seconds_count', { operation: 'grants.insert', outcome: 'ok' }), 1);
  t.is(sample(text, 'store_operation_duration_seconds_count', { operation: 'clients.peekById', outcome: 'ok' }), undefined);
  t.is(sample(text, 'store_operation_duration_seconds_count', { operation: 'grants.peekById', outcome: 'ok' }), undefined);
  // Process metrics come with the first scrape. Their value is CPU time since the
  // registry was made, which can round to 0 on a fast run: check presence only.
  t.is(typeof sample(text, 'process_cpu_user_seconds_total'), 'number');
  t.true(sample(text, 'process_cpu_user_seconds_total')! >= 0);
  // Never a credential or token in the exposition.
  t.false(text.includes(token));
});

test('METRICS_TOKEN protects /metrics with a bearer token', async (t) => {
  const metricsToken = 'metrics-token-0123456789abcdef0123456789';
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }), { env: { METRICS_TOKEN: metricsToken } });
  try {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${metricsToken}`]) {
      const req = s.request.get('/metrics');
      const res = await (authorization ? req.set('Authorization', authorization) : req);
      t.is(res.status, 401);
      t.is(res.body.error, 'invalid_token');
      t.regex(res.headers['www-authenticate']!, /^Bearer /);
    }
    const ok = await s.request.get('/metrics').set('Authorization', `Bearer ${metricsToken}`);
    t.is(ok.status, 200);
    t.regex(ok.text, /http_requests_total\{route="\/metrics",method="GET",status="401"\} 3/);
  } finally {
    await s.close();
  }
});

test('each app has its own registry', async (t) => {
  const a = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  const b = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  try {
    await a.request.get('/healthz');
    await a.request.get('/healthz');
    const textA = (await a.request.get('/metrics')).text;
    const textB = (await b.request.get('/metrics')).text;
    t.is(sample(textA, 'http_requests_total', { route: '/healthz', status: '200' }), 2);
    t.is(sample(textB, 'http_requests_total', { route: '/healthz', status: '200' }), undefined);
  } finally {
    await a.close();
    await b.close();
  }
});

test('cache and rate-limit hooks: counters and the hit ratio', async (t) => {
  const metrics = new Metrics();
  metrics.cacheHit('grant');
  metrics.cacheHit('grant');
  metrics.cacheHit('grant');
  metrics.cacheMiss('grant');
  metrics.cacheMiss('client');
  metrics.rateLimited('client');
  metrics.rateLimited('client');
  metrics.rateLimited('auth_failures');
  const { body } = await metrics.render();
  t.is(sample(body, 'cache_hits_total', { cache: 'grant' }), 3);
  t.is(sample(body, 'cache_misses_total', { cache: 'grant' }), 1);
  t.is(sample(body, 'cache_hit_ratio', { cache: 'grant' }), 0.75);
  t.is(sample(body, 'cache_hit_ratio', { cache: 'client' }), 0);
  t.is(sample(body, 'rate_limited_total', { kind: 'client' }), 2);
  t.is(sample(body, 'rate_limited_total', { kind: 'auth_failures' }), 1);
});

test('batched MongoDB lookups are counted by their distinct keys', async (t) => {
  const metrics = new Metrics();
  metrics.lookupBatch('grants.findById', 1);
  metrics.lookupBatch('grants.findById', 37);
  metrics.lookupBatch('customers.findById', 4);
  const { body } = await metrics.render();
  t.is(sample(body, 'store_lookup_batch_keys_count', { operation: 'grants.findById' }), 2);
  t.is(sample(body, 'store_lookup_batch_keys_sum', { operation: 'grants.findById' }), 38);
  t.is(sample(body, 'store_lookup_batch_keys_bucket', { operation: 'grants.findById', le: '1' }), 1);
  t.is(sample(body, 'store_lookup_batch_keys_bucket', { operation: 'grants.findById', le: '50' }), 2);
  t.is(sample(body, 'store_lookup_batch_keys_count', { operation: 'customers.findById' }), 1);
});

test('the store decorator times calls and counts failures without changing results', async (t) => {
  const metrics = new Metrics();
  const inner = new MemoryStore({ logger: silentLogger() });
  await inner.init();
  const store = instrumentStore(inner, metrics);
  t.is(store.kind, inner.kind);
  await store.customers.upsert({ id: 'c1', status: 'active', email: null, firstName: null, lastName: null, updatedAt: new Date() });
  t.is((await store.customers.findById('c1'))?.id, 'c1');
  t.is(await store.customers.findById('c2'), null);
  inner.grants.findById = async () => {
    throw new StoreUnavailableError('down');
  };
  await t.throwsAsync(() => store.grants.findById('g'), { instanceOf: StoreUnavailableError });
  await store.ping();
  const { body } = await metrics.render();
  t.is(sample(body, 'store_operation_duration_seconds_count', { operation: 'customers.findById', outcome: 'ok' }), 2);
  t.is(sample(body, 'store_operation_duration_seconds_count', { operation: 'customers.upsert', outcome: 'ok' }), 1);
  t.is(sample(body, 'store_operation_duration_seconds_count', { operation: 'grants.findById', outcome: 'error' }), 1);
  t.is(sample(body, 'store_errors_total', { operation: 'grants.findById', error: 'StoreUnavailableError' }), 1);
  t.is(sample(body, 'store_operation_duration_seconds_count', { operation: 'ping', outcome: 'ok' }), 1);
  await store.close();
});

test('a caller that passes its own metrics instruments the store below its cache; the app does not wrap it again', async (t) => {
  const metrics = new Metrics();
  const inner = new MemoryStore({ logger: silentLogger() });
  await inner.init();
  const store = instrumentStore(inner, metrics);
  // A cache answering customers without the store, as the read-through cache does on a hit.
  const cached: Store = Object.create(store, { customers: { value: { ...store.customers, findById: async () => { metrics.cacheHit('customer'); return null; } } } });
  const { app } = await buildTestApp({ store: cached, metrics });
  const res = await supertest(app.callback()).get('/admin/customers/c9').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  t.is(res.status, 404);
  const { body } = await metrics.render();
  t.is(sample(body, 'cache_hits_total', { cache: 'customer' }), 1);
  // The hit did not reach the store, and the app did not time the cached call as a store call.
  t.is(sample(body, 'store_operation_duration_seconds_count', { operation: 'customers.findById', outcome: 'ok' }), undefined);
  t.is(sample(body, 'http_requests_total', { route: '/admin/customers/:id', status: '404' }), 1);
});

test('429s of the rate limiter are counted by kind', async (t) => {
  const metrics = new Metrics();
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { app } = await buildTestApp({ env: { RATE_LIMIT_AUTH_FAILURES: '2' }, store, metrics });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await supertest(app.callback()).post('/introspect').set('Authorization', basic('nobody', 'wrong')).type('form').send({ token: 'x' });
    statuses.push(res.status);
  }
  t.deepEqual(statuses, [401, 401, 429, 429]);
  const { body } = await metrics.render();
  t.is(sample(body, 'rate_limited_total', { kind: 'auth_failures' }), 2);
  t.is(sample(body, 'http_requests_total', { route: '/introspect', method: 'POST', status: '429' }), 2);
});
