import test from 'ava';
import { Validator } from '@seriousme/openapi-schema-validator';
import { SignJWT } from 'jose';
import { reasonCodes } from '../../src/core/reasons.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, apiTest, basic, buildTestApp, downStore, ISSUER, standardSetup, startTestServer, type TestServer } from '../helpers/app.js';
import { appRoutes, Conformance } from '../helpers/openapi.js';

type Json = Record<string, unknown>;
const conformance = new Conformance();
const A = `Bearer ${ADMIN_TOKEN}`;

test('the document is valid OpenAPI 3.1', async (t) => {
  const result = await new Validator().validate(openApiDocument({ serverUrl: ISSUER }) as never);
  t.deepEqual(result.errors, undefined);
  t.true(result.valid);
});

test('the validator does reject a broken document (the check above can fail)', async (t) => {
  const broken = structuredClone(openApiDocument()) as { paths: Record<string, Json> };
  (broken.paths['/introspect']!.post as Json).responses = { 200: { content: {} } }; // a response needs a description
  t.false((await new Validator().validate(broken as never)).valid);
});

test('reason codes are the enum of src/core/reasons.ts', (t) => {
  const schemas = (openApiDocument().components as { schemas: Record<string, Json> }).schemas;
  t.deepEqual(schemas.ReasonCode!.enum, [...reasonCodes]);
});

test('every route the app serves is documented, and every documented operation is served', async (t) => {
  const { app } = await buildTestApp();
  const served = appRoutes(app);
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(openApiDocument().paths as Record<string, Json>)) {
    for (const method of Object.keys(item)) if (method !== 'parameters') documented.add(`${method.toUpperCase()} ${path}`);
  }
  t.true(served.size > 10, [...served].join(', '));
  t.deepEqual([...served].filter((r) => !documented.has(r)), [], 'served but not documented');
  t.deepEqual([...documented].filter((r) => !served.has(r)), [], 'documented but not served');
});

test('every example in the document matches its schema', (t) => {
  const doc = openApiDocument();
  let checked = 0;
  const visit = (node: unknown, pointer: string) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Json;
    if (n.schema && typeof n.schema === 'object') {
      if ('example' in n) {
        t.deepEqual(conformance.errors(`${pointer}/schema`, n.example), [], `${pointer} example`);
        checked++;
      }
      for (const [name, ex] of Object.entries((n.examples as Record<string, { value: unknown }>) ?? {})) {
        t.deepEqual(conformance.errors(`${pointer}/schema`, ex.value), [], `${pointer} examples.${name}`);
        checked++;
      }
    }
    for (const [key, value] of Object.entries(n)) visit(value, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  };
  visit(doc, '');
  const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
  for (const [name, schema] of Object.entries(schemas)) {
    if ('example' in schema) {
      t.deepEqual(conformance.errors(`/components/schemas/${name}`, schema.example), [], `${name} example`);
      checked++;
    }
  }
  t.true(checked >= 15, `only ${checked} examples checked`);
});

test('schemas reject answers that break the contract (the conformance checks can fail)', (t) => {
  const introspection = '/components/schemas/IntrospectionResponse';
  t.deepEqual(conformance.errors(introspection, { active: false, reason: 'expired' }), []);
  t.notDeepEqual(conformance.errors(introspection, { active: false, reason: 'no_such_reason' }), []);
  t.notDeepEqual(conformance.errors(introspection, { active: false, reason: 'expired', sub: 'c1' }), []);
  t.notDeepEqual(conformance.errors(introspection, { active: true, sub: 'c1' }), []);
  t.notDeepEqual(conformance.errors('/components/schemas/JwkSet', { keys: [{ kty: 'EC', kid: 'k', alg: 'ES256', use: 'sig', d: 'secret' }] }), []);
  t.notDeepEqual(conformance.errors('/components/schemas/OAuthError', { error: 'invalid_request' }), []);
});

test('GET /openapi.json serves the document with this server as its server URL', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  try {
    const res = await s.request.get('/openapi.json');
    t.is(res.status, 200);
    t.regex(res.headers['content-type']!, /^application\/json/);
    t.is(res.body.openapi, '3.1.0');
    t.deepEqual(res.body.servers, [{ url: ISSUER }]);
    t.true((await new Validator().validate(res.body)).valid);
    conformance.check(t, 'get', '/openapi.json', res);
  } finally {
    await s.close();
  }
});

/** A JWT signed with the server's key, with claims chosen by the test. */
async function signed(s: TestServer, claims: { iss?: string; iat?: number; jti: string; sub?: string; site_id?: string }) {
  const now = Math.floor(s.clock.now().getTime() / 1000);
  const iat = claims.iat ?? now;
  return new SignJWT({ client_id: 'open-login', ...(claims.site_id ? { site_id: claims.site_id } : {}) })
    .setProtectedHeader({ alg: s.keys.current.alg, kid: s.keys.current.kid, typ: 'at+jwt' })
    .setIssuer(claims.iss ?? ISSUER).setAudience(ISSUER).setSubject(claims.sub ?? 'c1').setJti(claims.jti)
    .setIssuedAt(iat).setExpirationTime(iat + 600)
    .sign(s.keys.current.key);
}

