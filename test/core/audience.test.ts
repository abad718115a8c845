import test from 'ava';
import { SignJWT, decodeJwt, type JWTPayload } from 'jose';
import { FixedClock, toNumericDate } from '../../src/core/clock.js';
import { introspect, MAX_TOKEN_LENGTH, type IntrospectionDeps, type Verdict } from '../../src/core/introspect.js';
import { issueToken } from '../../src/core/tokens/issue.js';
import { VerifiedTokenCache } from '../../src/core/tokens/verified-cache.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { MAX_RESOURCE_LENGTH, MAX_RESOURCES, resourceList, sameAudience } from '../../src/lib/resource-indicators.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Grant } from '../../src/store/types.js';
import { countingStore, withoutPeeks } from '../helpers/stores.js';

const ISSUER = 'https://login.example.test';
const START = new Date('2026-01-15T12:00:00.000Z');
const ALL = { siteIds: null };
const A = 'https://api.a.example/';
const B = 'https://api.b.example/v1';

async function fixture() {
  const clock = new FixedClock(START);
  const store = new MemoryStore({ logger: silentLogger() });
  const keys = await KeyStore.fromRecords([await generateKeyRecord('ES256', clock.now())], { legacyHs256Secret: null, maxTokenTtlSeconds: 86_400, clock });
  const deps: IntrospectionDeps = { keys, store, clock, issuer: ISSUER, audience: ISSUER, clockSkewSeconds: 30, maxTokenTtlSeconds: 86_400 };
  await store.customers.upsert({ id: 'c1', status: 'active', email: null, firstName: null, lastName: null, updatedAt: clock.now() });
  const issue = (audience: string[] | undefined, format: 'jwt' | 'opaque' = 'jwt') =>
    issueToken(
      { customerId: 'c1', siteId: 'site-a', clientId: 'open-login', expiresInSeconds: 600, format, ...(audience ? { audience } : {}) },
      { keys, store, clock, issuer: ISSUER, audience: ISSUER },
    );
  /** The claims of `token`, changed, and signed again with the server's own key (as a holder of a signing key could). */
  const resign = (token: string, change: JWTPayload) =>
    new SignJWT({ ...decodeJwt(token), ...change }).setProtectedHeader({ alg: 'ES256', kid: keys.current.kid, typ: 'at+jwt' }).sign(keys.current.key);
  /** A grant as the login service may write it: with no audience recorded. */
  const legacyGrant = async (id: string) => {
    const grant: Grant = {
      id, customerId: 'c1', siteId: 'site-a', clientId: 'open-login', format: 'jwt', tokenHash: null,
      issuedAt: clock.now(), expiresAt: new Date(clock.now().getTime() + 600_000), revokedAt: null,
    };
    await store.grants.insert(grant);
  };
  const claims = (extra: JWTPayload): JWTPayload => {
    const iat = toNumericDate(clock.now());
    return { iss: ISSUER, sub: 'c1', client_id: 'open-login', site_id: 'site-a', iat, exp: iat + 600, jti: 'legacy-1', ...extra };
  };
  const sign = (payload: JWTPayload) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: keys.current.kid, typ: 'at+jwt' }).sign(keys.current.key);
  return { clock, store, keys, deps, issue, resign, legacyGrant, claims, sign };
}

const reasonOf = (v: Verdict) => (v.active ? 'active' : v.reason);

test('one audience is a string aud, several an array; the grant records it and the verdict carries it', async (t) => {
  const f = await fixture();
  const one = await f.issue([A]);
  t.is(decodeJwt(one.token).aud, A);
  t.deepEqual(one.grant.audience, [A]);
  const two = await f.issue([A, B]);
  t.deepEqual(decodeJwt(two.token).aud, [A, B]);
  t.deepEqual(two.grant.audience, [A, B]);
  const v = await introspect(two.token, ALL, f.deps);
  t.true(v.active);
  if (v.active) t.deepEqual(v.token.aud, [A, B]);
  // None asked for: the default (TOKEN_AUDIENCE), recorded all the same.
  const plain = await f.issue(undefined);
  t.is(decodeJwt(plain.token).aud, ISSUER);
  t.deepEqual(plain.grant.audience, [ISSUER]);
});

test('a JWT re-signed with another aud does not agree with its grant: invalid_claims, on every path', async (t) => {
  const f = await fixture();
  const { token } = await f.issue([A, B]);
  const altered: [string, JWTPayload['aud']][] = [
    ['another resource server', 'https://evil.example/'],
    ['one of the two only', A],
    ['one of the two only, as an array', [B]],
    ['one added', [A, B, 'https://evil.example/']],
    ['one repeated in place of the other', [A, A]],
    ['the issuer (the old global audience)', ISSUER],
    ['case changed (URIs compare as written)', [A.toUpperCase(), B]],
  ];
  const cached = { ...f.deps, verifiedTokens: new VerifiedTokenCache(100) };
  const finding = { ...f.deps, store: withoutPeeks(f.store) };
  for (const [name, aud] of altered) {
    const forged = await f.resign(token, { aud });
    t.is(reasonOf(await introspect(forged, ALL, f.deps)), 'invalid_claims', `${name} (peek)`);
    t.is(reasonOf(await introspect(forged, ALL, finding)), 'invalid_claims', `${name} (find)`);
    await introspect(forged, ALL, cached);
    const warm = introspect(forged, ALL, cached);
    t.false(warm instanceof Promise, `${name}: a warm verdict is synchronous`);
    t.is(reasonOf(await warm), 'invalid_claims', `${name} (verified cache)`);
  }
  // The same URIs in another order are the same audience.
  t.is(reasonOf(await introspect(await f.resign(token, { aud: [B, A] }), ALL, f.deps)), 'active');
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'active');
});

