import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { toNumericDate } from '../../src/core/clock.js';
import { ADMIN_TOKEN, apiTest, ISSUER, standardSetup, type TestServer } from '../helpers/app.js';

const JWT_TYPE = 'application/token-introspection+jwt';

/** Verifies a signed answer the way a client would: with the keys from /jwks.json. */
async function verifyAnswer(s: TestServer, jwt: string, clientId: string) {
  const jwks = (await s.request.get('/jwks.json')).body;
  return jwtVerify(jwt, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: clientId,
    typ: 'token-introspection+jwt',
    currentDate: s.clock.now(),
  });
}

apiTest('RFC 9701: a registered client asking for a JWT gets the introspection answer signed with the current key', async (t, s) => {
  const c = await standardSetup(s, { introspection_signed_response_alg: 'ES256' });
  const registered = await s.request.get(`/admin/clients/${c.clientId}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  t.is(registered.body.introspection_signed_response_alg, 'ES256');

  const plain = await s.request.post('/introspect').set('Authorization', c.auth).type('form').send({ token: c.token });
  const res = await s.request.post('/introspect').set('Authorization', c.auth).set('Accept', JWT_TYPE).type('form').send({ token: c.token }).buffer(true).parse((r, done) => {
    let text = '';
    r.on('data', (chunk: Buffer) => (text += chunk.toString()));
    r.on('end', () => done(null, text));
  });
  t.is(res.status, 200);
  t.is(res.headers['content-type'], JWT_TYPE);
  t.is(res.headers['cache-control'], 'no-store');
  t.regex(res.headers.vary ?? '', /Accept/);
  const jwt = res.body as string;
  const header = decodeProtectedHeader(jwt);
  t.is(header.typ, 'token-introspection+jwt');
  t.is(header.kid, s.keys.current.kid);
  t.is(header.alg, 'ES256');
  const { payload } = await verifyAnswer(s, jwt, c.clientId);
  t.is(payload.iss, ISSUER);
  t.is(payload.aud, c.clientId);
  t.is(payload.iat, toNumericDate(s.clock.now()));
  t.deepEqual(payload.token_introspection, plain.body, 'the same answer as the JSON one');
  t.is((payload.token_introspection as { active: boolean }).active, true);
});

apiTest('RFC 9701: inactive answers are signed too, with the reason for clients that see reasons', async (t, s) => {
  const c = await standardSetup(s, { introspection_signed_response_alg: 'ES256' });
  // RFC 7009 §2.1: a client revokes tokens issued to it.
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: c.clientId });
  await s.request.post('/revoke').set('Authorization', c.auth).type('form').send({ token });
  const res = await s.request.post('/introspect').set('Authorization', c.auth).set('Accept', JWT_TYPE).type('form').send({ token }).buffer(true).parse((r, done) => {
    let text = '';
    r.on('data', (chunk: Buffer) => (text += chunk.toString()));
    r.on('end', () => done(null, text));
  });
  t.is(res.headers['content-type'], JWT_TYPE);
  const { payload } = await verifyAnswer(s, res.body as string, c.clientId);
  t.deepEqual(payload.token_introspection, { active: false, reason: 'revoked' });
});

apiTest('RFC 9701: a client not registered for signed answers gets JSON even when it asks for a JWT', async (t, s) => {
  const c = await standardSetup(s);
  const res = await s.request.post('/introspect').set('Authorization', c.auth).set('Accept', JWT_TYPE).type('form').send({ token: c.token });
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^application\/json/);
  t.is(res.body.active, true);
});

apiTest('RFC 9701: a registered client that does not ask (no Accept, JSON, or a wildcard) gets JSON', async (t, s) => {
  const c = await standardSetup(s, { introspection_signed_response_alg: 'ES256' });
  for (const accept of [undefined, 'application/json', '*/*', `application/json, ${JWT_TYPE};q=0.5`]) {
    const req = s.request.post('/introspect').set('Authorization', c.auth).type('form');
    if (accept) req.set('Accept', accept);
    const res = await req.send({ token: c.token });
    t.regex(res.headers['content-type']!, /^application\/json/, String(accept));
    t.is(res.body.active, true, String(accept));
  }
});

apiTest('RFC 9701: only the server key algorithm can be registered; the validation endpoint stays JSON', async (t, s) => {
  const bad = await s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x', introspection_signed_response_alg: 'none' });
  t.is(bad.status, 400);
  t.regex(bad.body.error_description, /^introspection_signed_response_alg: must be ES256/);
  const c = await standardSetup(s, { introspection_signed_response_alg: 'ES256' });
  const res = await s.request.post('/api/v1/auth/token/validate').set('Authorization', c.auth).set('Accept', JWT_TYPE).send({ auth_token: c.token });
  t.regex(res.headers['content-type']!, /^application\/json/);
  t.is(res.body.valid, true);
});
