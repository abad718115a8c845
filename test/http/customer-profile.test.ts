import test from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, apiTest, basic, ISSUER, startTestServer, type TestServer } from '../helpers/app.js';
import { countingStore } from '../helpers/stores.js';

const JWT_TYPE = 'application/token-introspection+jwt';
const VALIDATE = '/api/v1/auth/token/validate';
const PROFILE = { username: 'ada.lovelace', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' };

/** The members of an active introspection answer before the profile permission existed. */
const ACTIVE_MEMBERS = ['active', 'aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'site_id', 'sub', 'token_type'];
const VALID_MEMBERS = ['audience', 'customer_id', 'expires_at', 'expires_in', 'reason', 'site_id', 'valid'];

async function client(s: TestServer, body: Record<string, unknown>) {
  const c = await s.admin.createClient({ introspection_signed_response_alg: 'ES256', ...body });
  return { id: c.client_id, auth: basic(c.client_id, c.client_secret) };
}

/** The three answers a client can get for a token: introspection as JSON and signed (RFC 9701), and validation. */
async function answers(s: TestServer, auth: string, clientId: string, token: string) {
  const json = (await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token })).body as Record<string, unknown>;
  const signed = await s.request
    .post('/introspect')
    .set('Authorization', auth)
    .set('Accept', JWT_TYPE)
    .type('form')
    .send({ token })
    .buffer(true)
    .parse((r, done) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString()));
      r.on('end', () => done(null, text));
    });
  const jwks = createLocalJWKSet((await s.request.get('/jwks.json')).body);
  const { payload } = await jwtVerify(signed.body as string, jwks, { issuer: ISSUER, audience: clientId, currentDate: s.clock.now() });
  const validation = (await s.request.post(VALIDATE).set('Authorization', auth).send({ auth_token: token })).body as Record<string, unknown>;
  return { json, signed: payload.token_introspection as Record<string, unknown>, validation, text: JSON.stringify([json, payload, validation]) };
}

apiTest('customer profile: a client without the permission never sees it (JWT and opaque, active and inactive, signed and plain)', async (t, s) => {
  const plain = await client(s, {});
  const registered = await s.request.get(`/admin/clients/${plain.id}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  t.false('customer_profile' in registered.body, 'not granted: not shown');
  await s.admin.upsertCustomer('c1', PROFILE);
  for (const format of ['jwt', 'opaque'] as const) {
    const { auth_token, jti } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format });
    const active = await answers(s, plain.auth, plain.id, auth_token);
    t.deepEqual(Object.keys(active.json).sort(), ACTIVE_MEMBERS, format);
    t.deepEqual(active.signed, active.json);
    t.deepEqual(Object.keys(active.validation).sort(), VALID_MEMBERS, format);
    for (const value of Object.values(PROFILE)) t.false(active.text.includes(value), `${format}: ${value} is not in any answer`);
    await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ jti }).expect(200);
    const inactive = await answers(s, plain.auth, plain.id, auth_token);
    t.deepEqual(inactive.json, { active: false, reason: 'revoked' });
    t.deepEqual(inactive.signed, inactive.json);
    for (const value of Object.values(PROFILE)) t.false(inactive.text.includes(value));
  }
});

apiTest('customer profile: a client with the permission gets username (RFC 7662) and the customer object, in every active answer only', async (t, s) => {
  const profiled = await client(s, { customer_profile: true });
  const registered = await s.request.get(`/admin/clients/${profiled.id}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  t.is(registered.body.customer_profile, true);
  await s.admin.upsertCustomer('c1', PROFILE);
  let previous: string | null = null;
  for (const format of ['jwt', 'opaque'] as const) {
    const issuedAt = s.clock.now().toISOString();
    const { auth_token, jti } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format });
    const active = await answers(s, profiled.auth, profiled.id, auth_token);
    t.is(active.json.username, 'ada.lovelace', format);
    t.deepEqual(active.signed, active.json, 'the signed answer carries it too');
    t.deepEqual(active.validation.customer, {
      email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', login_time: issuedAt, previous_login: previous,
    });
    previous = issuedAt;
    await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ jti }).expect(200);
    const inactive = await answers(s, profiled.auth, profiled.id, auth_token);
    t.deepEqual(inactive.json, { active: false, reason: 'revoked' });
    t.deepEqual(inactive.signed, inactive.json);
    t.false('customer' in inactive.validation);
    for (const value of Object.values(PROFILE)) t.false(inactive.text.includes(value), `inactive ${format}: ${value} is not in any answer`);
    s.clock.advance(60);
  }
  // No username: the email stands in; neither: no username member at all.
  await s.admin.upsertCustomer('c1', { username: null });
  const { auth_token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a' });
  t.is((await answers(s, profiled.auth, profiled.id, auth_token)).json.username, 'ada@example.com');
  await s.admin.upsertCustomer('c1', { email: null });
  const none = await answers(s, profiled.auth, profiled.id, auth_token);
  t.false('username' in none.json);
  t.deepEqual(none.validation.customer, {
    email: null, first_name: 'Ada', last_name: 'Lovelace', login_time: s.clock.now().toISOString(), previous_login: previous,
  });
});

