/**
 * Decisions that must not tell a caller more than it may know, or accept
 * what this server never issues (project issue 10, items 7, 10b and 10c).
 */
import { SignJWT, type JWTPayload } from 'jose';
import { generateOpaqueToken } from '../../src/core/tokens/opaque.js';
import { apiTest, basic, ISSUER, standardSetup, type TestServer } from '../helpers/app.js';

const VALIDATE = '/api/v1/auth/token/validate';

/** A JWT signed with the server's current key: what only the issuer (or a legacy secret holder) can make. */
function signed(s: TestServer, payload: JWTPayload): Promise<string> {
  const iat = Math.floor(s.clock.now().getTime() / 1000);
  return new SignJWT({ iss: ISSUER, aud: ISSUER, sub: 'c1', client_id: 'open-login', site_id: 'site-a', iat, exp: iat + 600, ...payload })
    .setProtectedHeader({ alg: s.keys.current.alg, kid: s.keys.current.kid, typ: 'at+jwt' })
    .sign(s.keys.current.key);
}

const introspect = (s: TestServer, auth: string, token: string) => s.request.post('/introspect').set('Authorization', auth).type('form').send({ token });
const validate = (s: TestServer, auth: string, token: string) => s.request.post(VALIDATE).set('Authorization', auth).send({ auth_token: token });

// ---- Item 7: another site's opaque token reads as an unknown one ----

apiTest('a site-limited client cannot tell another site\'s opaque token from an unknown one', async (t, s) => {
  await standardSetup(s);
  const limited = await s.admin.createClient({ site_ids: ['site-b'] });
  const auth = basic(limited.client_id, limited.client_secret);
  const live = (await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format: 'opaque' })).auth_token;
  const noSite = (await s.admin.issueToken({ customer_id: 'c1', format: 'opaque' })).auth_token;
  const revoked = (await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format: 'opaque' })).auth_token;
  await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${s.config.adminToken}`).send({ auth_token: revoked }).expect(200);
  const unknown = generateOpaqueToken();

  const expectedIntrospection = (await introspect(s, auth, unknown)).text;
  const expectedValidation = (await validate(s, auth, unknown)).text;
  t.is(expectedIntrospection, '{"active":false,"reason":"not_found"}');
  t.is(expectedValidation, '{"valid":false,"reason":"not_found","message":"Token is not known to this server"}');
  for (const [name, token] of [['live', live], ['no site', noSite], ['revoked', revoked]] as const) {
    t.is((await introspect(s, auth, token)).text, expectedIntrospection, `/introspect, ${name}`);
    t.is((await validate(s, auth, token)).text, expectedValidation, `/validate, ${name}`);
  }
  // Expired as well: no expires_at, no "expired N minutes ago".
  s.clock.advance(3601);
  t.is((await introspect(s, auth, live)).text, expectedIntrospection, '/introspect, expired');
  t.is((await validate(s, auth, live)).text, expectedValidation, '/validate, expired');
});

apiTest('another site\'s JWT stays site_not_allowed: its claims are readable by whoever holds it', async (t, s) => {
  const { token } = await standardSetup(s);
  const limited = await s.admin.createClient({ site_ids: ['site-b'] });
  const auth = basic(limited.client_id, limited.client_secret);
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
  t.deepEqual((await introspect(s, auth, token)).body, { active: false, reason: 'site_not_allowed' });
  const v = await validate(s, auth, token);
  t.like(v.body, { valid: false, reason: 'site_not_allowed', expires_at: new Date(claims.exp * 1000).toISOString() });
  // Decided from the claims before any store lookup: a signed JWT of site-a without any grant
  // gets the same answer, so nothing about the grant (existence, revocation) is told.
  const ungranted = await signed(s, { jti: 'never-granted' });
  t.deepEqual((await introspect(s, auth, ungranted)).body, { active: false, reason: 'site_not_allowed' });
});

// ---- Item 10b: a JWT must name a JWT grant ----

apiTest('a JWT whose jti names an opaque grant is not_found, and revokes nothing', async (t, s) => {
  const { auth } = await standardSetup(s);
  const opaque = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', format: 'opaque' });
  const jwt = await signed(s, { jti: opaque.jti });
  t.deepEqual((await introspect(s, auth, jwt)).body, { active: false, reason: 'not_found' });
  t.like((await validate(s, auth, jwt)).body, { valid: false, reason: 'not_found' });

  // Neither the revocation endpoint (a client of site-a) nor the admin API revokes the opaque grant through it.
  const siteA = await s.admin.createClient({ site_ids: ['site-a'] });
  t.is((await s.request.post('/revoke').set('Authorization', basic(siteA.client_id, siteA.client_secret)).type('form').send({ token: jwt })).status, 200);
  const admin = await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${s.config.adminToken}`).send({ auth_token: jwt });
  t.deepEqual(admin.body, { revoked: 0 });
  t.true((await introspect(s, auth, opaque.auth_token)).body.active);
});

