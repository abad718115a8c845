import test from 'ava';
import { SignJWT } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { VerifiedTokenCache } from '../../src/core/tokens/verified-cache.js';
import { verifyAccessToken, type JwtVerifyOptions } from '../../src/core/tokens/jwt.js';

const ISSUER = 'https://login.example.test';
const START = new Date('2026-01-15T12:00:00.000Z');

async function setup() {
  const clock = new FixedClock(START);
  const record = await generateKeyRecord('ES256', clock.now());
  const keys = await KeyStore.fromRecords([record], { legacyHs256Secret: null, maxTokenTtlSeconds: 86_400, clock });
  const sign = (claims: Record<string, unknown> = {}, expiresIn = 60) =>
    new SignJWT({ client_id: 'open-login', site_id: 'site-a', ...claims })
      .setProtectedHeader({ alg: keys.current.alg, kid: keys.current.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject('c1')
      .setJti(`jti-${Math.random()}`)
      .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + expiresIn)
      .sign(keys.current.key);
  const options = (): JwtVerifyOptions => ({ keys, issuer: ISSUER, clockSkewSeconds: 30, maxTokenTtlSeconds: 86_400, now: clock.now() });
  return { clock, keys, sign, options };
}

test('a token verified once is answered from the cache with the same result', async (t) => {
  const { sign, options } = await setup();
  const cache = new VerifiedTokenCache(100);
  const token = await sign();
  const first = await cache.verify(token, options());
  const second = await cache.verify(token, options());
  t.true(first.ok);
  t.deepEqual(second, first);
  t.deepEqual(second, await verifyAccessToken(token, options()));
  t.is(cache.misses, 1);
  t.is(cache.hits, 1);
});

test('a cached token is expired from the second its exp names', async (t) => {
  const { clock, sign, options } = await setup();
  const cache = new VerifiedTokenCache(100);
  const token = await sign({}, 10);
  t.true((await cache.verify(token, options())).ok);
  clock.advance(9);
  t.true((await cache.verify(token, options())).ok);
  clock.advance(1);
  const late = await cache.verify(token, options());
  t.false(late.ok);
  t.is(!late.ok && late.reason, 'expired');
});

test('a token with a changed byte is verified in full, not served from the cache', async (t) => {
  const { sign, options } = await setup();
  const cache = new VerifiedTokenCache(100);
  const token = await sign();
  t.true((await cache.verify(token, options())).ok);
  const [h, p, s] = token.split('.');
  const tampered = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
  const check = await cache.verify(tampered, options());
  t.false(check.ok);
  t.is(!check.ok && check.reason, 'invalid_signature');
});

test('failures are not cached and the cache stays within its bound', async (t) => {
  const { sign, options } = await setup();
  const cache = new VerifiedTokenCache(2);
  t.false((await cache.verify('a.b.c', options())).ok);
  t.is(cache.size, 0);
  for (let i = 0; i < 3; i++) await cache.verify(await sign(), options());
  t.is(cache.size, 2);
});

test('an ECDSA twin is a second entry with the same claims; a non-canonical spelling never enters', async (t) => {
  const { sign, options } = await setup();
  const cache = new VerifiedTokenCache(100);
  const token = await sign();
  const [h, p, sig] = token.split('.') as [string, string, string];
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const bytes = Buffer.from(sig, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]).toString('base64url')}`;
  const first = await cache.verify(token, options());
  const second = await cache.verify(twin, options());
  t.true(first.ok && second.ok);
  t.deepEqual(first.ok && first.claims, second.ok && second.claims);
  t.is(cache.size, 2);
  // The same signature bytes spelled with other unused low bits in the last character.
  const last = sig.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const respelled = `${h}.${p}.${sig.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
  const check = await cache.verify(respelled, options());
  t.is(!check.ok && check.reason, 'malformed');
  t.is(cache.size, 2);
});