apiTest('introspection and validation answers match the document, for every reason code', async (t, s) => {
  const { auth, token, clientId } = await standardSetup(s);
  const introspect = (tok: string, authorization = auth) =>
    s.request.post('/introspect').set('Authorization', authorization).type('form').send({ token: tok });
  const validate = (tok: string) => s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: tok });
  const seen = new Set<string>();
  const both = async (tok: string, expected: string, authorization = auth) => {
    const res = await introspect(tok, authorization);
    t.is(res.status, 200);
    t.is(res.body.active ? 'active' : res.body.reason, expected);
    conformance.check(t, 'post', '/introspect', res);
    if (authorization === auth) {
      const v = await validate(tok);
      t.is(v.body.valid ? 'active' : v.body.reason, expected);
      conformance.check(t, 'post', '/api/v1/auth/token/validate', v);
    }
    seen.add(expected);
  };

  await both(token, 'active');
  await both('not-a-token', 'malformed');
  const [h, p, sig] = token.split('.');
  await both(`${h}.${p}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}`, 'invalid_signature');
  await both(await signed(s, { iss: 'https://elsewhere.example', jti: 'j1' }), 'invalid_claims');
  await both(await signed(s, { iat: Math.floor(s.clock.now().getTime() / 1000) + 3600, jti: 'j2' }), 'not_yet_valid');
  await both(await signed(s, { jti: 'never-granted', site_id: 'site-a' }), 'not_found');
  const now = s.clock.now();
  await s.store.grants.insert({
    id: 'orphan', customerId: 'nobody', siteId: null, clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: now, expiresAt: new Date(now.getTime() + 600_000), revokedAt: null,
  });
  await both(await signed(s, { jti: 'orphan', sub: 'nobody' }), 'customer_not_found');
  const limited = await s.admin.createClient({ site_ids: ['site-b'] });
  await both(token, 'site_not_allowed', basic(limited.client_id, limited.client_secret));
  await s.admin.upsertCustomer('c1', { status: 'disabled' });
  await both(token, 'customer_disabled');
  await s.admin.upsertCustomer('c1', { status: 'active' });
  // RFC 7009 §2.1: issued to the revoking client, so /revoke revokes it.
  const second = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId, format: 'opaque' });
  const revoke = await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token: second.auth_token });
  conformance.check(t, 'post', '/revoke', revoke);
  await both(second.auth_token, 'revoked');
  s.clock.advance(3601);
  await both(token, 'expired');

  t.deepEqual([...seen].sort(), ['active', ...reasonCodes].sort());

  // Clients without reason codes get the bare forms.
  const bare = await s.admin.createClient({ reason_codes: false });
  const res = await introspect('not-a-token', basic(bare.client_id, bare.client_secret));
  t.deepEqual(res.body, { active: false });
  conformance.check(t, 'post', '/introspect', res);
  t.truthy(clientId);
});

apiTest('error answers (400, 401, 404, 405, 413) match the document', async (t, s) => {
  const { auth, token } = await standardSetup(s);
  const missing = await s.request.post('/introspect').set('Authorization', auth).type('form').send({});
  t.is(missing.status, 400);
  conformance.check(t, 'post', '/introspect', missing);
  const wrongType = await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).type('form').send({ auth_token: token });
  t.is(wrongType.status, 400);
  conformance.check(t, 'post', '/api/v1/auth/token/validate', wrongType);
  const badClient = await s.request.post('/introspect').set('Authorization', basic('nobody', 'wrong')).type('form').send({ token });
  t.is(badClient.status, 401);
  t.truthy(badClient.headers['www-authenticate']);
  conformance.check(t, 'post', '/introspect', badClient);
  const revokeNoClient = await s.request.post('/revoke').type('form').send({ token });
  t.is(revokeNoClient.status, 401);
  conformance.check(t, 'post', '/revoke', revokeNoClient);
  const tooLarge = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: 'x'.repeat(20_000) });
  t.is(tooLarge.status, 413);
  conformance.check(t, 'post', '/introspect', tooLarge);
  const notFound = await s.request.get('/no-such-endpoint');
  t.is(notFound.status, 404);
  conformance.checkAgainst(t, 'GET /no-such-endpoint', conformance.componentResponse('NotFound'), notFound);
  const notAllowed = await s.request.get('/introspect');
  t.is(notAllowed.status, 405);
  conformance.check(t, 'post', '/introspect', notAllowed);
});

apiTest('discovery, keys, health and metrics answers match the document', async (t, s) => {
  for (const path of ['/.well-known/oauth-authorization-server', '/jwks.json', '/healthz', '/readyz', '/metrics', '/docs']) {
    const res = await s.request.get(path);
    t.is(res.status, 200, path);
    conformance.check(t, 'get', path, res);
  }
});

