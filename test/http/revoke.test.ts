import { apiTest, basic, standardSetup } from '../helpers/app.js';

apiTest('revoke: a revoked JWT stops being active at once', async (t, s) => {
  const { auth, clientId } = await standardSetup(s);
  // RFC 7009 §2.1: a client revokes tokens issued to it.
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId });
  const res = await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token, token_type_hint: 'access_token' });
  t.is(res.status, 200);
  t.is(res.headers['cache-control'], 'no-store');
  const after = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(after.body, { active: false, reason: 'revoked' });
});

apiTest('revoke: opaque tokens too', async (t, s) => {
  const { auth, clientId } = await standardSetup(s);
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', client_id: clientId, format: 'opaque' });
  await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token }).expect(200);
  const after = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.is(after.body.reason, 'revoked');
});

apiTest('revoke: unknown and malformed tokens answer 200 (RFC 7009 §2.2)', async (t, s) => {
  const { auth } = await standardSetup(s);
  for (const token of ['unknown', `olt_${'B'.repeat(43)}`]) {
    const res = await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token });
    t.is(res.status, 200);
  }
});

apiTest('revoke: a client cannot revoke tokens of sites it may not see', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const other = await s.admin.createClient({ site_ids: ['site-b'] });
  const res = await s.request.post('/revoke').set('Authorization', basic(other.client_id, other.client_secret)).type('form').send({ token });
  t.is(res.status, 200);
  const still = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.true(still.body.active);
});

apiTest('revoke: a token issued to another client is refused (RFC 7009 §2.1), and stays active', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const res = await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token });
  t.is(res.status, 400);
  t.is(res.body.error, 'invalid_request');
  t.is(res.headers['cache-control'], 'no-store');
  const still = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.true(still.body.active);
});

apiTest('revoke: client authentication and the token parameter are required', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const unauth = await s.request.post('/revoke').type('form').send({ token });
  t.is(unauth.status, 401);
  t.is(unauth.body.error, 'invalid_client');
  const missing = await s.request.post('/revoke').set('Authorization', auth).type('form').send({});
  t.is(missing.status, 400);
  t.is(missing.body.error, 'invalid_request');
  const still = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.true(still.body.active);
});
