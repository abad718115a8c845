import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { toNumericDate } from '../../src/core/clock.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/clients/client-auth.js';
import { buildClient } from '../../src/clients/client-registration.js';
import { openClientSecret, sealClientSecret, SecretBoxError } from '../../src/keys/client-secret-box.js';
import { ADMIN_TOKEN, apiTest, basic, ISSUER, type TestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

const SECRET_KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const withSecretKey = { env: { CLIENT_SECRET_KEY: SECRET_KEY_HEX } };

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(alg: 'ES256' | 'EdDSA' | 'RS256' | 'PS256' = 'ES256', kid = 'k1'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

interface AssertionOptions {
  alg?: string;
  kid?: string;
  iss?: string;
  sub?: string;
  aud?: string | string[];
  /** Seconds from the server's now. */
  expIn?: number | null;
  iat?: number | null;
  jti?: string | null;
}

/** A client assertion (RFC 7523 §3) as of the test server's clock. */
async function assertion(s: TestServer, clientId: string, key: CryptoKey | Uint8Array, o: AssertionOptions = {}): Promise<string> {
  const now = toNumericDate(s.clock.now());
  const claims: Record<string, unknown> = {
    iss: o.iss ?? clientId,
    sub: o.sub ?? clientId,
    aud: o.aud ?? ISSUER,
    ...(o.expIn === null ? {} : { exp: now + (o.expIn ?? 60) }),
    ...(o.iat === null ? {} : { iat: o.iat ?? now }),
    ...(o.jti === null ? {} : { jti: o.jti ?? randomBytes(12).toString('base64url') }),
  };
  return new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? 'ES256', ...(o.kid ? { kid: o.kid } : {}) }).sign(key);
}

const form = (a: string, extra: Record<string, string> = {}) => ({ client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: a, ...extra });

async function setupPrivateKeyClient(s: TestServer, body: Record<string, unknown> = {}) {
  const keys = await keyPair();
  const res = await s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({
    name: 'Gateway',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [keys.publicJwk] },
    ...body,
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a' });
  return { clientId: res.body.client_id as string, registration: res.body, keys, token };
}

async function introspectWith(s: TestServer, a: string, token: string, extra: Record<string, string> = {}) {
  return s.request.post('/introspect').type('form').send({ token, ...form(a, extra) });
}

// ---- private_key_jwt ----

apiTest('private_key_jwt: a client registered with jwks gets no secret and authenticates with a signed assertion', async (t, s) => {
  const { clientId, registration, keys, token } = await setupPrivateKeyClient(s);
  t.is(registration.token_endpoint_auth_method, 'private_key_jwt');
  t.false('client_secret' in registration);
  t.deepEqual(registration.jwks, { keys: [keys.publicJwk] });
  const stored = await s.store.clients.findById(clientId);
  t.is(stored?.secretHash, null);

  const res = await introspectWith(s, await assertion(s, clientId, keys.privateKey), token);
  t.is(res.status, 200);
  t.is(res.body.active, true);
  t.is(res.body.sub, 'c1');
});

apiTest('private_key_jwt: an assertion is single-use (jti replay is 401 invalid_client)', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  const a = await assertion(s, clientId, keys.privateKey);
  t.is((await introspectWith(s, a, token)).status, 200);
  const replay = await introspectWith(s, a, token);
  t.is(replay.status, 401);
  t.is(replay.body.error, 'invalid_client');
  t.is(replay.body.error_description, 'client authentication failed');
  t.truthy(replay.headers['www-authenticate']);
  // The same jti in a fresh assertion is a replay too, until the first one expires.
  const sameJti = await assertion(s, clientId, keys.privateKey, { jti: 'fixed-jti' });
  t.is((await introspectWith(s, sameJti, token)).status, 200);
  s.clock.advance(10);
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey, { jti: 'fixed-jti' }), token)).status, 401);
});

apiTest('private_key_jwt: aud may be the issuer or the endpoint URL, nothing else', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey, { aud: `${ISSUER}/introspect` }), token)).status, 200);
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey, { aud: ['https://other.example', ISSUER] }), token)).status, 200);
  // The revocation endpoint's URL is not this endpoint's.
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey, { aud: `${ISSUER}/revoke` }), token)).status, 401);
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey, { aud: 'https://other.example' }), token)).status, 401);
});

