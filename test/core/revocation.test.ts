import test from 'ava';
import { FixedClock } from '../../src/core/clock.js';
import type { IntrospectionDeps } from '../../src/core/introspect.js';
import { decideRevocation, isIssuedTo } from '../../src/core/revocation.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { issueToken } from '../../src/core/tokens/issue.js';
import { generateOpaqueToken } from '../../src/core/tokens/opaque.js';

const ISSUER = 'https://login.example.test';
const START = new Date('2026-01-15T12:00:00.000Z');

async function fixture() {
  const clock = new FixedClock(START);
  const store = new MemoryStore({ logger: silentLogger() });
  const keys = await KeyStore.fromRecords([await generateKeyRecord('ES256', START)], { legacyHs256Secret: null, maxTokenTtlSeconds: 86_400, clock });
  const deps: IntrospectionDeps = { keys, store, clock, issuer: ISSUER, audience: ISSUER, clockSkewSeconds: 30, maxTokenTtlSeconds: 86_400 };
  await store.customers.upsert({ id: 'c1', status: 'active', email: null, firstName: null, lastName: null, updatedAt: START });
  const issue = async (o: { siteId?: string | null; clientId?: string; format?: 'jwt' | 'opaque'; expiresInSeconds?: number } = {}) => {
    const { token, grant } = await issueToken(
      { customerId: 'c1', siteId: 'site-a', clientId: 'open-login', expiresInSeconds: 600, format: 'jwt', ...o },
      { keys, store, clock, issuer: ISSUER, audience: ISSUER },
    );
    return { token, jti: grant.id };
  };
  return { clock, store, deps, issue };
}

const unrestricted = { id: 'gateway', siteIds: null };
const siteA = { id: 'site-a-backend', siteIds: ['site-a'] };
const siteB = { id: 'site-b-backend', siteIds: ['site-b'] };

test('"issued to": the token\'s client_id, or one of the sites a site-limited caller is limited to', (t) => {
  t.true(isIssuedTo(unrestricted, { clientId: 'gateway', siteId: null }));
  t.false(isIssuedTo(unrestricted, { clientId: 'open-login', siteId: 'site-a' }), 'seeing every site is not owning every token');
  t.true(isIssuedTo(siteA, { clientId: 'open-login', siteId: 'site-a' }));
  t.false(isIssuedTo(siteA, { clientId: 'open-login', siteId: null }));
  t.false(isIssuedTo(siteB, { clientId: 'open-login', siteId: 'site-a' }));
});

test('live tokens: revoked for the client they were issued to, refused for another that sees them', async (t) => {
  const f = await fixture();
  for (const format of ['jwt', 'opaque'] as const) {
    const own = await f.issue({ clientId: 'gateway', format });
    t.deepEqual(await decideRevocation(own.token, unrestricted, f.deps), { outcome: 'revoke', grantId: own.jti }, format);
    const other = await f.issue({ format });
    t.deepEqual(await decideRevocation(other.token, unrestricted, f.deps), { outcome: 'refused', grantId: other.jti }, format);
    t.deepEqual(await decideRevocation(other.token, siteA, f.deps), { outcome: 'revoke', grantId: other.jti }, format);
  }
});

test('tokens a site-limited caller may not see, unknown and invalid tokens: nothing to do', async (t) => {
  const f = await fixture();
  const none = { outcome: 'none' };
  for (const format of ['jwt', 'opaque'] as const) {
    t.deepEqual(await decideRevocation((await f.issue({ format })).token, siteB, f.deps), none, `${format} of another site`);
    t.deepEqual(await decideRevocation((await f.issue({ format, clientId: siteB.id })).token, siteB, f.deps), none, `${format} issued to it, another site`);
    t.deepEqual(await decideRevocation((await f.issue({ format, siteId: null })).token, siteA, f.deps), none, `${format} of no site`);
    const revoked = await f.issue({ format });
    await f.store.grants.revoke(revoked.jti, f.clock.now());
    t.deepEqual(await decideRevocation(revoked.token, unrestricted, f.deps), none, `${format} revoked`);
    const expired = await f.issue({ format, expiresInSeconds: 1 });
    f.clock.advance(1);
    t.deepEqual(await decideRevocation(expired.token, unrestricted, f.deps), none, `${format} expired`);
  }
  t.deepEqual(await decideRevocation(generateOpaqueToken(), unrestricted, f.deps), none);
  t.deepEqual(await decideRevocation('not-a-token', unrestricted, f.deps), none);
});

test('a disabled customer leaves the grant live, so the rule still applies', async (t) => {
  const f = await fixture();
  const own = await f.issue({ clientId: 'gateway' });
  const other = await f.issue();
  await f.store.customers.upsert({ id: 'c1', status: 'disabled', email: null, firstName: null, lastName: null, updatedAt: START });
  t.deepEqual(await decideRevocation(own.token, unrestricted, f.deps), { outcome: 'revoke', grantId: own.jti });
  t.deepEqual(await decideRevocation(other.token, unrestricted, f.deps), { outcome: 'refused', grantId: other.jti });
});