apiTest('customer profile: previous_login is the login before this one, across three logins', async (t, s) => {
  const profiled = await client(s, { customer_profile: true });
  await s.admin.upsertCustomer('c7', PROFILE);
  const logins: { token: string; at: string }[] = [];
  for (const format of ['jwt', 'opaque', 'jwt'] as const) {
    logins.push({ token: (await s.admin.issueToken({ customer_id: 'c7', format })).auth_token, at: s.clock.now().toISOString() });
    s.clock.advance(3 * 60);
  }
  const profileOf = async (token: string) =>
    ((await s.request.post(VALIDATE).set('Authorization', profiled.auth).send({ auth_token: token })).body as { customer: Record<string, unknown> }).customer;
  t.like(await profileOf(logins[0]!.token), { login_time: logins[0]!.at, previous_login: null });
  t.like(await profileOf(logins[1]!.token), { login_time: logins[1]!.at, previous_login: logins[0]!.at });
  t.like(await profileOf(logins[2]!.token), { login_time: logins[2]!.at, previous_login: logins[1]!.at });
  // Another customer's logins are not this one's.
  await s.admin.upsertCustomer('c8');
  const other = (await s.admin.issueToken({ customer_id: 'c8' })).auth_token;
  t.like(await profileOf(other), { previous_login: null });
});

apiTest('customer profile: answers built for a permitted client are never served to another through the caches, nor after the customer is disabled', async (t, s) => {
  const profiled = await client(s, { customer_profile: true });
  const plain = await client(s, {});
  await s.admin.upsertCustomer('c3', PROFILE);
  for (const format of ['jwt', 'opaque'] as const) {
    const { auth_token } = await s.admin.issueToken({ customer_id: 'c3', format });
    // The permitted client first: verified-JWT cache, grant and customer are now warm.
    t.is((await answers(s, profiled.auth, profiled.id, auth_token)).json.username, 'ada.lovelace');
    const other = await answers(s, plain.auth, plain.id, auth_token);
    t.is(other.json.active, true);
    for (const value of Object.values(PROFILE)) t.false(other.text.includes(value), `${format}: ${value} not served to the other client`);
    await s.request.post('/admin/customers/c3/disable').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    const disabled = await answers(s, profiled.auth, profiled.id, auth_token);
    t.deepEqual(disabled.json, { active: false, reason: 'customer_disabled' });
    for (const value of Object.values(PROFILE)) t.false(disabled.text.includes(value), `${format}: ${value} not in a disabled customer's answer`);
    await s.admin.upsertCustomer('c3', { status: 'active' });
  }
});

apiTest('customer profile: an empty username written by the login service is no username: the email stands in (RFC 7662 §2.2 human-readable)', async (t, s) => {
  const profiled = await client(s, { customer_profile: true });
  await s.store.customers.upsert({ id: 'c4', status: 'active', username: '', email: 'ada@example.com', firstName: null, lastName: null, updatedAt: s.clock.now() });
  const { auth_token } = await s.admin.issueToken({ customer_id: 'c4' });
  t.is((await answers(s, profiled.auth, profiled.id, auth_token)).json.username, 'ada@example.com');
  await s.store.customers.upsert({ id: 'c4', status: 'active', username: '', email: '', firstName: null, lastName: null, updatedAt: s.clock.now() });
  t.false('username' in (await answers(s, profiled.auth, profiled.id, auth_token)).json);
});