apiTest('private_key_jwt: exp, jti, iss = sub and client_id are enforced', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  const cases: [string, AssertionOptions, Record<string, string>?][] = [
    ['expired', { expIn: -60 }],
    ['no exp', { expIn: null }],
    ['exp too far away', { expIn: 3600 }],
    ['lifetime from iat too long', { iat: toNumericDate(s.clock.now()) - 600, expIn: 60 }],
    ['no jti', { jti: null }],
    ['iss differs from sub', { iss: 'someone-else' }],
    ['sub names another client', { sub: 'someone-else', iss: 'someone-else' }],
    ['client_id differs', {}, { client_id: 'someone-else' }],
  ];
  for (const [name, options, extra] of cases) {
    const res = await introspectWith(s, await assertion(s, clientId, keys.privateKey, options), token, extra);
    t.is(res.status, 401, name);
    t.is(res.body.error, 'invalid_client', name);
  }
  // A matching client_id is fine.
  t.is((await introspectWith(s, await assertion(s, clientId, keys.privateKey), token, { client_id: clientId })).status, 200);
});

apiTest('private_key_jwt: a signature by another key, or an HMAC made with the public key, is refused', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  const other = await keyPair();
  t.is((await introspectWith(s, await assertion(s, clientId, other.privateKey), token)).status, 401);
  // Algorithm confusion (RFC 8725 §2.1): HS256 keyed with the registered public key's bytes.
  const confused = await assertion(s, clientId, new TextEncoder().encode(JSON.stringify(keys.publicJwk)), { alg: 'HS256' });
  const res = await introspectWith(s, confused, token);
  t.is(res.status, 401);
  t.is(res.body.error_description, 'client authentication failed');
  t.is((await introspectWith(s, 'not.a.jwt', token)).status, 401);
});

apiTest('private_key_jwt: EdDSA, RS256 and PS256 keys work too', async (t, s) => {
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1' });
  for (const alg of ['EdDSA', 'RS256', 'PS256'] as const) {
    const keys = await keyPair(alg);
    const { client_id: clientId } = (await s.admin.createClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.publicJwk] } })) as { client_id: string };
    const res = await introspectWith(s, await assertion(s, clientId, keys.privateKey, { alg }), token);
    t.is(res.status, 200, alg);
  }
});

apiTest('methods are not interchangeable: a private_key_jwt client cannot use Basic, a Basic client cannot use an assertion', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  t.is((await s.request.post('/introspect').set('Authorization', basic(clientId, '')).type('form').send({ token })).status, 401);
  const basicClient = await s.admin.createClient();
  const a = await assertion(s, basicClient.client_id, keys.privateKey);
  const res = await introspectWith(s, a, token);
  t.is(res.status, 401);
  t.is(res.body.error_description, 'client authentication failed');
});

apiTest('assertion parameters: both required, the JWT bearer type only, one method per request', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  const a = await assertion(s, clientId, keys.privateKey);
  const onlyAssertion = await s.request.post('/introspect').type('form').send({ token, client_assertion: a });
  t.is(onlyAssertion.status, 400);
  t.is(onlyAssertion.body.error, 'invalid_request');
  const wrongType = await s.request.post('/introspect').type('form').send({ token, client_assertion: a, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' });
  t.is(wrongType.status, 401);
  const twoMethods = await s.request.post('/introspect').set('Authorization', basic(clientId, 'x')).type('form').send({ token, ...form(a) });
  t.is(twoMethods.status, 400);
  t.is(twoMethods.body.error, 'invalid_request');
});

apiTest('assertions work on revocation and on the JSON validation endpoint', async (t, s) => {
  const { clientId, keys, token } = await setupPrivateKeyClient(s);
  const validate = await s.request
    .post('/api/v1/auth/token/validate')
    .send({ auth_token: token, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(s, clientId, keys.privateKey, { aud: `${ISSUER}/api/v1/auth/token/validate` }) });
  t.is(validate.status, 200);
  t.is(validate.body.valid, true);
  // RFC 7009 §2.1: a client revokes only tokens issued to it.
  const { auth_token: own } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId });
  const revoke = await s.request.post('/revoke').type('form').send({ token: own, ...form(await assertion(s, clientId, keys.privateKey)) });
  t.is(revoke.status, 200);
  const after = await introspectWith(s, await assertion(s, clientId, keys.privateKey), own);
  t.deepEqual(after.body, { active: false, reason: 'revoked' });
});

// ---- jwks_uri ----

