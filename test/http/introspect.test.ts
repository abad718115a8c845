import { SignJWT, generateKeyPair } from 'jose';
import { apiTest, basic, ISSUER, standardSetup } from '../helpers/app.js';

const FORM = 'application/x-www-form-urlencoded';

apiTest('a valid JWT is active with the RFC 7662 members', async (t, s) => {
  const { auth, token, jti } = await standardSetup(s);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token, token_type_hint: 'access_token' });
  t.is(res.status, 200);
  t.is(res.headers['cache-control'], 'no-store');
  t.regex(res.headers['content-type']!, /^application\/json/);
  const now = Math.floor(s.clock.now().getTime() / 1000);
  t.deepEqual(res.body, {
    active: true, sub: 'c1', client_id: 'open-login', token_type: 'Bearer', exp: now + 3600, iat: now,
    iss: ISSUER, aud: ISSUER, jti, site_id: 'site-a',
  });
});

apiTest('a valid opaque token is active', async (t, s) => {
  const { auth } = await standardSetup(s);
  const opaque = await s.admin.issueToken({ customer_id: 'c1', format: 'opaque', expires_in: 120 });
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: opaque.auth_token });
  t.is(res.body.active, true);
  t.is(res.body.jti, opaque.jti);
  t.is(res.body.exp - res.body.iat, 120);
});

apiTest('an expired token is inactive with reason expired', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  s.clock.advance(3600);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(res.body, { active: false, reason: 'expired' });
});