// ---- Item 10c: NumericDates are whole seconds in a sane range ----

apiTest('exp, iat and nbf must be integer NumericDates no later than 9999-12-31', async (t, s) => {
  const { auth } = await standardSetup(s);
  const now = Math.floor(s.clock.now().getTime() / 1000);
  const cases: [string, JWTPayload][] = [
    ['fractional exp', { exp: now + 600.5 }],
    ['fractional exp in the past', { exp: now - 0.5 }],
    ['exp 1e300', { exp: 1e300 }],
    ['exp after 9999', { exp: 253_402_300_800 }],
    ['fractional iat', { iat: now - 0.25 }],
    ['negative iat', { iat: -1 }],
    ['fractional nbf', { nbf: now - 10.5 }],
    ['nbf 1e300', { nbf: 1e300 }],
    ['exp as a string', { exp: String(now + 600) as unknown as number }],
  ];
  for (const [name, payload] of cases) {
    const jti = `dates-${cases.findIndex(([n]) => n === name)}`;
    await s.store.grants.insert({
      id: jti, customerId: 'c1', siteId: 'site-a', clientId: 'open-login', format: 'jwt', tokenHash: null,
      issuedAt: s.clock.now(), expiresAt: new Date(s.clock.now().getTime() + 600_000), revokedAt: null,
    });
    const token = await signed(s, { jti, ...payload });
    const i = await introspect(s, auth, token);
    t.is(i.status, 200, name);
    t.deepEqual(i.body, { active: false, reason: 'invalid_claims' }, name);
    const v = await validate(s, auth, token);
    t.is(v.status, 200, name);
    t.like(v.body, { valid: false, reason: 'invalid_claims' }, name);
    if (typeof v.body.expires_at === 'string') t.regex(v.body.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/, name);
  }
});

apiTest('an out-of-range exp never makes the validation answer fail (no 500 on any path)', async (t, s) => {
  const { auth } = await standardSetup(s);
  const limited = await s.admin.createClient({ site_ids: ['site-b'] });
  const limitedAuth = basic(limited.client_id, limited.client_secret);
  const cases: [string, string, JWTPayload][] = [
    ['no grant', auth, { jti: 'no-such-grant', exp: 1e300 }],
    ['another site', limitedAuth, { jti: 'no-such-grant', exp: 1e300 }],
    ['wrong issuer', auth, { jti: 'no-such-grant', exp: 1e300, iss: 'https://elsewhere.example' }],
    ['iat in the future', auth, { jti: 'no-such-grant', exp: 1e300, iat: Math.floor(s.clock.now().getTime() / 1000) + 3600 }],
    ['expired, fractional', auth, { jti: 'no-such-grant', exp: 1000.5 }],
  ];
  for (const [name, authorization, payload] of cases) {
    const token = await signed(s, payload);
    const v = await validate(s, authorization, token);
    t.is(v.status, 200, `${name}: ${v.text}`);
    t.is(v.body.valid, false, name);
    t.false('expires_at' in v.body, `${name}: no expires_at from a claim that is not a NumericDate`);
    t.is((await introspect(s, authorization, token)).status, 200, name);
  }
});

apiTest('the last second of year 9999 is still a NumericDate the validation answer can write', async (t, s) => {
  const { auth } = await standardSetup(s);
  const token = await signed(s, { jti: 'no-such-grant', exp: 253_402_300_799 });
  const v = await validate(s, auth, token);
  t.is(v.status, 200);
  t.like(v.body, { valid: false, reason: 'not_found', expires_at: '9999-12-31T23:59:59.000Z' });
});
