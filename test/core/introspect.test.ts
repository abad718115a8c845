import test from 'ava';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { FixedClock, toNumericDate } from '../../src/core/clock.js';
import { introspect, MAX_TOKEN_LENGTH, type IntrospectionDeps, type Verdict } from '../../src/core/introspect.js';
import { describeReason } from '../../src/core/reasons.js';
import { generateKeyRecord, KeyStore, rotateKeyRecords, type KeyRecord } from '../../src/keys/keystore.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { issueToken } from '../../src/core/tokens/issue.js';
import { generateOpaqueToken } from '../../src/core/tokens/opaque.js';
import { VerifiedTokenCache } from '../../src/core/tokens/verified-cache.js';
import { withoutPeeks } from '../helpers/stores.js';

const ISSUER = 'https://login.example.test';
const START = new Date('2026-01-15T12:00:00.000Z');
const LEGACY_SECRET = 'legacy-shared-secret-0123456789abcdef';
const ALL = { siteIds: null };

interface Fixture {
  deps: IntrospectionDeps & { keys: KeyStore };
  clock: FixedClock;
  store: MemoryStore;
  records: KeyRecord[];
  issue: (o?: Partial<{ customerId: string; siteId: string | null; expiresInSeconds: number; format: 'jwt' | 'opaque' }>) => Promise<string>;
  sign: (payload: JWTPayload, header?: Record<string, unknown>) => Promise<string>;
}

async function fixture(o: { legacy?: boolean; records?: KeyRecord[]; maxTtl?: number } = {}): Promise<Fixture> {
  const clock = new FixedClock(START);
  const store = new MemoryStore({ logger: silentLogger() });
  const records = o.records ?? [await generateKeyRecord('ES256', clock.now())];
  const maxTokenTtlSeconds = o.maxTtl ?? 86_400;
  const keys = await KeyStore.fromRecords(records, { legacyHs256Secret: o.legacy ? LEGACY_SECRET : null, maxTokenTtlSeconds, clock });
  const deps: IntrospectionDeps & { keys: KeyStore } = { keys, store, clock, issuer: ISSUER, audience: ISSUER, clockSkewSeconds: 30, maxTokenTtlSeconds };
  await store.customers.upsert({ id: 'c1', status: 'active', email: null, firstName: null, lastName: null, updatedAt: clock.now() });
  const issue: Fixture['issue'] = async (opts = {}) => {
    const { token } = await issueToken(
      { customerId: 'c1', siteId: 'site-a', clientId: 'open-login', expiresInSeconds: 3600, format: 'jwt', ...opts },
      { keys, store, clock, issuer: ISSUER, audience: ISSUER },
    );
    return token;
  };
  const sign: Fixture['sign'] = (payload, header = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: keys.current.kid, typ: 'at+jwt', ...header } as never).sign(keys.current.key);
  return { deps, clock, store, records, issue, sign };
}

/** Claims of a token as our issuer makes them, for hand-made variants. */
function claims(f: Fixture, extra: JWTPayload = {}): JWTPayload {
  const iat = toNumericDate(f.clock.now());
  return { iss: ISSUER, sub: 'c1', aud: ISSUER, client_id: 'open-login', site_id: 'site-a', iat, exp: iat + 600, jti: 'grant-1', ...extra };
}

async function grantFor(f: Fixture, id = 'grant-1', customerId = 'c1', siteId: string | null = 'site-a') {
  const now = f.clock.now();
  await f.store.grants.insert({
    id, customerId, siteId, clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: now, expiresAt: new Date(now.getTime() + 600_000), revokedAt: null,
  });
}

const reasonOf = (v: Verdict) => (v.active ? 'active' : v.reason);

test('an issued JWT is active and carries its claims', async (t) => {
  const f = await fixture();
  const v = await introspect(await f.issue(), ALL, f.deps);
  t.true(v.active);
  if (!v.active) return;
  t.is(v.token.sub, 'c1');
  t.is(v.token.siteId, 'site-a');
  t.is(v.token.format, 'jwt');
  t.is(v.token.exp, toNumericDate(START) + 3600);
  t.is(v.customer.id, 'c1');
});

test('an issued opaque token is active and found by its hash', async (t) => {
  const f = await fixture();
  const token = await f.issue({ format: 'opaque' });
  t.regex(token, /^olt_[A-Za-z0-9_-]{43}$/);
  const v = await introspect(token, ALL, f.deps);
  t.true(v.active);
  if (v.active) t.is(v.token.format, 'opaque');
});