apiTest('a revoked token is inactive with reason revoked', async (t, s) => {
  const { auth, token, jti } = await standardSetup(s);
  await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${s.config.adminToken}`).send({ jti }).expect(200);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(res.body, { active: false, reason: 'revoked' });
});

apiTest('an invalid token format is malformed', async (t, s) => {
  const { auth } = await standardSetup(s);
  for (const token of ['not-a-token', 'a.b', 'olt_tooshort', 'x'.repeat(5000)]) {
    const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
    t.is(res.status, 200);
    t.deepEqual(res.body, { active: false, reason: 'malformed' });
  }
});

apiTest('a bad signature is invalid_signature', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const [h, p, sig] = token.split('.');
  const flipped = sig!.slice(0, 10) + (sig![10] === 'A' ? 'B' : 'A') + sig!.slice(11);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: `${h}.${p}.${flipped}` });
  t.deepEqual(res.body, { active: false, reason: 'invalid_signature' });
  const { privateKey } = await generateKeyPair('ES256');
  const foreign = await new SignJWT({ client_id: 'x', site_id: 'site-a' })
    .setProtectedHeader({ alg: 'ES256', kid: s.keys.current.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER).setAudience(ISSUER).setSubject('c1').setJti('j').setIssuedAt().setExpirationTime('1h')
    .sign(privateKey);
  const res2 = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: foreign });
  t.deepEqual(res2.body, { active: false, reason: 'invalid_signature' });
});

apiTest('a genuine token whose grant is unknown is not_found', async (t, s) => {
  const { auth } = await standardSetup(s);
  const iat = Math.floor(s.clock.now().getTime() / 1000);
  const token = await new SignJWT({ client_id: 'open-login', site_id: 'site-a' })
    .setProtectedHeader({ alg: s.keys.current.alg, kid: s.keys.current.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER).setAudience(ISSUER).setSubject('c1').setJti('never-granted').setIssuedAt(iat).setExpirationTime(iat + 60)
    .sign(s.keys.current.key);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(res.body, { active: false, reason: 'not_found' });
  const opaque = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: `olt_${'A'.repeat(43)}` });
  t.deepEqual(opaque.body, { active: false, reason: 'not_found' });
});

apiTest('a disabled customer makes the token inactive, and re-enabling restores it', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  await s.admin.upsertCustomer('c1', { status: 'disabled' });
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(res.body, { active: false, reason: 'customer_disabled' });
  await s.admin.upsertCustomer('c1', { status: 'active' });
  const again = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.true(again.body.active);
});

apiTest('a token of a customer that does not exist is customer_not_found', async (t, s) => {
  const { auth } = await standardSetup(s);
  const now = s.clock.now();
  await s.store.grants.insert({
    id: 'orphan', customerId: 'nobody', siteId: null, clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: now, expiresAt: new Date(now.getTime() + 60_000), revokedAt: null,
  });
  const token = await new SignJWT({ client_id: 'open-login' })
    .setProtectedHeader({ alg: s.keys.current.alg, kid: s.keys.current.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER).setAudience(ISSUER).setSubject('nobody').setJti('orphan')
    .setIssuedAt(Math.floor(now.getTime() / 1000)).setExpirationTime(Math.floor(now.getTime() / 1000) + 60)
    .sign(s.keys.current.key);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  t.deepEqual(res.body, { active: false, reason: 'customer_not_found' });
});

apiTest('wrong client credentials are 401 invalid_client with WWW-Authenticate', async (t, s) => {
  const { clientId, token } = await standardSetup(s);
  for (const auth of [basic(clientId, 'wrong-secret'), basic('no-such-client', 'x'), 'Basic !!!', 'Basic Zm9v', 'Bearer something']) {
    const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
    t.is(res.status, 401, auth);
    t.is(res.body.error, 'invalid_client');
    t.regex(res.headers['www-authenticate']!, /^Basic realm=/);
    t.is(res.headers['cache-control'], 'no-store');
  }
  const none = await s.request.post('/introspect').type('form').send({ token });
  t.is(none.status, 401);
  t.is(none.body.error, 'invalid_client');
});

apiTest('missing, empty and repeated parameters are 400 invalid_request', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const missing = await s.request.post('/introspect').set('Authorization', auth).type('form').send({});
  t.is(missing.status, 400);
  t.deepEqual(missing.body, { error: 'invalid_request', error_description: 'parameter token is required' });
  const empty = await s.request.post('/introspect').set('Authorization', auth).type('form').send('token=');
  t.is(empty.status, 400);
  const repeated = await s.request.post('/introspect').set('Authorization', auth).type('form').send(`token=${token}&token=${token}`);
  t.is(repeated.status, 400);
  t.is(repeated.body.error, 'invalid_request');
  t.false(JSON.stringify(repeated.body).includes(token));
  const many = await s.request.post('/introspect').set('Authorization', auth).type('form')
    .send(Array.from({ length: 20 }, (_, i) => `p${i}=1`).join('&') + `&token=${token}`);
  t.is(many.status, 400);
});

apiTest('wrong content types and oversized bodies are refused in the protocol form', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const json = await s.request.post('/introspect').set('Authorization', auth).send({ token });
  t.is(json.status, 400);
  t.is(json.body.error, 'invalid_request');
  const none = await s.request.post('/introspect').set('Authorization', auth);
  t.is(none.status, 400);
  const big = await s.request.post('/introspect').set('Authorization', auth).set('Content-Type', FORM).send(`token=${'a'.repeat(20_000)}`);
  t.is(big.status, 413);
  t.is(big.body.error, 'invalid_request');
});

apiTest('the token is never taken from the query string', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const res = await s.request.post(`/introspect?token=${token}`).set('Authorization', auth).type('form').send({});
  t.is(res.status, 400);
  t.regex(res.body.error_description, /request body/);
});

apiTest('GET on the introspection endpoint is 405 with an Allow header', async (t, s) => {
  const res = await s.request.get('/introspect');
  t.is(res.status, 405);
  t.is(res.headers.allow, 'POST');
  t.is(res.body.error, 'invalid_request');
});

apiTest('OPTIONS lists POST; HEAD, PUT and DELETE are 405; the path matches with a trailing slash, and only in its own case', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const options = await s.request.options('/introspect');
  t.is(options.status, 200);
  t.is(options.headers.allow, 'POST');
  t.is(options.headers['cache-control'], 'no-store');
  for (const method of ['head', 'put', 'delete'] as const) {
    const res = await s.request[method]('/introspect');
    t.is(res.status, 405, method);
    t.is(res.headers.allow, 'POST', method);
  }
  // RFC 3986 §6.2.2.1: paths are case-sensitive (src/http/routing.ts).
  t.is((await s.request.post('/Introspect').set('Authorization', auth).type('form').send({ token })).status, 404);
  for (const path of ['/introspect/', '/introspect?unrelated=1']) {
    const res = await s.request.post(path).set('Authorization', auth).type('form').send({ token });
    t.is(res.status, 200, path);
    t.true(res.body.active, path);
  }
  t.is((await s.request.post('/introspect//').set('Authorization', auth).type('form').send({ token })).status, 404);
  t.is((await s.request.post('/introspection').set('Authorization', auth).type('form').send({ token })).status, 404);
});

apiTest('client_secret_post clients authenticate in the body, and only there', async (t, s) => {
  const c = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1' });
  const ok = await s.request.post('/introspect').type('form').send({ token, client_id: c.client_id, client_secret: c.client_secret });
  t.true(ok.body.active);
  const viaBasic = await s.request.post('/introspect').set('Authorization', basic(c.client_id, c.client_secret)).type('form').send({ token });
  t.is(viaBasic.status, 401);
  const both = await s.request.post('/introspect').set('Authorization', basic(c.client_id, c.client_secret)).type('form')
    .send({ token, client_id: c.client_id, client_secret: c.client_secret });
  t.is(both.status, 400);
});

apiTest('a basic client may not authenticate with client_secret_post', async (t, s) => {
  const { clientId, secret, token } = await standardSetup(s);
  const res = await s.request.post('/introspect').type('form').send({ token, client_id: clientId, client_secret: secret });
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_client');
});

apiTest('clients without reason codes get exactly {"active": false}', async (t, s) => {
  const { token } = await standardSetup(s);
  const strict = await s.admin.createClient({ name: 'Gateway', reason_codes: false });
  s.clock.advance(4000);
  const res = await s.request.post('/introspect').set('Authorization', basic(strict.client_id, strict.client_secret)).type('form').send({ token });
  t.is(res.text, '{"active":false}');
});

apiTest('clients limited to sites see only tokens of those sites', async (t, s) => {
  const { token } = await standardSetup(s);
  const siteB = await s.admin.createClient({ site_ids: ['site-b'] });
  const siteA = await s.admin.createClient({ site_ids: ['site-a', 'site-c'] });
  const b = await s.request.post('/introspect').set('Authorization', basic(siteB.client_id, siteB.client_secret)).type('form').send({ token });
  t.deepEqual(b.body, { active: false, reason: 'site_not_allowed' });
  const a = await s.request.post('/introspect').set('Authorization', basic(siteA.client_id, siteA.client_secret)).type('form').send({ token });
  t.true(a.body.active);
});

apiTest('an unknown token_type_hint is ignored (RFC 7662 §2.1)', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token, token_type_hint: 'refresh_token' });
  t.true(res.body.active);
});
