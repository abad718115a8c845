import { apiTest, standardSetup } from '../helpers/app.js';

const PATH = '/api/v1/auth/token/validate';

apiTest('validate: a valid token', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const res = await s.request.post(PATH).set('Authorization', auth).send({ auth_token: token });
  t.is(res.status, 200);
  t.is(res.headers['cache-control'], 'no-store');
  t.deepEqual(res.body, {
    valid: true, reason: null, customer_id: 'c1', site_id: 'site-a', audience: [s.config.issuer],
    expires_at: new Date(s.clock.now().getTime() + 3600_000).toISOString(), expires_in: 3600,
  });
});

apiTest('validate: an expired token says how long ago, with a negative expires_in', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  s.clock.advance(3600 + 33 * 60);
  const res = await s.request.post(PATH).set('Authorization', auth).send({ auth_token: token });
  t.deepEqual(res.body, {
    valid: false, reason: 'expired', message: 'Token expired 33 minutes ago',
    expires_at: new Date(s.clock.now().getTime() - 33 * 60_000).toISOString(), expires_in: -1980,
  });
});

apiTest('validate: a revoked token', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  await s.request.post('/admin/customers/c1/revoke-tokens').set('Authorization', `Bearer ${s.config.adminToken}`).expect(200);
  const res = await s.request.post(PATH).set('Authorization', auth).send({ auth_token: token });
  t.is(res.body.valid, false);
  t.is(res.body.reason, 'revoked');
  t.is(res.body.message, 'Token has been revoked');
  t.is(res.body.expires_in, 3600);
});

apiTest('validate: an invalid format omits the unknown fields and never echoes the token', async (t, s) => {
  const { auth } = await standardSetup(s);
  const garbage = 'garbage-token-value-123';
  const res = await s.request.post(PATH).set('Authorization', auth).send({ auth_token: garbage });
  t.deepEqual(res.body, { valid: false, reason: 'malformed', message: 'Token is not a well-formed Open Login token' });
  t.false(res.text.includes(garbage));
});

apiTest('validate: a disabled customer', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  await s.admin.upsertCustomer('c1', { status: 'disabled' });
  const res = await s.request.post(PATH).set('Authorization', auth).send({ auth_token: token });
  t.is(res.body.reason, 'customer_disabled');
  t.false('customer_id' in res.body);
});

apiTest('validate: body errors are 400 invalid_request', async (t, s) => {
  const { auth } = await standardSetup(s);
  const cases: [string, string | object, string][] = [
    ['bad JSON', '{"auth_token":', 'application/json'],
    ['form body', 'auth_token=x', 'application/x-www-form-urlencoded'],
    ['missing token', {}, 'application/json'],
    ['empty token', { auth_token: '' }, 'application/json'],
    ['number token', { auth_token: 42 }, 'application/json'],
    ['object token', { auth_token: { $ne: null } }, 'application/json'],
    ['array body', [1, 2], 'application/json'],
    ['null body', 'null', 'application/json'],
  ];
  for (const [name, body, type] of cases) {
    const res = await s.request.post(PATH).set('Authorization', auth).set('Content-Type', type).send(body as string);
    t.is(res.status, 400, name);
    t.is(res.body.error, 'invalid_request', name);
  }
});

apiTest('validate: wrong or missing client credentials are 401', async (t, s) => {
  const { clientId, token } = await standardSetup(s);
  const none = await s.request.post(PATH).send({ auth_token: token });
  t.is(none.status, 401);
  t.is(none.body.error, 'invalid_client');
  const wrong = await s.request.post(PATH).send({ auth_token: token, client_id: clientId, client_secret: 'nope' });
  t.is(wrong.status, 401);
});

apiTest('validate: client_secret_post clients send credentials in the JSON body', async (t, s) => {
  const c = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  await s.admin.upsertCustomer('c1');
  const { auth_token } = await s.admin.issueToken({ customer_id: 'c1' });
  const res = await s.request.post(PATH).send({ auth_token, client_id: c.client_id, client_secret: c.client_secret });
  t.is(res.body.valid, true);
  t.is(res.body.site_id, null);
});

apiTest('validate: clients without reason codes get only {"valid": false}', async (t, s) => {
  await standardSetup(s);
  const c = await s.admin.createClient({ reason_codes: false });
  const res = await s.request.post(PATH).set('Authorization', `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`).send({ auth_token: 'junk' });
  t.deepEqual(res.body, { valid: false });
});