test('exp is strict: active one second before, expired at the second itself', async (t) => {
  for (const format of ['jwt', 'opaque'] as const) {
    const f = await fixture();
    const token = await f.issue({ expiresInSeconds: 60, format });
    f.clock.advance(59);
    t.is(reasonOf(await introspect(token, ALL, f.deps)), 'active', format);
    f.clock.advance(1);
    const v = await introspect(token, ALL, f.deps);
    t.is(reasonOf(v), 'expired', format);
    if (!v.active) t.is(v.exp, toNumericDate(START) + 60);
  }
});

test('clock skew never extends exp', async (t) => {
  const f = await fixture();
  const token = await f.issue({ expiresInSeconds: 60 });
  f.clock.advance(65); // within the 30 s skew jose would allow on exp
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'expired');
});

test('a grant shortened by the store ends the token early', async (t) => {
  const f = await fixture();
  const token = await f.sign(claims(f, { exp: toNumericDate(START) + 3600 }));
  await f.store.grants.insert({
    id: 'grant-1', customerId: 'c1', siteId: 'site-a', clientId: 'open-login', format: 'jwt', tokenHash: null,
    issuedAt: START, expiresAt: new Date(START.getTime() + 60_000), revokedAt: null,
  });
  f.clock.advance(61);
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'expired');
});

test('revoked grants make both formats inactive', async (t) => {
  const f = await fixture();
  for (const format of ['jwt', 'opaque'] as const) {
    const token = await f.issue({ format });
    const before = await introspect(token, ALL, f.deps);
    t.true(before.active);
    if (before.active) await f.store.grants.revoke(before.grant.id, f.clock.now());
    const after = await introspect(token, ALL, f.deps);
    t.is(reasonOf(after), 'revoked');
    if (!after.active) t.truthy(after.grantId);
  }
});

test('a validly signed JWT without a grant is not_found', async (t) => {
  const f = await fixture();
  t.is(reasonOf(await introspect(await f.sign(claims(f)), ALL, f.deps)), 'not_found');
});

test('an unknown opaque token is not_found', async (t) => {
  const f = await fixture();
  t.is(reasonOf(await introspect(generateOpaqueToken(), ALL, f.deps)), 'not_found');
});

test('malformed input is refused before any store access', async (t) => {
  const f = await fixture();
  const failing: Store = { ...f.store, kind: 'failing', grants: new Proxy(f.store.grants, { get: () => { throw new Error('store touched'); } }) } as Store;
  const deps = { ...f.deps, store: failing };
  const inputs = ['', 'abc', 'a.b', 'a.b.c.d', 'olt_short', 'olt_' + 'A'.repeat(44), '%%%.%%%.%%%', 'eyJ.eyJ.sig', 'x'.repeat(MAX_TOKEN_LENGTH + 1), 'Bearer abc', '\u0000.\u0000.\u0000'];
  for (const input of inputs) t.is(reasonOf(await introspect(input, ALL, deps)), 'malformed', JSON.stringify(input.slice(0, 20)));
});

test('a tampered payload fails the signature check', async (t) => {
  const f = await fixture();
  const [h, , s] = (await f.issue()).split('.');
  const forged = Buffer.from(JSON.stringify(claims(f, { sub: 'someone-else' }))).toString('base64url');
  t.is(reasonOf(await introspect(`${h}.${forged}.${s}`, ALL, f.deps)), 'invalid_signature');
});

test('a token signed by a foreign key under our kid is invalid_signature', async (t) => {
  const f = await fixture();
  const { privateKey } = await generateKeyPair('ES256');
  await grantFor(f);
  const token = await new SignJWT(claims(f)).setProtectedHeader({ alg: 'ES256', kid: f.deps.keys.current.kid, typ: 'at+jwt' }).sign(privateKey);
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'invalid_signature');
});

test('an unknown kid is invalid_signature', async (t) => {
  const f = await fixture();
  await grantFor(f);
  t.is(reasonOf(await introspect(await f.sign(claims(f), { kid: 'unknown-kid' }), ALL, f.deps)), 'invalid_signature');
});