async function jwksServer(body: () => unknown): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits += 1;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/jwks.json`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * A jwks_uri client registered as buildClient does under JWKS_URI_ALLOW_LOOPBACK
 * (the loopback servers of these tests are refused otherwise; see
 * test/security/jwks-uri.test.ts), stored directly.
 */
async function registerJwksUriClient(s: TestServer, jwksUri: string): Promise<{ client_id: string }> {
  const { client } = await buildClient({ name: 'Gateway', authMethod: 'private_key_jwt', jwksUri }, { clock: s.clock, clientSecretKey: null, signingAlg: 'ES256', jwksUriAllowLoopback: true });
  await s.store.clients.insert(client);
  return { client_id: client.id };
}
const loopbackJwksUri = { env: { JWKS_URI_ALLOW_LOOPBACK: 'true' } };

apiTest('private_key_jwt with jwks_uri: keys are fetched once and cached', async (t, s) => {
  const keys = await keyPair();
  const remote = await jwksServer(() => ({ keys: [keys.publicJwk] }));
  t.teardown(remote.close);
  const reg = await registerJwksUriClient(s, remote.url);
  t.is((await s.store.clients.findById(reg.client_id))?.jwksUri, remote.url);
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1' });
  for (let i = 0; i < 3; i++) {
    const res = await introspectWith(s, await assertion(s, reg.client_id, keys.privateKey, { kid: 'k1' }), token);
    t.is(res.status, 200);
  }
  t.is(remote.hits(), 1);
}, loopbackJwksUri);

apiTest('private_key_jwt with an unreachable jwks_uri is 401, not 5xx', async (t, s) => {
  const keys = await keyPair();
  const reg = await registerJwksUriClient(s, 'http://127.0.0.1:1/jwks.json');
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1' });
  const res = await introspectWith(s, await assertion(s, reg.client_id, keys.privateKey), token);
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_client');
}, loopbackJwksUri);

// ---- registration ----

apiTest('registration: assertion metadata is validated with clear 400s', async (t, s) => {
  const keys = await keyPair();
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const post = (body: Record<string, unknown>) => s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x', ...body });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ token_endpoint_auth_method: 'private_key_jwt' }, /^jwks: private_key_jwt needs exactly one of jwks or jwks_uri/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.publicJwk] }, jwks_uri: 'https://rp.example/jwks' }, /exactly one/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateJwk] } }, /^jwks: keys\[0\] must be a public key/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } }, /^jwks: must hold 1-10 keys/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, /^jwks: keys\[0\] must be a public key/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] } }, /^jwks: keys\[0\] is not a valid ES256 public key/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks: [keys.publicJwk] }, /^jwks: must be a JWK Set object/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://rp.example/jwks' }, /^jwks_uri: must be an https URL/],
    [{ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'not a url' }, /^jwks_uri: must be an absolute URL/],
    [{ jwks: { keys: [keys.publicJwk] } }, /^jwks: only private_key_jwt clients register keys/],
    [{ introspection_signed_response_alg: 'RS256' }, /^introspection_signed_response_alg: must be ES256/],
    [{ token_endpoint_auth_method: 'client_secret_jwt' }, /^token_endpoint_auth_method: client_secret_jwt is not available: the server has no CLIENT_SECRET_KEY/],
    [{ token_endpoint_auth_method: 'tls_client_auth' }, /token_endpoint_auth_method/],
  ];
  for (const [body, description] of cases) {
    const res = await post(body);
    t.is(res.status, 400, JSON.stringify(body));
    t.is(res.body.error, 'invalid_request');
    t.regex(res.body.error_description, description);
  }
  t.deepEqual(await s.store.clients.list(), [], 'nothing was registered');
  // Unknown members are dropped, so nothing but JWK members is stored.
  const extra = await post({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...keys.publicJwk, $where: 'x', 'a.b': { c: 1 } }] } });
  t.is(extra.status, 201);
  t.deepEqual(extra.body.jwks, { keys: [keys.publicJwk] });
  // https to a public host is accepted; loopback only under JWKS_URI_ALLOW_LOOPBACK (test/security/jwks-uri.test.ts).
  t.is((await post({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://rp.example/jwks' })).status, 201);
  t.is((await post({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://localhost:8080/jwks' })).status, 400);
});

// ---- client_secret_jwt ----

apiTest(
  'client_secret_jwt: the secret is stored sealed, and HS256 assertions made with it authenticate',
  async (t, s) => {
    const reg = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_jwt' });
    const stored = await s.store.clients.findById(reg.client_id);
    t.is(stored?.secretHash, null);
    t.truthy(stored?.secretEncrypted);
    t.false(stored!.secretEncrypted!.includes(reg.client_secret));
    t.is(openClientSecret(stored!.secretEncrypted!, reg.client_id, Buffer.from(SECRET_KEY_HEX, 'hex')), reg.client_secret);

    await s.admin.upsertCustomer('c1');
    const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1' });
    const secret = new TextEncoder().encode(reg.client_secret);
    const ok = await introspectWith(s, await assertion(s, reg.client_id, secret, { alg: 'HS256' }), token);
    t.is(ok.status, 200);
    t.is(ok.body.active, true);

    const wrong = await introspectWith(s, await assertion(s, reg.client_id, new TextEncoder().encode('not the secret'), { alg: 'HS256' }), token);
    t.is(wrong.status, 401);
    // Only HS256: an asymmetric signature is not accepted for a secret client.
    const keys = await keyPair();
    t.is((await introspectWith(s, await assertion(s, reg.client_id, keys.privateKey), token)).status, 401);
    // The secret is not a Basic/post secret.
    t.is((await s.request.post('/introspect').set('Authorization', basic(reg.client_id, reg.client_secret)).type('form').send({ token })).status, 401);
  },
  withSecretKey,
);

test('CLIENT_SECRET_KEY: 32 bytes as hex or base64; anything else stops start-up with one line', (t) => {
  t.deepEqual(loadConfig({ CLIENT_SECRET_KEY: SECRET_KEY_HEX }).clientSecretKey, Buffer.from(SECRET_KEY_HEX, 'hex'));
  const b64 = Buffer.alloc(32, 7).toString('base64');
  t.deepEqual(loadConfig({ CLIENT_SECRET_KEY: b64 }).clientSecretKey, Buffer.alloc(32, 7));
  t.is(loadConfig({}).clientSecretKey, null);
  for (const bad of ['short', SECRET_KEY_HEX.slice(2), Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64')]) {
    const error = t.throws(() => loadConfig({ CLIENT_SECRET_KEY: bad }), { instanceOf: ConfigError });
    t.regex(error!.message, /^CLIENT_SECRET_KEY: must be 32 bytes/);
    t.false(error!.message.includes(bad), 'the value is not echoed');
  }
});

test('client secret box: opens only for the same client and key, and detects tampering', (t) => {
  const key = Buffer.from(SECRET_KEY_HEX, 'hex');
  const sealed = sealClientSecret('s3cret', 'client-a', key);
  t.is(openClientSecret(sealed, 'client-a', key), 's3cret');
  t.not(sealClientSecret('s3cret', 'client-a', key), sealed, 'a fresh IV each time');
  t.throws(() => openClientSecret(sealed, 'client-b', key), { instanceOf: SecretBoxError });
  t.throws(() => openClientSecret(sealed, 'client-a', Buffer.alloc(32, 1)), { instanceOf: SecretBoxError });
  const parts = sealed.split('.');
  const flipped = Buffer.from(parts[2]!, 'base64url');
  flipped[0] = flipped[0]! ^ 1;
  t.throws(() => openClientSecret([parts[0], parts[1], flipped.toString('base64url'), parts[3]].join('.'), 'client-a', key), { instanceOf: SecretBoxError });
  t.throws(() => openClientSecret('v1.bad', 'client-a', key), { instanceOf: SecretBoxError });
});

const { logger: capturingLogger, raw: logLines } = captureLogs('debug');

apiTest(
  'no client assertion or client_secret_jwt secret ever reaches a log line',
  async (t, s) => {
    const { clientId, keys, token } = await setupPrivateKeyClient(s);
    const hs = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_jwt' });
    const stored = await s.store.clients.findById(hs.client_id);
    const secrets = [token, hs.client_secret, stored!.secretEncrypted!];
    const good = await assertion(s, clientId, keys.privateKey);
    const hsGood = await assertion(s, hs.client_id, new TextEncoder().encode(hs.client_secret), { alg: 'HS256' });
    const bad = await assertion(s, clientId, keys.privateKey, { expIn: -100 });
    secrets.push(good, hsGood, bad);
    await introspectWith(s, good, token);
    await introspectWith(s, good, token); // replay
    await introspectWith(s, hsGood, token);
    await introspectWith(s, bad, token);
    await s.request.post('/api/v1/auth/token/validate').send({ auth_token: token, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: bad });
    t.true(logLines.length > 5, 'the requests were logged');
    for (const line of logLines) {
      for (const secret of secrets) t.false(line.includes(secret), `log line leaks a credential: ${line.slice(0, 120)}`);
    }
  },
  { ...withSecretKey, logger: capturingLogger },
);
