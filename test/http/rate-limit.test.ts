import test from 'ava';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { MemoryWindowCounter, rateLimitHeaders } from '../../src/http/rate-limit.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { ConfigInput } from '../../src/config/index.js';
import { ADMIN_TOKEN, basic, standardSetup, startTestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

async function server(env: ConfigInput, logger?: Logger) {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store, { env, logger });
  return { ...s, close: async () => { await s.close(); await store.close(); } };
}

// ---- the counter ----

test('the memory counter counts per key within a fixed window and starts again after it', (t) => {
  const c = new MemoryWindowCounter();
  t.deepEqual(c.hit('a', 1000, 0), { count: 1, resetAtMs: 1000 });
  t.deepEqual(c.hit('a', 1000, 999), { count: 2, resetAtMs: 1000 });
  t.deepEqual(c.hit('b', 1000, 500), { count: 1, resetAtMs: 1500 });
  t.deepEqual(c.peek('a', 1000, 999), { count: 2, resetAtMs: 1000 });
  t.deepEqual(c.peek('a', 1000, 1000), { count: 0, resetAtMs: 2000 }, 'a window ends at its reset time');
  t.deepEqual(c.hit('a', 1000, 1000), { count: 1, resetAtMs: 2000 });
});

test('the memory counter never holds more than maxKeys keys, and drops expired windows', (t) => {
  const c = new MemoryWindowCounter(100);
  for (let i = 0; i < 1000; i++) c.hit(`k${i}`, 60_000, i);
  t.is(c.size, 100, 'bounded by maxKeys');
  t.is(c.peek('k999', 60_000, 1000).count, 1, 'the newest keys are kept');
  t.is(c.peek('k0', 60_000, 1000).count, 0, 'the oldest keys went first');
  // Once the window has passed, the next hit sweeps every expired key.
  c.hit('late', 60_000, 200_000);
  t.is(c.size, 1);
});

test('RateLimit fields follow draft-ietf-httpapi-ratelimit-headers: "name";q;w and "name";r;t', (t) => {
  const h = rateLimitHeaders({ name: 'client', limit: 6000, windowSeconds: 60 }, { count: 10, resetAtMs: 30_500 }, 1000);
  t.deepEqual(h, { 'RateLimit-Policy': '"client";q=6000;w=60', RateLimit: '"client";r=5990;t=30' });
  const over = rateLimitHeaders({ name: 'client', limit: 5, windowSeconds: 60 }, { count: 9, resetAtMs: 2000 }, 1000);
  t.is(over.RateLimit, '"client";r=0;t=1', 'remaining never goes negative');
});

test('rate-limit settings: defaults, 0 turns a limit off, bad values stop start-up', (t) => {
  const c = loadConfig({});
  t.is(c.rateLimitAuthFailures, 20);
  t.is(c.rateLimitClientRequests, 6000);
  t.is(c.rateLimitWindowSeconds, 60);
  t.is(loadConfig({ RATE_LIMIT_CLIENT_REQUESTS: '0' }).rateLimitClientRequests, 0);
  t.throws(() => loadConfig({ RATE_LIMIT_WINDOW_SECONDS: '0' }), { instanceOf: ConfigError, message: /RATE_LIMIT_WINDOW_SECONDS/ });
  t.throws(() => loadConfig({ RATE_LIMIT_AUTH_FAILURES: '-1' }), { instanceOf: ConfigError, message: /RATE_LIMIT_AUTH_FAILURES/ });
});

// ---- failed authentication per address ----

test('20 failed client authentications from one address, then 429 with Retry-After and RateLimit fields until the window passes', async (t) => {
  const s = await server({});
  t.teardown(s.close);
  const { clientId, secret, auth, token } = await standardSetup(s);
  const wrong = basic(clientId, 'not-the-secret');
  for (let i = 1; i <= 20; i++) {
    const res = await s.request.post('/introspect').set('Authorization', wrong).type('form').send({ token });
    t.is(res.status, 401);
    if (i === 20) t.is(res.headers.ratelimit, '"auth_failures";r=0;t=60', 'a 401 tells how many failures are left');
  }
  const refused = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(refused.status, 429, 'even the right credentials are refused from that address now');
  t.deepEqual(refused.body, { error: 'too_many_requests', error_description: 'too many failed authentication attempts from this address' });
  t.is(refused.headers['retry-after'], '60');
  t.is(refused.headers['ratelimit-policy'], '"auth_failures";q=20;w=60');
  t.is(refused.headers.ratelimit, '"auth_failures";r=0;t=60');
  t.is(refused.headers['cache-control'], 'no-store');
  // The other authenticated endpoints are closed to it as well; public ones are not.
  t.is((await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: token })).status, 429);
  t.is((await s.request.post('/revoke').type('form').send({ token, client_id: clientId, client_secret: secret })).status, 429);
  // Spellings the router also accepts do not get around the limit; others name no route (paths are case-sensitive).
  for (const path of ['/introspect/', '/admin/clients']) {
    t.is((await s.request.post(path).set('Authorization', auth).type('form').send({ token })).status, 429, path);
  }
  for (const path of ['/INTROSPECT', '/Admin/clients']) {
    t.is((await s.request.post(path).set('Authorization', auth).type('form').send({ token })).status, 404, path);
  }
  t.is((await s.request.get('/healthz')).status, 200);
  t.is((await s.request.get('/.well-known/oauth-authorization-server')).status, 200);

  s.clock.advance(30);
  const later = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(later.status, 429);
  t.is(later.headers['retry-after'], '30');
  s.clock.advance(30);
  const ok = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(ok.status, 200, 'a new window lets the address in again');
  t.true(ok.body.active);
});