apiTest('customer profile: previous_login is the login before this one on the same site; another site\'s logins are not told', async (t, s) => {
  // A client limited to site-b must not learn when the customer logged in on site-a (RFC 7662 §4).
  const siteB = await client(s, { customer_profile: true, site_ids: ['site-b'] });
  await s.admin.upsertCustomer('c9', PROFILE);
  const onA = s.clock.now().toISOString();
  await s.admin.issueToken({ customer_id: 'c9', site_id: 'site-a' });
  s.clock.advance(60);
  const firstOnB = s.clock.now().toISOString();
  const b1 = (await s.admin.issueToken({ customer_id: 'c9', site_id: 'site-b' })).auth_token;
  s.clock.advance(60);
  await s.admin.issueToken({ customer_id: 'c9', site_id: 'site-a' });
  await s.admin.issueToken({ customer_id: 'c9' });
  s.clock.advance(60);
  const b2 = (await s.admin.issueToken({ customer_id: 'c9', site_id: 'site-b' })).auth_token;
  const profileOf = async (token: string) =>
    ((await s.request.post(VALIDATE).set('Authorization', siteB.auth).send({ auth_token: token })).body as { customer: Record<string, unknown> }).customer;
  t.like(await profileOf(b1), { login_time: firstOnB, previous_login: null }, `not site-a's ${onA}`);
  t.like(await profileOf(b2), { previous_login: firstOnB }, 'not the later site-a or site-less login');
});

apiTest('customer profile: previous_login is never later than login_time, even after a grant written with a clock ahead; two logins at once', async (t, s) => {
  const profiled = await client(s, { customer_profile: true });
  await s.admin.upsertCustomer('c6', PROFILE);
  const earlier = s.clock.now().toISOString();
  await s.admin.issueToken({ customer_id: 'c6', site_id: 'site-a' });
  s.clock.advance(60);
  // A login service whose clock is an hour ahead writes a grant.
  const ahead = new Date(s.clock.now().getTime() + 3_600_000);
  await s.store.grants.insert({
    id: 'g-ahead', customerId: 'c6', siteId: 'site-a', clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: ahead, expiresAt: new Date(ahead.getTime() + 600_000), revokedAt: null,
  });
  s.clock.advance(60);
  const profileOf = async (token: string) =>
    ((await s.request.post(VALIDATE).set('Authorization', profiled.auth).send({ auth_token: token })).body as { customer: Record<string, unknown> }).customer;
  const { auth_token } = await s.admin.issueToken({ customer_id: 'c6', site_id: 'site-a' });
  t.like(await profileOf(auth_token), { login_time: s.clock.now().toISOString(), previous_login: earlier });
  // Two logins at the same instant: each names a login before or at its own, never a later one.
  const now = s.clock.now().toISOString();
  const both = await Promise.all([1, 2].map(() => s.admin.issueToken({ customer_id: 'c6', site_id: 'site-a' })));
  for (const { auth_token: token } of both) t.like(await profileOf(token), { login_time: now, previous_login: now });
});

apiTest('customer profile: username through PUT /admin/customers, shown in the customer view; a bad one is 400', async (t, s) => {
  const put = (body: unknown) => s.request.put('/admin/customers/c5').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body as object);
  t.is((await put({ username: 'ada.l' })).body.username, 'ada.l');
  t.is((await put({ email: 'a@example.com' })).body.username, 'ada.l', 'kept when not named');
  for (const bad of ['', 5, 'x'.repeat(256), ['a']]) {
    const res = await put({ username: bad });
    t.is(res.status, 400, JSON.stringify(bad));
    t.is(res.body.error, 'invalid_request');
  }
  t.is((await put({ username: null })).body.username, null);
  const registration = await s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x', customer_profile: 'yes' });
  t.is(registration.status, 400);
});

test('customer profile: answering with the profile costs no store call more than answering without it', async (t) => {
  const memory = new MemoryStore({ logger: silentLogger() });
  const { store, calls } = countingStore(memory);
  const s = await startTestServer(store, { env: { CACHE_TTL_SECONDS: 0 } });
  t.teardown(() => s.close());
  const plain = await client(s, {});
  const profiled = await client(s, { customer_profile: true });
  await s.admin.upsertCustomer('c1', PROFILE);
  const seen: Record<string, string[]> = {};
  for (const format of ['jwt', 'opaque'] as const) {
    const { auth_token } = await s.admin.issueToken({ customer_id: 'c1', format });
    for (const [name, c] of [['plain', plain], ['profiled', profiled]] as const) {
      for (const path of ['/introspect', VALIDATE]) {
        calls.length = 0;
        const req = s.request.post(path).set('Authorization', c.auth);
        await (path === VALIDATE ? req.send({ auth_token }) : req.type('form').send({ token: auth_token })).expect(200);
        seen[`${format} ${path} ${name}`] = [...calls];
      }
    }
    for (const path of ['/introspect', VALIDATE]) {
      t.deepEqual(seen[`${format} ${path} profiled`], seen[`${format} ${path} plain`], `${format} ${path}`);
      t.is(seen[`${format} ${path} plain`]!.filter((c) => c.startsWith('customers.')).length, 1, 'one read of the customer, as before');
    }
  }
});
