import test from 'ava';
import { hashClientSecret } from '../../src/clients/client-auth.js';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/log.js';
import { ADMIN_TOKEN, apiTest, standardSetup, startTestServer } from '../helpers/app.js';

const bearer = `Bearer ${ADMIN_TOKEN}`;

test('the admin API is absent without ADMIN_TOKEN', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }), { env: { ADMIN_TOKEN: '' } });
  try {
    const res = await s.request.post('/admin/clients').set('Authorization', bearer).send({ name: 'x' });
    t.is(res.status, 404);
  } finally {
    await s.close();
  }
});

apiTest('admin: a wrong or missing admin token is 401 with WWW-Authenticate', async (t, s) => {
  for (const auth of [undefined, 'Bearer wrong', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`]) {
    const req = s.request.post('/admin/clients').send({ name: 'x' });
    if (auth) req.set('Authorization', auth);
    const res = await req;
    t.is(res.status, 401);
    t.is(res.body.error, 'invalid_token');
    t.regex(res.headers['www-authenticate']!, /^Bearer /);
  }
  t.deepEqual(await s.store.clients.list(), []);
});

apiTest('admin: client registration returns a 256-bit secret once and stores only its hash', async (t, s) => {
  const res = await s.request.post('/admin/clients').set('Authorization', bearer).send({ client_name: 'Energy Intel', site_ids: ['site-a'], reason_codes: false });
  t.is(res.status, 201);
  t.is(res.body.client_name, 'Energy Intel');
  t.is(res.body.token_endpoint_auth_method, 'client_secret_basic');
  t.deepEqual(res.body.site_ids, ['site-a']);
  t.is(res.body.reason_codes, false);
  t.is(res.body.client_secret_expires_at, 0);
  t.true(Buffer.from(res.body.client_secret, 'base64url').length >= 32);
  const stored = await s.store.clients.findById(res.body.client_id);
  t.is(stored?.secretHash, hashClientSecret(res.body.client_secret));
  t.false(JSON.stringify(stored).includes(res.body.client_secret));
  const list = await s.request.get('/admin/clients').set('Authorization', bearer);
  t.is(list.body.clients.length, 1);
  t.false(JSON.stringify(list.body).includes(res.body.client_secret));
  t.false('client_secret' in list.body.clients[0]);
});

apiTest('admin: bad client registrations are 400', async (t, s) => {
  const bodies = [{}, { name: '' }, { name: 'x', token_endpoint_auth_method: 'none' }, { name: 'x', reason_codes: 'yes' }, { name: 'x', site_ids: [{ $gt: '' }] }];
  for (const body of bodies) {
    const res = await s.request.post('/admin/clients').set('Authorization', bearer).send(body);
    t.is(res.status, 400, JSON.stringify(body));
    t.is(res.body.error, 'invalid_request');
  }
});

apiTest('admin: customers are created, updated and validated', async (t, s) => {
  const created = await s.request.put('/admin/customers/cust-9').set('Authorization', bearer).send({ status: 'active', email: 'e@example.test', first_name: 'Ada' });
  t.is(created.status, 201);
  const updated = await s.request.put('/admin/customers/cust-9').set('Authorization', bearer).send({ status: 'disabled' });
  t.is(updated.status, 200);
  t.is(updated.body.status, 'disabled');
  t.is(updated.body.email, 'e@example.test');
  t.is(updated.body.first_name, 'Ada');
  t.is((await s.store.customers.findById('cust-9'))?.status, 'disabled');
  const bad = await s.request.put('/admin/customers/cust-9').set('Authorization', bearer).send({ status: 'gone' });
  t.is(bad.status, 400);
  const badId = await s.request.put('/admin/customers/a%20b').set('Authorization', bearer).send({ status: 'active' });
  t.is(badId.status, 400);
});

apiTest('admin: issuing checks the customer, the lifetime and the format', async (t, s) => {
  await s.admin.upsertCustomer('c1');
  await s.admin.upsertCustomer('off', { status: 'disabled' });
  const cases: [object, RegExp][] = [
    [{ customer_id: 'ghost' }, /no such customer/],
    [{ customer_id: 'off' }, /disabled/],
    [{ customer_id: 'c1', expires_in: s.config.maxTokenTtlSeconds + 1 }, /expires_in/],
    [{ customer_id: 'c1', expires_in: -5 }, /expires_in/],
    [{ customer_id: 'c1', format: 'saml' }, /format/],
    [{ customer_id: { $ne: null } }, /customer_id/],
  ];
  for (const [body, message] of cases) {
    const res = await s.request.post('/admin/tokens').set('Authorization', bearer).send(body);
    t.is(res.status, 400, JSON.stringify(body));
    t.regex(res.body.error_description, message);
  }
  const ok = await s.request.post('/admin/tokens').set('Authorization', bearer).send({ customer_id: 'c1', expires_in: 60 });
  t.is(ok.status, 201);
  t.is(ok.body.token_type, 'Bearer');
  t.is(ok.body.expires_in, 60);
  t.is(ok.body.expires_at, new Date(s.clock.now().getTime() + 60_000).toISOString());
  t.truthy(await s.store.grants.findById(ok.body.jti));
});

apiTest('admin: revoke by token, by jti, and all of a customer', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const second = await s.admin.issueToken({ customer_id: 'c1', format: 'opaque' });
  const third = await s.admin.issueToken({ customer_id: 'c1' });
  const byToken = await s.request.post('/admin/tokens/revoke').set('Authorization', bearer).send({ auth_token: token });
  t.deepEqual(byToken.body, { revoked: 1 });
  const again = await s.request.post('/admin/tokens/revoke').set('Authorization', bearer).send({ auth_token: token });
  t.deepEqual(again.body, { revoked: 0 });
  const byJti = await s.request.post('/admin/tokens/revoke').set('Authorization', bearer).send({ jti: second.jti });
  t.deepEqual(byJti.body, { revoked: 1 });
  const all = await s.request.post('/admin/customers/c1/revoke-tokens').set('Authorization', bearer);
  t.deepEqual(all.body, { revoked: 1 });
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: third.auth_token });
  t.is(res.body.reason, 'revoked');
  const bad = await s.request.post('/admin/tokens/revoke').set('Authorization', bearer).send({});
  t.is(bad.status, 400);
});

apiTest('admin: disabling a customer disables an existing one and is 404 for an unknown id (nothing is created)', async (t, s) => {
  await s.admin.upsertCustomer('c1', { email: 'e@example.test' });
  const res = await s.request.post('/admin/customers/c1/disable').set('Authorization', bearer);
  t.is(res.status, 200);
  t.is(res.body.status, 'disabled');
  t.is(res.body.email, 'e@example.test');
  t.is((await s.store.customers.findById('c1'))?.status, 'disabled');
  const unknown = await s.request.post('/admin/customers/ghost/disable').set('Authorization', bearer);
  t.is(unknown.status, 404);
  t.deepEqual(unknown.body, { error: 'not_found', error_description: 'no such customer' });
  t.is(await s.store.customers.findById('ghost'), null);
});