test('failed admin authentication counts against the same address budget', async (t) => {
  const s = await server({ RATE_LIMIT_AUTH_FAILURES: '3' });
  t.teardown(s.close);
  for (let i = 0; i < 3; i++) {
    t.is((await s.request.get('/admin/clients').set('Authorization', 'Bearer wrong-admin-token')).status, 401);
  }
  const refused = await s.request.get('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  t.is(refused.status, 429);
  t.is(refused.body.error, 'too_many_requests');
  t.is(refused.headers['ratelimit-policy'], '"auth_failures";q=3;w=60');
  s.clock.advance(60);
  t.is((await s.request.get('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`)).status, 200);
});

test('addresses are counted apart; X-Forwarded-For is honoured only with TRUST_PROXY', async (t) => {
  const trusting = await server({ RATE_LIMIT_AUTH_FAILURES: '2', TRUST_PROXY: 'true' });
  t.teardown(trusting.close);
  const bad = basic('nobody', 'nothing');
  for (let i = 0; i < 2; i++) await trusting.request.post('/introspect').set('X-Forwarded-For', '203.0.113.1').set('Authorization', bad).type('form').send({ token: 'x' });
  t.is((await trusting.request.post('/introspect').set('X-Forwarded-For', '203.0.113.1').set('Authorization', bad).type('form').send({ token: 'x' })).status, 429);
  t.is((await trusting.request.post('/introspect').set('X-Forwarded-For', '203.0.113.2').set('Authorization', bad).type('form').send({ token: 'x' })).status, 401);

  // Without TRUST_PROXY a forged header does not buy a fresh budget.
  const direct = await server({ RATE_LIMIT_AUTH_FAILURES: '2' });
  t.teardown(direct.close);
  for (let i = 0; i < 2; i++) await direct.request.post('/introspect').set('X-Forwarded-For', `198.51.100.${i}`).set('Authorization', bad).type('form').send({ token: 'x' });
  t.is((await direct.request.post('/introspect').set('X-Forwarded-For', '198.51.100.9').set('Authorization', bad).type('form').send({ token: 'x' })).status, 429);
});

// ---- requests per client ----

test('each client has its own request budget across introspection, validation and revocation', async (t) => {
  const s = await server({ RATE_LIMIT_CLIENT_REQUESTS: '4' });
  t.teardown(s.close);
  const { auth, token } = await standardSetup(s);
  const other = await s.admin.createClient();
  const first = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(first.status, 200);
  t.is(first.headers['ratelimit-policy'], '"client";q=4;w=60');
  t.is(first.headers.ratelimit, '"client";r=3;t=60');
  t.is((await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: token })).headers.ratelimit, '"client";r=2;t=60');
  t.is((await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: 'x' })).headers.ratelimit, '"client";r=1;t=60');
  t.is((await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token: 'x' })).headers.ratelimit, '"client";r=0;t=60');

  s.clock.advance(15);
  const over = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(over.status, 429);
  t.deepEqual(over.body, { error: 'too_many_requests', error_description: 'request budget of this client exhausted' });
  t.is(over.headers['retry-after'], '45');
  t.is(over.headers.ratelimit, '"client";r=0;t=45');
  t.is((await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: token })).status, 429);
  t.is((await s.request.post('/introspect').set('Authorization', basic(other.client_id, other.client_secret)).type('form').send({ token })).status, 200, 'another client is not affected');
  // A wrong secret for the exhausted client is a plain 401: unauthenticated calls never touch a client's budget.
  t.is((await s.request.post('/introspect').set('Authorization', basic(other.client_id, 'wrong')).type('form').send({ token })).status, 401);

  s.clock.advance(45);
  t.is((await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token })).status, 200);
  const metrics = await s.request.get('/metrics');
  t.regex(metrics.text, /^rate_limited_total\{kind="client"\} 2$/m, 'each refusal is counted in /metrics');
});

test('limits set to 0 are off', async (t) => {
  const s = await server({ RATE_LIMIT_CLIENT_REQUESTS: '0', RATE_LIMIT_AUTH_FAILURES: '0' });
  t.teardown(s.close);
  const { auth, token, clientId } = await standardSetup(s);
  for (let i = 0; i < 30; i++) await s.request.post('/introspect').set('Authorization', basic(clientId, 'wrong')).type('form').send({ token });
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(res.status, 200);
  t.is(res.headers.ratelimit, undefined);
});

test('the first refusal of a window writes one rate_limited audit line with ids and no secret', async (t) => {
  const sink = captureLogs();
  const s = await server({ RATE_LIMIT_CLIENT_REQUESTS: '1', RATE_LIMIT_AUTH_FAILURES: '1' }, sink.logger);
  t.teardown(s.close);
  const { clientId, secret, auth, token } = await standardSetup(s);
  for (let i = 0; i < 3; i++) await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  const wrongSecret = 'wrong-secret-never-logged';
  for (let i = 0; i < 3; i++) await s.request.post('/introspect').set('Authorization', basic(clientId, wrongSecret)).type('form').send({ token });
  const events = sink.lines.filter((l) => l.event === 'rate_limited');
  t.is(events.length, 2, JSON.stringify(events));
  t.like(events[0], { level: 'warn', msg: 'audit', policy: 'client', client_id: clientId, ip: '127.0.0.1' });
  t.like(events[1], { level: 'warn', msg: 'audit', policy: 'auth_failures', ip: '127.0.0.1' });
  t.is(sink.lines.filter((l) => l.msg === 'request' && l.status === 429).length, 4);
  for (const line of sink.raw) for (const s of [secret, token, wrongSecret, ADMIN_TOKEN]) t.false(line.includes(s));
});
