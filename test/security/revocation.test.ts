/**
 * RFC 7009 §2.1 at `POST /revoke`: the server "verifies whether the token was
 * issued to the client making the revocation request" and refuses otherwise
 * (project issue 10, item 10a). Here a token is issued to a client when its
 * `client_id` is the client's id, or when the client is limited to sites and
 * the token's site is one of them. Tokens the client may not see look unknown.
 */
import { generateOpaqueToken } from '../../src/core/tokens/opaque.js';
import { apiTest, basic, standardSetup, type TestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

const logs = captureLogs();

const revoke = (s: TestServer, auth: string, token: string) => s.request.post('/revoke').set('Authorization', auth).type('form').send({ token });
const reasonOf = async (s: TestServer, auth: string, token: string) => {
  const res = await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
  return res.body.active ? 'active' : res.body.reason;
};

apiTest(
  'an unrestricted client may not revoke a token issued to another client: 400, audited, nothing revoked',
  async (t, s) => {
    const { auth, clientId, token, jti } = await standardSetup(s);
    const opaque = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format: 'opaque' });
    for (const [name, tok, id] of [['jwt', token, jti], ['opaque', opaque.auth_token, opaque.jti]] as const) {
      const res = await revoke(s, auth, tok);
      t.is(res.status, 400, name);
      t.deepEqual(res.body, { error: 'invalid_request', error_description: 'the token was not issued to this client' }, name);
      t.is(await reasonOf(s, auth, tok), 'active', `${name}: still active`);
      const refusal = logs.lines.find((l) => l.event === 'token.revocation_refused' && l.jti === id);
      t.like(refusal, { msg: 'audit', client_id: clientId, via: 'revocation_endpoint' }, name);
      t.false(logs.raw.some((line) => line.includes(tok)), `${name}: no token in the log`);
    }
  },
  { logger: logs.logger },
);

apiTest('a client revokes the tokens issued to it, JWT and opaque', async (t, s) => {
  const { auth, clientId } = await standardSetup(s);
  for (const format of ['jwt', 'opaque']) {
    const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId, format });
    const res = await revoke(s, auth, token);
    t.is(res.status, 200, format);
    t.is(res.text, '', format);
    t.is(await reasonOf(s, auth, token), 'revoked', format);
  }
});

apiTest('a site-limited client revokes any token of its sites, whoever it was issued to', async (t, s) => {
  const { auth } = await standardSetup(s);
  const siteA = await s.admin.createClient({ site_ids: ['site-a', 'site-c'] });
  for (const format of ['jwt', 'opaque']) {
    const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format });
    t.is((await revoke(s, basic(siteA.client_id, siteA.client_secret), token)).status, 200, format);
    t.is(await reasonOf(s, auth, token), 'revoked', format);
  }
});

apiTest('another site\'s tokens look unknown to a site-limited client: 200, nothing revoked', async (t, s) => {
  const { auth } = await standardSetup(s);
  const siteB = await s.admin.createClient({ site_ids: ['site-b'] });
  const siteBAuth = basic(siteB.client_id, siteB.client_secret);
  const unknown = await revoke(s, siteBAuth, generateOpaqueToken());
  t.is(unknown.status, 200);
  const tokens: [string, string][] = [];
  for (const format of ['jwt', 'opaque']) {
    tokens.push([`${format} of site-a`, (await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format })).auth_token]);
    tokens.push([`${format} of no site`, (await s.admin.issueToken({ customer_id: 'c1', format })).auth_token]);
    // Issued to that very client, but of a site it may not see: still not its to see.
    tokens.push([`${format} issued to it, site-a`, (await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: siteB.client_id, format })).auth_token]);
  }
  for (const [name, token] of tokens) {
    const res = await revoke(s, siteBAuth, token);
    t.is(res.status, unknown.status, name);
    t.is(res.text, unknown.text, name);
    t.is(await reasonOf(s, auth, token), 'active', `${name}: not revoked`);
  }
});

apiTest('tokens already invalid answer 200 whoever they were issued to (RFC 7009 §2.2)', async (t, s) => {
  const { auth } = await standardSetup(s);
  const expiring = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', expires_in: 60 });
  const revoked = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format: 'opaque' });
  await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${s.config.adminToken}`).send({ jti: revoked.jti }).expect(200);
  s.clock.advance(61);
  for (const token of [expiring.auth_token, revoked.auth_token, 'not-a-token', generateOpaqueToken()]) {
    t.is((await revoke(s, auth, token)).status, 200);
  }
});
