import test from 'ava';
import { decodeJwt } from 'jose';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { FixedClock } from '../../src/core/clock.js';
import { introspect } from '../../src/core/introspect.js';
import { issueToken } from '../../src/core/tokens/issue.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { resourceList } from '../../src/lib/resource-indicators.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { grantFromDocument, grantToDocument } from '../../src/store/mongo/documents.js';

const ISSUER = 'https://login.example.test';

test('RFC 3986 §6.2.2: scheme and host case and percent-encoding are normalised; path, query and userinfo are kept', (t) => {
  const cases: [string, string][] = [
    ['HTTPS://API.Example.COM/', 'https://api.example.com/'],
    ['https://API.example.com:8443/Orders?Q=1', 'https://api.example.com:8443/Orders?Q=1'],
    ['https://User@API.example.com/', 'https://User@api.example.com/'],
    ['https://[2001:DB8::1]/x', 'https://[2001:db8::1]/x'],
    ['https://a.example/%7euser/%2f%c3%a4', 'https://a.example/~user/%2F%C3%A4'],
    ['URN:Example:Resource', 'urn:Example:Resource'],
    ['https://a.example?x#', 'https://a.example?x#'],
  ];
  for (const [input, normal] of cases) {
    const checked = resourceList(input);
    if (input.includes('#')) {
      t.false(checked.ok, input);
      continue;
    }
    t.deepEqual(checked, { ok: true, uris: [normal] }, input);
  }
});

test('two spellings of one resource are one URI named twice', (t) => {
  for (const list of [
    ['https://api.example.com/', 'HTTPS://API.EXAMPLE.COM/'],
    ['https://a.example/~x', 'https://a.example/%7Ex'],
    ['https://a.example/%2f', 'https://a.example/%2F'],
  ]) {
    t.deepEqual(resourceList(list), { ok: false, problem: 'must not name a URI twice' }, list.join(' '));
  }
  t.true(resourceList(['https://a.example/X', 'https://a.example/x']).ok, 'paths are case-sensitive');
});

test('a token issued for an unnormalised URI names it normalised, and a resource server comparing as written agrees', async (t) => {
  const clock = new FixedClock(new Date('2026-01-15T12:00:00.000Z'));
  const store = new MemoryStore({ logger: silentLogger() });
  const keys = await KeyStore.fromRecords([await generateKeyRecord('ES256', clock.now())], { legacyHs256Secret: null, maxTokenTtlSeconds: 86_400, clock });
  await store.customers.upsert({ id: 'c1', status: 'active', email: null, firstName: null, lastName: null, updatedAt: clock.now() });
  const checked = resourceList('HTTPS://API.Example.COM/');
  if (!checked.ok) return t.fail();
  const { token } = await issueToken(
    { customerId: 'c1', siteId: null, clientId: 'open-login', expiresInSeconds: 600, format: 'jwt', audience: checked.uris },
    { keys, store, clock, issuer: ISSUER, audience: ISSUER },
  );
  t.is(decodeJwt(token).aud, 'https://api.example.com/');
  const verdict = await introspect(token, { siteIds: null }, { keys, store, clock, issuer: ISSUER, audience: ISSUER, clockSkewSeconds: 30, maxTokenTtlSeconds: 86_400 });
  t.true(verdict.active);
});

test('a grant document keeps its audience as the login service wrote it (its JWT has the same spelling), but not one resource twice', (t) => {
  const doc = {
    _id: 'g1', customer_id: 'c1', site_id: null, client_id: 'open-login', format: 'jwt', token_hash: null,
    issued_at: new Date(0), expires_at: new Date(1000), revoked_at: null,
  };
  t.deepEqual(grantFromDocument({ ...doc, audience: 'HTTPS://API.Example.COM/' })?.audience, ['HTTPS://API.Example.COM/']);
  t.is(grantFromDocument({ ...doc, audience: ['https://api.example.com/', 'HTTPS://API.EXAMPLE.COM/'] }), null);
});

test('TOKEN_AUDIENCE is recorded on grants, so it must be a resource indicator: else every stored grant would read back malformed', async (t) => {
  for (const value of ['my-api', 'https://a.example/#x', `https://a.example/${'x'.repeat(300)}`]) {
    const error = t.throws(() => loadConfig({ TOKEN_AUDIENCE: value }), { instanceOf: ConfigError }, value);
    t.regex(error.message, /^TOKEN_AUDIENCE: must be an absolute URI/);
    t.false(error.message.includes(value));
  }
  t.is(loadConfig({ TOKEN_AUDIENCE: 'HTTPS://API.Example.COM/' }).audience, 'HTTPS://API.Example.COM/', 'as written: older tokens name it so');
  t.is(loadConfig({ ISSUER: 'https://login.example.test' }).audience, 'https://login.example.test');
  // What happens without the check: a grant issued for TOKEN_AUDIENCE 'my-api' cannot be read back.
  const grant = {
    id: 'g1', customerId: 'c1', siteId: null, clientId: 'open-login', format: 'jwt' as const, tokenHash: null,
    audience: ['my-api'], issuedAt: new Date(0), expiresAt: new Date(1000), revokedAt: null,
  };
  t.is(grantFromDocument(grantToDocument(grant)), null);
});