test('alg none is refused', async (t) => {
  const f = await fixture();
  await grantFor(f);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${enc({ alg: 'none', typ: 'at+jwt', kid: f.deps.keys.current.kid })}.${enc(claims(f))}.`;
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'invalid_signature');
});

test('HS256 is refused when no legacy secret is configured', async (t) => {
  const f = await fixture();
  await grantFor(f);
  const token = await new SignJWT(claims(f)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(LEGACY_SECRET));
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'invalid_signature');
});

test('algorithm confusion: HS256 keyed with our public key is refused', async (t) => {
  const f = await fixture({ legacy: true });
  await grantFor(f);
  const publicJwk = JSON.stringify(f.deps.keys.publicJwks().keys[0]);
  const token = await new SignJWT(claims(f))
    .setProtectedHeader({ alg: 'HS256', kid: f.deps.keys.current.kid, typ: 'at+jwt' })
    .sign(new TextEncoder().encode(publicJwk));
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'invalid_signature');
});

test('legacy HS256 tokens verify with the configured secret', async (t) => {
  const f = await fixture({ legacy: true });
  await grantFor(f);
  const token = await new SignJWT(claims(f)).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(LEGACY_SECRET));
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'active');
});

test('wrong issuer, audience, typ or missing claims are invalid_claims', async (t) => {
  const f = await fixture();
  await grantFor(f);
  const cases: [string, Promise<string>][] = [
    ['issuer', f.sign(claims(f, { iss: 'https://evil.example' }))],
    ['audience', f.sign(claims(f, { aud: 'someone-else' }))],
    ['typ', f.sign(claims(f), { typ: 'JWT' })],
    ['no jti', f.sign(claims(f, { jti: undefined }))],
    ['no client_id', f.sign(claims(f, { client_id: undefined }))],
    ['numeric sub', f.sign(claims(f, { sub: 42 as unknown as string }))],
    ['object site_id', f.sign(claims(f, { site_id: { $ne: null } }))],
  ];
  for (const [name, token] of cases) t.is(reasonOf(await introspect(await token, ALL, f.deps)), 'invalid_claims', name);
});

test('a token whose claims disagree with its grant is invalid_claims', async (t) => {
  const f = await fixture();
  await grantFor(f, 'grant-1', 'c2');
  t.is(reasonOf(await introspect(await f.sign(claims(f)), ALL, f.deps)), 'invalid_claims');
});

test('nbf and iat beyond the clock skew are not_yet_valid; within it, active', async (t) => {
  const f = await fixture();
  await grantFor(f);
  const now = toNumericDate(f.clock.now());
  t.is(reasonOf(await introspect(await f.sign(claims(f, { nbf: now + 31 })), ALL, f.deps)), 'not_yet_valid');
  t.is(reasonOf(await introspect(await f.sign(claims(f, { iat: now + 31 })), ALL, f.deps)), 'not_yet_valid');
  t.is(reasonOf(await introspect(await f.sign(claims(f, { nbf: now + 29, iat: now + 29 })), ALL, f.deps)), 'active');
});

test('customer missing or disabled', async (t) => {
  const f = await fixture();
  const token = await f.issue();
  await f.store.customers.upsert({ id: 'c1', status: 'disabled', email: null, firstName: null, lastName: null, updatedAt: f.clock.now() });
  t.is(reasonOf(await introspect(token, ALL, f.deps)), 'customer_disabled');
  const orphan = await f.issue({ customerId: 'ghost' });
  t.is(reasonOf(await introspect(orphan, ALL, f.deps)), 'customer_not_found');
});

test('clients limited to sites see only those sites', async (t) => {
  const f = await fixture();
  const siteA = await f.issue({ siteId: 'site-a' });
  const noSite = await f.issue({ siteId: null });
  const opaqueA = await f.issue({ siteId: 'site-a', format: 'opaque' });
  t.is(reasonOf(await introspect(siteA, { siteIds: ['site-a'] }, f.deps)), 'active');
  t.is(reasonOf(await introspect(siteA, { siteIds: ['site-b'] }, f.deps)), 'site_not_allowed');
  t.is(reasonOf(await introspect(noSite, { siteIds: ['site-a'] }, f.deps)), 'site_not_allowed');
  t.is(reasonOf(await introspect(noSite, ALL, f.deps)), 'active');
  // An opaque token of another site reads as an unknown one (README "Reason codes").
  t.is(reasonOf(await introspect(opaqueA, { siteIds: ['site-b'] }, f.deps)), 'not_found');
  t.is(reasonOf(await introspect(opaqueA, { siteIds: ['site-a'] }, f.deps)), 'active');
});

test('another site\'s opaque token gives the verdict, and costs the store calls, of an unknown one', async (t) => {
  const f = await fixture();
  const calls: string[] = [];
  const recording = <T extends object>(part: T, name: string): T =>
    new Proxy(part, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(key)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const store = { ...f.store, kind: 'recording', grants: recording(f.store.grants, 'grants'), customers: recording(f.store.customers, 'customers') } as Store;
  const deps = { ...f.deps, store };
  const siteB = { siteIds: ['site-b'] };
  const seen = async (token: string) => {
    calls.length = 0;
    const verdict = await introspect(token, siteB, deps);
    return { verdict, calls: [...calls] };
  };
  const unknown = await seen(generateOpaqueToken());
  for (const [name, token] of [['site-a', await f.issue({ format: 'opaque' })], ['no site', await f.issue({ format: 'opaque', siteId: null })]] as const) {
    t.deepEqual(await seen(token), unknown, name);
  }
  // One read of the grant by token hash (the embedded store answers it synchronously), nothing else.
  t.deepEqual(unknown, { verdict: { active: false, reason: 'not_found' }, calls: ['grants.peekByTokenHash'] });
});

test('a JWT whose jti names an opaque grant is not_found and carries no grant id', async (t) => {
  const f = await fixture();
  const { grant } = await issueToken(
    { customerId: 'c1', siteId: 'site-a', clientId: 'open-login', expiresInSeconds: 600, format: 'opaque' },
    { ...f.deps, audience: ISSUER },
  );
  const v = await introspect(await f.sign(claims(f, { jti: grant.id })), ALL, f.deps);
  t.is(reasonOf(v), 'not_found');
  t.false(!v.active && 'grantId' in v && v.grantId !== undefined, 'nothing to revoke through it');
});

/** The order of the P-256 group: an ECDSA signature (r, s) also verifies as (r, n - s). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The other of the two ES256 signatures of the same header and claims. */
function ecdsaTwin(token: string): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(sig, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const other = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), other]).toString('base64url')}`;
}

test('ECDSA: both signatures of one grant verify, and name (and revoke) the same grant', async (t) => {
  for (const cached of [false, true]) {
    const f = await fixture();
    const deps = cached ? { ...f.deps, verifiedTokens: new VerifiedTokenCache(100) } : f.deps;
    const token = await f.issue();
    const twin = ecdsaTwin(token);
    t.not(twin, token);
    const a = await introspect(token, ALL, deps);
    const b = await introspect(twin, ALL, deps);
    t.true(a.active && b.active, `both verify (cache: ${cached})`);
    if (!a.active || !b.active) return;
    t.is(a.grant.id, b.grant.id);
    // Revocation is by grant, so it ends both strings at once, cached or not.
    await f.store.grants.revoke(a.grant.id, f.clock.now());
    t.is(reasonOf(await introspect(token, ALL, deps)), 'revoked');
    t.is(reasonOf(await introspect(twin, ALL, deps)), 'revoked');
  }
});

test('a signature in a non-canonical base64url spelling is malformed (RFC 4648 §3.5)', async (t) => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    const f = await fixture({ records: [await generateKeyRecord(alg, START)] });
    const token = await f.issue();
    t.is(reasonOf(await introspect(token, ALL, f.deps)), 'active', alg);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let spellings = 0;
    for (const c of alphabet) {
      const other = `${sig.slice(0, -1)}${c}`;
      // Only spellings of the same bytes: the unused low bits of the last character set.
      if (other === sig || !Buffer.from(other, 'base64url').equals(Buffer.from(sig, 'base64url'))) continue;
      spellings += 1;
      t.is(reasonOf(await introspect(`${h}.${p}.${other}`, ALL, f.deps)), 'malformed', `${alg} …${c}`);
    }
    t.true(spellings > 0, alg);
  }
});

