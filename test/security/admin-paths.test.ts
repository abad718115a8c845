/**
 * Adversarial: an admin handler is reached through the admin guard or not at
 * all, whatever the spelling of the path (case, trailing or doubled slash,
 * dot segments, percent-encoding, absolute-form targets) and the method.
 */
import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, startTestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { rawRequest, wire } from '../helpers/raw-http.js';

/** Spellings of one admin path that a lenient matcher might take for it. */
function spellings(path: string): string[] {
  const rest = path.slice('/admin'.length);
  return [
    path,
    `/Admin${rest}`,
    `/ADMIN${rest.toUpperCase()}`,
    `/aDmIn${rest}`,
    `${path}/`,
    `/${path}`,
    `/admin/${rest}`,
    `/./admin${rest}`,
    `/x/../admin${rest}`,
    `/admin/.${rest}`,
    `/%61dmin${rest}`,
    `/admin${rest.replace('/', '%2F')}`,
    `/%41dmin${rest}`,
    `${path};x`,
    `${path}%00`,
    `http://127.0.0.1${path}`,
    `http://127.0.0.1/Admin${rest}`,
  ];
}

const WRITES: Array<[string, string, string | undefined]> = [
  ['POST', '/admin/clients', '{"name":"x"}'],
  ['POST', '/admin/tokens', '{"customer_id":"c1"}'],
  ['PUT', '/admin/customers/c1', '{"status":"active"}'],
  ['POST', '/admin/customers/c1/revoke-tokens', undefined],
  ['POST', '/admin/customers/c1/disable', undefined],
  ['POST', '/admin/tokens/revoke', '{"jti":"j1"}'],
  ['GET', '/admin/clients', undefined],
  ['GET', '/admin/customers/c1', undefined],
];

test('no spelling of an admin path reaches its handler without the admin token', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { logger, lines } = captureLogs();
  // No failed-login limit here: every spelling must be refused by the guard, not by the limiter.
  const s = await startTestServer(store, { logger, env: { RATE_LIMIT_AUTH_FAILURES: '0' } });
  try {
    await s.admin.upsertCustomer('c1');
    const before = (await store.customers.findById('c1'))!.updatedAt;
    let attempts = 0;
    for (const [method, path, body] of WRITES) {
      for (const target of spellings(path)) {
        for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`]) {
          const fields: Record<string, string> = body !== undefined ? { 'Content-Type': 'application/json' } : {};
          if (authorization) fields.Authorization = authorization;
          const res = await rawRequest(s.port, wire(method, target, fields, body));
          attempts += 1;
          t.false(res.status < 300, `${method} ${target} (${authorization?.split(' ')[0] ?? 'no credentials'}) answered ${res.status}`);
          t.true([400, 401, 404, 405].includes(res.status), `${method} ${target}: ${res.status}`);
          t.regex(res.headers['content-type'] ?? '', /^application\/json/, `${method} ${target} answers JSON`);
        }
      }
    }
    t.true(attempts > 300);
    t.deepEqual(await store.clients.list(), [], 'no client was registered');
    t.is((await store.customers.findById('c1'))!.updatedAt.getTime(), before.getTime(), 'the customer was not changed');
    // Every refusal by the guard leaves an audit line.
    t.true(lines.some((l) => l.event === 'admin.auth_failed'));
  } finally {
    await s.close();
  }
});

test('the admin token still works on the canonical paths, and a failed admin authentication is audited with its address', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { logger, lines } = captureLogs();
  const s = await startTestServer(store, { logger });
  try {
    const created = await s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x' });
    t.is(created.status, 201);
    const refused = await rawRequest(s.port, wire('POST', '/Admin/clients', { 'Content-Type': 'application/json' }, '{"name":"y"}'));
    t.not(refused.status, 201);
    const refusedBearer = await s.request.post('/admin/clients').set('Authorization', 'Bearer nope').send({ name: 'y' });
    t.is(refusedBearer.status, 401);
    const audit = lines.filter((l) => l.event === 'admin.auth_failed');
    t.true(audit.length >= 1);
    t.truthy(audit[0]!.ip);
    t.is((await store.clients.list()).length, 1);
  } finally {
    await s.close();
  }
});
