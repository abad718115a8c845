/**
 * Adversarial: behind a reverse proxy, the caller's address is the one the
 * trusted hops saw, never a value the caller wrote. `X-Forwarded-For` is read
 * from the right, and only as far as the configured hops go.
 */
import test from 'ava';
import { ConfigError, loadConfig, type ConfigInput } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { basic, standardSetup, startTestServer } from '../helpers/app.js';

async function server(env: ConfigInput) {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  return startTestServer(store, { env: { RATE_LIMIT_AUTH_FAILURES: '2', ...env } });
}

for (const trust of ['1', 'true', 'loopback']) {
  test(`TRUST_PROXY=${trust}: rotating the leftmost X-Forwarded-For entry does not escape the failed-login limit`, async (t) => {
    const s = await server({ TRUST_PROXY: trust });
    try {
      const { clientId, token } = await standardSetup(s);
      const bad = basic(clientId, 'wrong');
      const attempt = (xff: string) => s.request.post('/introspect').set('X-Forwarded-For', xff).set('Authorization', bad).type('form').send({ token });
      // The proxy appends the address it saw (203.0.113.7); the caller writes whatever it likes before it.
      t.is((await attempt('198.51.100.1, 203.0.113.7')).status, 401);
      t.is((await attempt('198.51.100.2, 203.0.113.7')).status, 401);
      t.is((await attempt('198.51.100.3, 203.0.113.7')).status, 429);
      t.is((await attempt('198.51.100.4,203.0.113.7')).status, 429);
    } finally {
      await s.close();
    }
  });

  test(`TRUST_PROXY=${trust}: spoofing a victim's address in X-Forwarded-For does not lock the victim out`, async (t) => {
    const s = await server({ TRUST_PROXY: trust });
    try {
      const { clientId, auth, token } = await standardSetup(s);
      const bad = basic(clientId, 'wrong');
      for (let i = 0; i < 5; i++) {
        await s.request.post('/introspect').set('X-Forwarded-For', '192.0.2.50, 203.0.113.7').set('Authorization', bad).type('form').send({ token });
      }
      // The victim, 192.0.2.50, behind the same proxy.
      const victim = await s.request.post('/introspect').set('X-Forwarded-For', '192.0.2.50').set('Authorization', auth).type('form').send({ token });
      t.is(victim.status, 200);
      t.true(victim.body.active);
    } finally {
      await s.close();
    }
  });
}

test('TRUST_PROXY=2 reads two hops from the right; addresses beyond are the caller\'s words', async (t) => {
  const s = await server({ TRUST_PROXY: '2' });
  try {
    const { clientId, token } = await standardSetup(s);
    const bad = basic(clientId, 'wrong');
    const attempt = (xff: string) => s.request.post('/introspect').set('X-Forwarded-For', xff).set('Authorization', bad).type('form').send({ token });
    t.is((await attempt('1.1.1.1, 203.0.113.7, 10.0.0.2')).status, 401);
    t.is((await attempt('2.2.2.2, 203.0.113.7, 10.0.0.2')).status, 401);
    t.is((await attempt('3.3.3.3, 203.0.113.7, 10.0.0.2')).status, 429);
    t.is((await attempt('203.0.113.8, 10.0.0.2')).status, 401, 'another client of the same edge proxy has its own count');
  } finally {
    await s.close();
  }
});

test('without TRUST_PROXY, and from a peer that is not a trusted proxy, X-Forwarded-For is ignored', async (t) => {
  for (const env of [{}, { TRUST_PROXY: '10.0.0.0/8' }]) {
    const s = await server(env);
    try {
      const { clientId, token } = await standardSetup(s);
      const bad = basic(clientId, 'wrong');
      for (let i = 0; i < 2; i++) await s.request.post('/introspect').set('X-Forwarded-For', `198.51.100.${i}`).set('Authorization', bad).type('form').send({ token });
      t.is((await s.request.post('/introspect').set('X-Forwarded-For', '198.51.100.9').set('Authorization', bad).type('form').send({ token })).status, 429, JSON.stringify(env));
    } finally {
      await s.close();
    }
  }
});

test('TRUST_PROXY takes false, a hop count, or addresses and ranges; anything else stops start-up', (t) => {
  t.is(loadConfig({}).trustProxy.hops, 0);
  t.is(loadConfig({ TRUST_PROXY: 'false' }).trustProxy.hops, 0);
  t.is(loadConfig({ TRUST_PROXY: 'true' }).trustProxy.hops, 1);
  t.is(loadConfig({ TRUST_PROXY: '3' }).trustProxy.hops, 3);
  t.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).trustProxy.addresses, ['loopback', '10.0.0.0/8', 'fd00::1']);
  for (const bad of ['maybe', '10.0.0.0/99', '-1', '1.2.3', 'example.com']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), { instanceOf: ConfigError, message: /^TRUST_PROXY/ }, bad);
  }
});