test('a retired key verifies its tokens until they can no longer be unexpired', async (t) => {
  const clock = new FixedClock(START);
  const first = [await generateKeyRecord('ES256', clock.now())];
  const f = await fixture({ records: first, maxTtl: 7200 });
  const oldToken = await f.issue({ expiresInSeconds: 7200 });
  const rotated = await rotateKeyRecords(first, 'ES256', START);
  const keys = await KeyStore.fromRecords(rotated, { legacyHs256Secret: null, maxTokenTtlSeconds: 7200, clock: f.clock });
  const deps = { ...f.deps, keys };
  t.not(keys.current.kid, first[0]!.kid);
  t.is(reasonOf(await introspect(oldToken, ALL, deps)), 'active');
  t.is(keys.publicJwks().keys.length, 2);
  f.clock.advance(7201);
  t.is(keys.publicJwks().keys.length, 1);
  t.not(reasonOf(await introspect(oldToken, ALL, deps)), 'active');
});

test('a store failure is an error, never a verdict', async (t) => {
  const f = await fixture();
  const token = await f.issue();
  const down = new Proxy(f.store.grants, {
    get: () => async () => {
      throw new StoreUnavailableError('down');
    },
  });
  const deps = { ...f.deps, store: { ...f.store, kind: 'down', grants: down, customers: f.store.customers, clients: f.store.clients } as Store };
  await t.throwsAsync(async () => introspect(token, ALL, deps), { instanceOf: StoreUnavailableError });
});