apiTest('admin answers match the document', async (t, s) => {
  const created = await s.request.post('/admin/clients').set('Authorization', A).send({ name: 'Energy Intel', site_ids: ['site-a'] });
  t.is(created.status, 201);
  conformance.check(t, 'post', '/admin/clients', created);
  const list = await s.request.get('/admin/clients').set('Authorization', A);
  conformance.check(t, 'get', '/admin/clients', list);
  const one = await s.request.get(`/admin/clients/${created.body.client_id}`).set('Authorization', A);
  conformance.check(t, 'get', '/admin/clients/{id}', one);
  const noClient = await s.request.get('/admin/clients/nope').set('Authorization', A);
  t.is(noClient.status, 404);
  conformance.check(t, 'get', '/admin/clients/{id}', noClient);
  const put = await s.request.put('/admin/customers/c42').set('Authorization', A).send({ status: 'active', email: 'ada@example.com' });
  t.is(put.status, 201);
  conformance.check(t, 'put', '/admin/customers/{id}', put);
  const update = await s.request.put('/admin/customers/c42').set('Authorization', A).send({ first_name: 'Ada' });
  t.is(update.status, 200);
  conformance.check(t, 'put', '/admin/customers/{id}', update);
  conformance.check(t, 'get', '/admin/customers/{id}', await s.request.get('/admin/customers/c42').set('Authorization', A));
  const noCustomer = await s.request.get('/admin/customers/nobody').set('Authorization', A);
  t.is(noCustomer.status, 404);
  conformance.check(t, 'get', '/admin/customers/{id}', noCustomer);
  for (const format of ['jwt', 'opaque']) {
    const issued = await s.request.post('/admin/tokens').set('Authorization', A).send({ customer_id: 'c42', format });
    t.is(issued.status, 201);
    conformance.check(t, 'post', '/admin/tokens', issued);
    const revoked = await s.request.post('/admin/tokens/revoke').set('Authorization', A).send({ jti: issued.body.jti });
    t.deepEqual(revoked.body, { revoked: 1 });
    conformance.check(t, 'post', '/admin/tokens/revoke', revoked);
  }
  const badIssue = await s.request.post('/admin/tokens').set('Authorization', A).send({ customer_id: 'nobody' });
  t.is(badIssue.status, 400);
  conformance.check(t, 'post', '/admin/tokens', badIssue);
  const all = await s.request.post('/admin/customers/c42/revoke-tokens').set('Authorization', A);
  conformance.check(t, 'post', '/admin/customers/{id}/revoke-tokens', all);
  const disabled = await s.request.post('/admin/customers/c42/disable').set('Authorization', A);
  t.is(disabled.body.status, 'disabled');
  conformance.check(t, 'post', '/admin/customers/{id}/disable', disabled);
  const disabledNobody = await s.request.post('/admin/customers/nobody/disable').set('Authorization', A);
  t.is(disabledNobody.status, 404);
  conformance.check(t, 'post', '/admin/customers/{id}/disable', disabledNobody);
  const unauthorized = await s.request.get('/admin/clients').set('Authorization', 'Bearer wrong');
  t.is(unauthorized.status, 401);
  conformance.check(t, 'get', '/admin/clients', unauthorized);
});


test('503 answers match the document', async (t) => {
  const s = await startTestServer(downStore());
  try {
    const ready = await s.request.get('/readyz');
    t.is(ready.status, 503);
    conformance.check(t, 'get', '/readyz', ready);
    const res = await s.request.post('/introspect').set('Authorization', basic('a', 'b')).type('form').send({ token: 'x' });
    t.is(res.status, 503);
    conformance.check(t, 'post', '/introspect', res);
    const v = await s.request.post('/api/v1/auth/token/validate').set('Authorization', basic('a', 'b')).send({ auth_token: 'x' });
    t.is(v.status, 503);
    conformance.check(t, 'post', '/api/v1/auth/token/validate', v);
  } finally {
    await s.close();
  }
});

apiTest('signed introspection answers (RFC 9701) match the document', async (t, s) => {
  const { token } = await standardSetup(s);
  const signer = await s.admin.createClient({ introspection_signed_response_alg: s.keys.current.alg });
  const res = await s.request.post('/introspect').set('Authorization', basic(signer.client_id, signer.client_secret))
    .set('Accept', 'application/token-introspection+jwt').type('form').send({ token });
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^application\/token-introspection\+jwt/);
  conformance.check(t, 'post', '/introspect', res);
});

apiTest('429 answers match the document', async (t, s) => {
  const { token } = await standardSetup(s);
  let res;
  for (let i = 0; i < 5; i++) {
    res = await s.request.post('/introspect').set('Authorization', basic('nobody', 'wrong')).type('form').send({ token });
    if (res.status === 429) break;
  }
  t.is(res!.status, 429);
  t.truthy(res!.headers['retry-after']);
  conformance.check(t, 'post', '/introspect', res!);
}, { env: { RATE_LIMIT_AUTH_FAILURES: '2' } });
