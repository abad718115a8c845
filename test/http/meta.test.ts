import test from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { apiTest, downStore, ISSUER, standardSetup, startTestServer } from '../helpers/app.js';

apiTest('discovery metadata follows RFC 8414', async (t, s) => {
  const res = await s.request.get('/.well-known/oauth-authorization-server');
  t.is(res.status, 200);
  t.is(res.body.issuer, ISSUER);
  t.is(res.body.introspection_endpoint, `${ISSUER}/introspect`);
  t.is(res.body.revocation_endpoint, `${ISSUER}/revoke`);
  t.is(res.body.jwks_uri, `${ISSUER}/jwks.json`);
  // Without CLIENT_SECRET_KEY there is no client_secret_jwt (nor HS256).
  t.deepEqual(res.body.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
  t.deepEqual(res.body.revocation_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
  t.deepEqual(res.body.introspection_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256', 'PS256']);
  t.deepEqual(res.body.revocation_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256', 'PS256']);
  t.deepEqual(res.body.introspection_signing_alg_values_supported, ['ES256']);
  t.deepEqual(res.body.response_types_supported, []);
});

apiTest(
  'discovery metadata advertises client_secret_jwt and HS256 when CLIENT_SECRET_KEY is set',
  async (t, s) => {
    const res = await s.request.get('/.well-known/oauth-authorization-server');
    const all = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'];
    t.deepEqual(res.body.introspection_endpoint_auth_methods_supported, all);
    t.deepEqual(res.body.revocation_endpoint_auth_methods_supported, all);
    t.deepEqual(res.body.introspection_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256', 'PS256', 'HS256']);
  },
  { env: { CLIENT_SECRET_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' } },
);

apiTest('jwks.json has public keys only, and they verify issued tokens', async (t, s) => {
  const { token } = await standardSetup(s);
  const res = await s.request.get('/jwks.json');
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /application\/jwk-set\+json/);
  t.is(res.body.keys.length, 1);
  for (const key of res.body.keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.false(priv in key, priv);
    t.is(key.kid, s.keys.current.kid);
  }
  const { payload } = await jwtVerify(token, createLocalJWKSet(res.body), { currentDate: s.clock.now() });
  t.is(payload.sub, 'c1');
});

apiTest('healthz and readyz', async (t, s) => {
  t.deepEqual((await s.request.get('/healthz')).body, { status: 'ok' });
  const ready = await s.request.get('/readyz');
  t.is(ready.status, 200);
  t.is(ready.body.status, 'ready');
  t.is(ready.body.store, s.store.kind);
});

apiTest('unknown paths are JSON 404s', async (t, s) => {
  const res = await s.request.get('/nope');
  t.is(res.status, 404);
  t.deepEqual(res.body, { error: 'not_found', error_description: 'no such endpoint' });
});


test('when the store is down: readyz 503, introspection 503 temporarily_unavailable', async (t) => {
  const store = downStore();
  const s = await startTestServer(store);
  try {
    const ready = await s.request.get('/readyz');
    t.is(ready.status, 503);
    t.is(ready.body.status, 'unavailable');
    t.deepEqual((await s.request.get('/healthz')).body, { status: 'ok' });
    const res = await s.request.post('/introspect').set('Authorization', 'Basic YTpi').type('form').send({ token: 'x' });
    t.is(res.status, 503);
    t.is(res.body.error, 'temporarily_unavailable');
    t.is(res.headers['retry-after'], '1');
    t.is(res.headers['cache-control'], 'no-store');
  } finally {
    await s.close();
  }
});

apiTest('the key set and the metadata are cacheable for less than a retired key keeps verifying; every other answer is no-store', async (t, s) => {
  for (const path of ['/jwks.json', '/.well-known/oauth-authorization-server']) {
    for (const method of ['get', 'head'] as const) {
      const res = await s.request[method](path);
      t.is(res.status, 200, `${method} ${path}`);
      t.is(res.headers['cache-control'], 'public, max-age=60', `${method} ${path}`);
      t.is(res.headers.pragma, undefined, `${method} ${path}`);
    }
    // Shorter than the retirement window by far: a cached set never lacks a key that still verifies.
    t.true(60 < s.config.maxTokenTtlSeconds);
    // An error on the same path is not cached.
    const wrong = await s.request.post(path);
    t.true(wrong.status >= 400);
    t.is(wrong.headers['cache-control'], 'no-store', `POST ${path}`);
  }
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/no-such-path', '/admin/clients']) {
    t.is((await s.request.get(path)).headers['cache-control'], 'no-store', path);
  }
});