test('list vs string: a one-URI grant accepts "aud" as a string or a one-item array, and nothing else', async (t) => {
  const f = await fixture();
  const { token } = await f.issue([A]);
  t.is(reasonOf(await introspect(await f.resign(token, { aud: [A] }), ALL, f.deps)), 'active');
  t.is(reasonOf(await introspect(await f.resign(token, { aud: [A, A] }), ALL, f.deps)), 'invalid_claims');
  t.is(reasonOf(await introspect(await f.resign(token, { aud: [A, B] }), ALL, f.deps)), 'invalid_claims');
});

test('a missing or ill-typed aud is invalid_claims before any store call', async (t) => {
  const f = await fixture();
  const { token } = await f.issue([A]);
  const { store, calls } = countingStore(f.store);
  for (const aud of [undefined, 42, '', [], [''], [A, 5], { 0: A }, null]) {
    calls.length = 0;
    const forged = await f.resign(token, { aud: aud as never });
    t.is(reasonOf(await introspect(forged, ALL, { ...f.deps, store })), 'invalid_claims', JSON.stringify(aud) ?? 'undefined');
    t.deepEqual(calls, [], `${JSON.stringify(aud) ?? 'undefined'}: no store call`);
  }
});

test('a grant that records no audience keeps the earlier rule: aud contains TOKEN_AUDIENCE', async (t) => {
  const f = await fixture();
  await f.legacyGrant('legacy-1');
  t.is(reasonOf(await introspect(await f.sign(f.claims({ aud: ISSUER })), ALL, f.deps)), 'active');
  t.is(reasonOf(await introspect(await f.sign(f.claims({ aud: [A, ISSUER] })), ALL, f.deps)), 'active');
  t.is(reasonOf(await introspect(await f.sign(f.claims({ aud: A })), ALL, f.deps)), 'invalid_claims');
  t.is(reasonOf(await introspect(await f.sign(f.claims({ aud: ISSUER })), ALL, { ...f.deps, audience: A })), 'invalid_claims');
});

test('an opaque token answers with its grant\'s audience; an older grant with TOKEN_AUDIENCE', async (t) => {
  const f = await fixture();
  const two = await introspect((await f.issue([A, B], 'opaque')).token, ALL, f.deps);
  t.true(two.active && JSON.stringify(two.token.aud) === JSON.stringify([A, B]));
  const one = await introspect((await f.issue([A], 'opaque')).token, ALL, f.deps);
  t.true(one.active && one.token.aud === A);
  const { token, grant } = await f.issue(undefined, 'opaque');
  // As if the grant had been written before audiences were recorded.
  const older = new MemoryStore({ logger: silentLogger() });
  const { audience: _recorded, ...withoutAudience } = grant;
  await older.grants.insert(withoutAudience);
  await older.customers.upsert((await f.store.customers.findById('c1'))!);
  const v = await introspect(token, ALL, { ...f.deps, store: older, audience: 'urn:example:older' });
  t.true(v.active && v.token.aud === 'urn:example:older');
});

test('the largest audience allowed, with the longest ids, still makes a token under the length limit', async (t) => {
  const f = await fixture();
  const long = (i: number) => `https://${String(i)}.example/${'p'.repeat(MAX_RESOURCE_LENGTH - 19)}`;
  const audience = Array.from({ length: MAX_RESOURCES }, (_, i) => long(i));
  t.true(resourceList(audience).ok);
  const id = 'i'.repeat(128);
  await f.store.customers.upsert({ id, status: 'active', email: null, firstName: null, lastName: null, updatedAt: f.clock.now() });
  const { token } = await issueToken(
    { customerId: id, siteId: id, clientId: id, expiresInSeconds: 600, format: 'jwt', audience },
    { keys: f.keys, store: f.store, clock: f.clock, issuer: ISSUER, audience: ISSUER },
  );
  t.true(token.length <= MAX_TOKEN_LENGTH, `${token.length} characters`);
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'active');
});

test('resource indicators: absolute URIs without a fragment, 1-5 of them, different, at most 255 characters', (t) => {
  for (const ok of [A, [A, B], 'urn:example:resource', 'https://h.example:8443/p?q=1', ['https://[::1]/x']]) t.true(resourceList(ok).ok, JSON.stringify(ok));
  const refused = [
    '', 'api.example', '/relative', '//host/x', 'https://a.example/#frag', 'https://a.example/ x', 'https://a.example/\n',
    'https://a.example/%zz', `https://a.example/${'x'.repeat(MAX_RESOURCE_LENGTH)}`, '1http://a.example', [], [A, A],
    Array.from({ length: MAX_RESOURCES + 1 }, (_, i) => `https://${i}.example/`), [A, 5], 42, null, { uri: A }, 'https://ä.example/',
  ];
  for (const bad of refused) {
    const checked = resourceList(bad);
    t.false(checked.ok, JSON.stringify(bad));
    if (!checked.ok && typeof bad === 'string' && bad.length > 3) t.false(checked.problem.includes(bad), 'the problem never repeats the value');
  }
  t.true(sameAudience([B, A], [A, B]));
  t.false(sameAudience([A, A], [A, B]));
});