test('reason messages say when a token expired and never include the token', (t) => {
  const now = 1_000_000;
  t.is(describeReason('expired', { exp: now - 33 * 60, now }), 'Token expired 33 minutes ago');
  t.is(describeReason('expired', { exp: now - 1, now }), 'Token expired 1 second ago');
  t.is(describeReason('expired', { exp: now - 2 * 86_400 - 5, now }), 'Token expired 2 days ago');
  t.is(describeReason('not_yet_valid', { nbf: now + 120, now }), 'Token is not valid for another 2 minutes');
  t.is(describeReason('revoked', { now }), 'Token has been revoked');
});

test('a verdict read through the stores\' synchronous peeks is the verdict read through find, for every outcome', async (t) => {
  const f = await fixture();
  const cache = new VerifiedTokenCache(100);
  const peeking = { ...f.deps, verifiedTokens: cache };
  const finding = { ...f.deps, store: withoutPeeks(f.store) };
  await f.store.customers.upsert({ id: 'c2', status: 'disabled', email: null, firstName: null, lastName: null, updatedAt: f.clock.now() });
  const tokens: string[] = [];
  for (const format of ['jwt', 'opaque'] as const) {
    tokens.push(await f.issue({ format }));
    tokens.push(await f.issue({ format, siteId: 'site-b' }));
    tokens.push(await f.issue({ format, customerId: 'c2' }));
    tokens.push(await f.issue({ format, customerId: 'nobody' }));
    const revoked = await f.issue({ format });
    const v = await introspect(revoked, ALL, f.deps);
    if (v.active) await f.store.grants.revoke(v.grant.id, f.clock.now());
    tokens.push(revoked);
  }
  tokens.push(await f.sign(claims(f, { jti: 'no-such-grant' })), generateOpaqueToken(), 'not a token');
  const reasons = new Set<string>();
  for (const caller of [ALL, { siteIds: ['site-a'] }]) {
    for (const token of tokens) {
      await introspect(token, caller, peeking); // fills the verified-JWT cache, so the next call is synchronous throughout
      const fast = introspect(token, caller, peeking);
      const slow = await introspect(token, caller, finding);
      t.deepEqual(await fast, slow);
      reasons.add(reasonOf(slow));
    }
  }
  t.deepEqual([...reasons].sort(), ['active', 'customer_disabled', 'customer_not_found', 'malformed', 'not_found', 'revoked', 'site_not_allowed']);
});

test('with a warm verified-JWT cache and the embedded store, the verdict comes without a promise', async (t) => {
  const f = await fixture();
  const deps = { ...f.deps, verifiedTokens: new VerifiedTokenCache(100) };
  for (const format of ['jwt', 'opaque'] as const) {
    const token = await f.issue({ format });
    await introspect(token, ALL, deps);
    const verdict = introspect(token, ALL, deps);
    t.false(verdict instanceof Promise, format);
    t.is(reasonOf(verdict as Verdict), 'active', format);
  }
});

test('a peek made asynchronous by a wrapper falls back to find, so a store fault is still an error', async (t) => {
  const f = await fixture();
  const token = await f.issue({ format: 'opaque' });
  const failing = new Proxy(f.store.grants, {
    get: () => async () => {
      throw new StoreUnavailableError('down');
    },
  });
  const store = { ...f.store, kind: 'down', grants: failing, customers: f.store.customers, clients: f.store.clients, replays: f.store.replays } as Store;
  await t.throwsAsync(async () => introspect(token, ALL, { ...f.deps, store }), { instanceOf: StoreUnavailableError });
});
