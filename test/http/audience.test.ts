import { decodeJwt } from 'jose';
import { apiTest, basic, standardSetup } from '../helpers/app.js';

const A = 'https://api.a.example/';
const B = 'urn:example:b';
const VALIDATE = '/api/v1/auth/token/validate';

apiTest('audience: POST /admin/tokens takes one URI or a list; introspection and validation answer with it (JWT and opaque)', async (t, s) => {
  const { auth } = await standardSetup(s);
  for (const format of ['jwt', 'opaque'] as const) {
    for (const [audience, aud] of [[A, A], [[A], A], [[A, B], [A, B]]] as const) {
      const { auth_token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format, audience });
      if (format === 'jwt') t.deepEqual(decodeJwt(auth_token).aud, aud);
      const introspected = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: auth_token });
      t.deepEqual(introspected.body.aud, aud, `${format} ${JSON.stringify(audience)}`);
      const validated = await s.request.post(VALIDATE).set('Authorization', auth).send({ auth_token });
      t.deepEqual(validated.body.audience, typeof aud === 'string' ? [aud] : aud);
    }
  }
});

apiTest('audience: a URI is issued in its RFC 3986 §6.2.2 normal form, which a resource server comparing strings expects', async (t, s) => {
  const { auth } = await standardSetup(s);
  const { auth_token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', audience: 'HTTPS://API.A.Example/%7eorders' });
  t.is(decodeJwt(auth_token).aud, 'https://api.a.example/~orders');
  const introspected = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: auth_token });
  t.is(introspected.body.active, true);
  t.is(introspected.body.aud, 'https://api.a.example/~orders');
});

apiTest('audience: anything but 1-5 different absolute URIs without a fragment is 400 invalid_request in plain words, and issues nothing', async (t, s) => {
  await standardSetup(s);
  const bad: unknown[] = [
    '', 'api.example', '/path', 'https://a.example/#top', 'https://a.example/ x', [], [A, A], [A, 5], 42, null, { uri: A },
    // One resource in two spellings (RFC 3986 §6.2.2): named twice.
    [A, 'HTTPS://API.A.EXAMPLE/'], ['https://a.example/~x', 'https://a.example/%7Ex'],
    ['https://1.example/', 'https://2.example/', 'https://3.example/', 'https://4.example/', 'https://5.example/', 'https://6.example/'],
    `https://a.example/${'x'.repeat(300)}`,
  ];
  for (const audience of bad) {
    const res = await s.request.post('/admin/tokens').set('Authorization', `Bearer ${s.config.adminToken}`).send({ customer_id: 'c1', audience });
    t.is(res.status, 400, JSON.stringify(audience));
    t.is(res.body.error, 'invalid_request');
    t.regex(res.body.error_description, /^audience: must be an absolute URI without a fragment \(RFC 8707 §2\)/);
    if (typeof audience === 'string' && audience.length > 0) t.false(res.text.includes(audience), 'the value is not repeated');
  }
  t.is(await s.store.grants.revokeByCustomer('c1', s.clock.now()), 1, 'only the setup token was issued');
});

apiTest(
  'audience: a token that asks for none gets its site\'s SITE_AUDIENCES entry, else TOKEN_AUDIENCE',
  async (t, s) => {
    const c = await s.admin.createClient();
    const auth = basic(c.client_id, c.client_secret);
    await s.admin.upsertCustomer('c1');
    const audOf = async (body: Record<string, unknown>) => {
      const { auth_token } = await s.admin.issueToken({ customer_id: 'c1', ...body });
      const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: auth_token });
      t.true(res.body.active);
      return res.body.aud as unknown;
    };
    t.deepEqual(await audOf({ site_id: 'energy-intel' }), [A, B]);
    t.deepEqual(await audOf({ site_id: 'energy-intel', format: 'opaque' }), [A, B]);
    t.is(await audOf({ site_id: 'other-site' }), 'https://resource.example/');
    t.is(await audOf({}), 'https://resource.example/');
    t.is(await audOf({ site_id: 'energy-intel', audience: 'urn:example:asked' }), 'urn:example:asked');
  },
  { env: { SITE_AUDIENCES: JSON.stringify({ 'energy-intel': [A, B] }), TOKEN_AUDIENCE: 'https://resource.example/' } },
);
