/**
 * The time a client-secret check takes must not tell an attacker whether the
 * client exists or where a guessed secret first differs. Wall-clock
 * assertions would be flaky on a shared machine, so this checks the
 * structure instead, through the HTTP endpoint: every failing attempt runs
 * the same store lookup, the same SHA-256 count and exactly one constant-time
 * comparison of equal-length digests. Likewise a forged client assertion
 * costs one lookup and one signature check whether or not its client exists.
 * (Its own file: it swaps node:crypto and WebCrypto functions, which must
 * not leak into concurrent tests.)
 */
import test from 'ava';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { exportJWK, generateKeyPair } from 'jose';
import { basic, ISSUER, standardSetup, startTestServer } from '../helpers/app.js';

interface Trace {
  sha256: number;
  compares: Array<[number, number]>;
  lookups: string[];
}

test.serial('unknown clients and wrong secrets (first or last character) take the same hash-and-compare path', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store, { env: { RATE_LIMIT_AUTH_FAILURES: '0' } });
  t.teardown(async () => {
    await s.close();
    await store.close();
  });
  const { clientId, secret } = await standardSetup(s);

  let trace: Trace = { sha256: 0, compares: [], lookups: [] };
  // A lookup is a read of the client however it is made: the synchronous peek or the store call.
  const findById = store.clients.findById.bind(store.clients);
  store.clients.findById = async (id: string) => {
    trace.lookups.push(id);
    return findById(id);
  };
  const peekById = store.clients.peekById!.bind(store.clients);
  store.clients.peekById = (id: string) => {
    trace.lookups.push(id);
    return peekById(id);
  };
  const original = { createHash: crypto.createHash, hash: crypto.hash, timingSafeEqual: crypto.timingSafeEqual };
  crypto.createHash = ((alg: string, options?: crypto.HashOptions) => {
    if (alg === 'sha256') trace.sha256 += 1;
    return original.createHash(alg, options);
  }) as typeof crypto.createHash;
  crypto.hash = ((alg: string, data: crypto.BinaryLike, encoding?: crypto.BinaryToTextEncoding) => {
    if (alg === 'sha256') trace.sha256 += 1;
    return original.hash(alg, data, encoding);
  }) as typeof crypto.hash;
  crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    trace.compares.push([a.byteLength, b.byteLength]);
    return original.timingSafeEqual(a, b);
  }) as typeof crypto.timingSafeEqual;
  syncBuiltinESMExports();
  t.teardown(() => {
    crypto.createHash = original.createHash;
    crypto.hash = original.hash;
    crypto.timingSafeEqual = original.timingSafeEqual;
    syncBuiltinESMExports();
  });

  const attempt = async (id: string, presented: string): Promise<Trace & { status: number }> => {
    trace = { sha256: 0, compares: [], lookups: [] };
    const res = await s.request.post('/introspect').set('Authorization', basic(id, presented)).type('form').send({ token: 'olt_not-a-real-token' });
    return { ...trace, status: res.status };
  };
  const flip = (c: string) => (c === 'A' ? 'B' : 'A');
  const cases = {
    unknownClient: await attempt('no-such-client-0000000000', secret),
    firstCharWrong: await attempt(clientId, flip(secret[0]!) + secret.slice(1)),
    lastCharWrong: await attempt(clientId, secret.slice(0, -1) + flip(secret.at(-1)!)),
    emptySecret: await attempt(clientId, ''),
  };
  const right = await attempt(clientId, secret);
  t.is(right.status, 200, 'the right secret passes');

  for (const [name, c] of Object.entries(cases)) {
    t.is(c.status, 401, name);
    t.is(c.lookups.length, 1, `${name}: one store lookup`);
    t.deepEqual(c.compares, [[32, 32]], `${name}: exactly one constant-time comparison of two SHA-256 digests`);
    t.is(c.sha256, right.sha256, `${name}: as many SHA-256 computations as a successful attempt`);
  }
  t.deepEqual(right.compares, [[32, 32]]);
  t.true(right.sha256 >= 1);
});

test.serial('a forged assertion costs one signature check and one lookup whether its client is unknown, registered for a secret, or an assertion client', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store, { env: { RATE_LIMIT_AUTH_FAILURES: '0', CLIENT_SECRET_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' } });
  t.teardown(async () => {
    await s.close();
    await store.close();
  });
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const keyClient = await s.admin.createClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256' }] } });
  const secretJwtClient = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_jwt' });
  const basicClient = await s.admin.createClient();

  const counts = { verify: 0, lookups: 0 };
  const findById = store.clients.findById.bind(store.clients);
  store.clients.findById = async (id: string) => {
    counts.lookups += 1;
    return findById(id);
  };
  const peekById = store.clients.peekById!.bind(store.clients);
  store.clients.peekById = (id: string) => {
    counts.lookups += 1;
    return peekById(id);
  };
  // jose checks every JWS signature (asymmetric or HMAC) with WebCrypto's verify.
  const subtle = Object.getPrototypeOf(globalThis.crypto.subtle) as SubtleCrypto;
  const verify = subtle.verify;
  subtle.verify = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['verify']>) {
    counts.verify += 1;
    return verify.apply(this, args);
  } as SubtleCrypto['verify'];
  t.teardown(() => {
    subtle.verify = verify;
  });

  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(s.clock.now().getTime() / 1000);
  const forged = (clientId: string, alg: string) =>
    `${part({ alg })}.${part({ iss: clientId, sub: clientId, aud: ISSUER, exp: now + 60, jti: `j-${counts.lookups}-${alg}` })}.${Buffer.alloc(alg === 'HS256' ? 32 : 64, 1).toString('base64url')}`;
  const attempt = async (clientId: string, alg: string) => {
    counts.verify = 0;
    counts.lookups = 0;
    const res = await s.request
      .post('/introspect')
      .type('form')
      .send({ token: 'olt_not-a-real-token', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: forged(clientId, alg) });
    return { status: res.status, ...counts };
  };
  for (const alg of ['ES256', 'HS256', 'EdDSA']) {
    const cases = {
      unknown: await attempt('no-such-client-0000000000', alg),
      basic: await attempt(basicClient.client_id, alg),
      privateKeyJwt: await attempt(keyClient.client_id, alg),
      clientSecretJwt: await attempt(secretJwtClient.client_id, alg),
    };
    for (const [name, c] of Object.entries(cases)) {
      t.is(c.status, 401, `${alg} ${name}`);
      t.is(c.lookups, 1, `${alg} ${name}: one store lookup`);
    }
    // The client's own algorithm is checked against its key; a decoy key stands in for an unknown or secret-method client.
    const real = alg === 'HS256' ? cases.clientSecretJwt : alg === 'ES256' ? cases.privateKeyJwt : undefined;
    if (real) {
      t.is(real.verify, 1, `${alg}: the registered client's check verifies one signature`);
      t.is(cases.unknown.verify, real.verify, `${alg}: an unknown client costs the same signature check`);
      t.is(cases.basic.verify, real.verify, `${alg}: a client registered for a secret costs the same signature check`);
    }
  }
});
