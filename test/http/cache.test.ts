import test, { type ExecutionContext } from 'ava';
import { CachedStore } from '../../src/cache/store.js';
import type { Store } from '../../src/store/types.js';
import { backends, standardSetup, startTestServer, type TestServer } from '../helpers/app.js';

const TTL_SECONDS = 5;

/**
 * Like apiTest, with the app serving from a CachedStore (5 s staleness
 * bound) on the test server's fixed clock. `inner` is the store underneath:
 * writing it directly is what another service writing the database does.
 */
function cachedApiTest(title: string, fn: (t: ExecutionContext, s: TestServer, inner: Store, cache: CachedStore) => Promise<void>): void {
  for (const backend of backends()) {
    test(`[${backend.name}] cache: ${title}`, async (t) => {
      const { store: inner, cleanup } = await backend.make();
      // The server makes the fixed clock; the cache, made first, reads it through this reference.
      const ref: { server?: TestServer } = {};
      const clock = { now: () => ref.server!.clock.now() };
      const cache = new CachedStore(inner, { ttlSeconds: TTL_SECONDS, maxEntries: 1000, clock });
      const server = (ref.server = await startTestServer(cache));
      try {
        await fn(t, server, inner, cache);
      } finally {
        await server.close();
        await cleanup();
      }
    });
  }
}

const introspect = (s: TestServer, auth: string, token: string) =>
  s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });

cachedApiTest('a revocation through /revoke takes effect at once', async (t, s) => {
  const { auth, clientId } = await standardSetup(s);
  // RFC 7009 §2.1: a client revokes tokens issued to it.
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId });
  const { auth_token: opaque } = await s.admin.issueToken({ customer_id: 'c1', client_id: clientId, format: 'opaque' });
  for (const tok of [token, opaque]) {
    t.true((await introspect(s, auth, tok)).body.active);
    t.true((await introspect(s, auth, tok)).body.active, 'second answer comes from the cache');
    await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token: tok }).expect(200);
    t.deepEqual((await introspect(s, auth, tok)).body, { active: false, reason: 'revoked' });
  }
});

cachedApiTest('admin revocations (one token, all of a customer) take effect at once', async (t, s) => {
  const { auth, token, jti } = await standardSetup(s);
  const second = await s.admin.issueToken({ customer_id: 'c1', format: 'opaque' });
  t.true((await introspect(s, auth, token)).body.active);
  t.true((await introspect(s, auth, second.auth_token)).body.active);
  const admin = { Authorization: `Bearer ${s.config.adminToken}` };
  await s.request.post('/admin/tokens/revoke').set(admin).send({ jti }).expect(200);
  t.is((await introspect(s, auth, token)).body.reason, 'revoked');
  t.true((await introspect(s, auth, second.auth_token)).body.active);
  await s.request.post('/admin/customers/c1/revoke-tokens').set(admin).expect(200);
  t.is((await introspect(s, auth, second.auth_token)).body.reason, 'revoked');
});

cachedApiTest('disabling a customer takes effect at once', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  t.true((await introspect(s, auth, token)).body.active);
  await s.admin.upsertCustomer('c1', { status: 'disabled' });
  t.deepEqual((await introspect(s, auth, token)).body, { active: false, reason: 'customer_disabled' });
});

cachedApiTest('a write made outside this server is seen within the staleness bound', async (t, s, inner) => {
  const { auth, token, jti } = await standardSetup(s);
  t.true((await introspect(s, auth, token)).body.active);
  // The login service revokes by writing the database itself.
  await inner.grants.revoke(jti, s.clock.now());
  s.clock.advance(TTL_SECONDS - 1);
  t.true((await introspect(s, auth, token)).body.active, 'still inside the bound: the cached grant may answer');
  s.clock.advance(1);
  t.deepEqual((await introspect(s, auth, token)).body, { active: false, reason: 'revoked' });
});

cachedApiTest('a cached token is never active past its expiry', async (t, s) => {
  const { auth } = await standardSetup(s);
  const jwt = await s.admin.issueToken({ customer_id: 'c1', expires_in: 3 });
  const opaque = await s.admin.issueToken({ customer_id: 'c1', expires_in: 3, format: 'opaque' });
  for (const tok of [jwt.auth_token, opaque.auth_token]) t.true((await introspect(s, auth, tok)).body.active);
  s.clock.advance(3);
  for (const tok of [jwt.auth_token, opaque.auth_token]) t.deepEqual((await introspect(s, auth, tok)).body, { active: false, reason: 'expired' });
});

cachedApiTest('client records are cached and a wrong secret is still refused', async (t, s) => {
  const { auth, token, clientId } = await standardSetup(s);
  t.true((await introspect(s, auth, token)).body.active);
  const wrong = `Basic ${Buffer.from(`${clientId}:not-the-secret`).toString('base64')}`;
  t.is((await introspect(s, wrong, token)).status, 401);
});

cachedApiTest('readiness reports the cached store', async (t, s, inner) => {
  const res = await s.request.get('/readyz');
  t.is(res.status, 200);
  t.is(res.body.store, inner.kind);
});
