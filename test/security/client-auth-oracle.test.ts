/**
 * Adversarial: a failed client authentication must not tell the caller
 * whether the client id exists, which method it registered, or what went
 * wrong (RFC 6749 §5.2 `invalid_client`; RFC 7523 §3.1). Every 401 carries
 * the same body and challenge, on every endpoint; the cause is written for
 * operators in one server-side log line, without any credential in it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { CLIENT_ASSERTION_TYPE } from '../../src/clients/client-auth.js';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/log.js';
import { toNumericDate } from '../../src/core/clock.js';
import { apiTest, basic, ISSUER, startTestServer, type TestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

const UNIFORM = { error: 'invalid_client', error_description: 'client authentication failed' };
const ENV = { CLIENT_SECRET_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', RATE_LIMIT_AUTH_FAILURES: '0', JWKS_URI_ALLOW_LOOPBACK: 'true' };
const VALIDATE = '/api/v1/auth/token/validate';

/** A loopback server answering every request with `status` and `body`. */
async function keyServer(status: number, body: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/jwks.json`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Claims of an assertion naming `clientId`, as of the server's clock. */
function claims(s: TestServer, clientId: string): Record<string, unknown> {
  const now = toNumericDate(s.clock.now());
  return { iss: clientId, sub: clientId, aud: ISSUER, iat: now, exp: now + 60, jti: randomBytes(12).toString('base64url') };
}

/** Assertions anyone can make without a client's key: unsigned, or with a made-up signature. */
function forgedAssertions(s: TestServer, clientId: string): { none: string; es256: string; hs256: string } {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const fake = randomBytes(64).toString('base64url');
  return {
    none: new UnsecuredJWT(claims(s, clientId)).encode(),
    es256: `${part({ alg: 'ES256', kid: 'k1' })}.${part(claims(s, clientId))}.${fake}`,
    hs256: `${part({ alg: 'HS256' })}.${part(claims(s, clientId))}.${fake.slice(0, 43)}`,
  };
}

/** Clients of every method, and one of each remote-key situation. */
async function everyKindOfClient(t: { teardown: (fn: () => Promise<void>) => void }, s: TestServer) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const basicClient = await s.admin.createClient();
  const postClient = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  const jwtSecretClient = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_jwt' });
  const keyClient = await s.admin.createClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk] } });
  const remotes = { working: await keyServer(200, { keys: [publicJwk] }), failing: await keyServer(500, { error: 'down' }), notAKeySet: await keyServer(200, { hello: 'world' }) };
  const remoteClients: Record<string, string> = {};
  for (const [name, remote] of Object.entries(remotes)) {
    t.teardown(remote.close);
    const id = `remote-${name}-${randomBytes(6).toString('hex')}`;
    // Stored as a registration would store it; these tests are about authentication, not registration.
    await s.store.clients.insert({ id, name, secretHash: null, authMethod: 'private_key_jwt', jwksUri: remote.url, reasonCodes: true, siteIds: null, createdAt: s.clock.now() });
    remoteClients[name] = id;
  }
  await s.admin.upsertCustomer('c1');
  const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a' });
  return { basicClient, postClient, jwtSecretClient, keyClient, privateKey, remoteClients, token };
}

type Attempt = { name: string; send: () => Promise<{ status: number; body: unknown; headers: Record<string, string> }> };

/** The same credentials on the three client-authenticated endpoints. */
function onEveryEndpoint(s: TestServer, name: string, token: string, authorization: string | undefined, fields: Record<string, string>): Attempt[] {
  const form = (path: string): Attempt => ({
    name: `${path} ${name}`,
    send: async () => {
      const req = s.request.post(path).type('form');
      if (authorization) req.set('Authorization', authorization);
      return req.send({ token, ...fields });
    },
  });
  const json: Attempt = {
    name: `validate ${name}`,
    send: async () => {
      const req = s.request.post(VALIDATE);
      if (authorization) req.set('Authorization', authorization);
      return req.send({ auth_token: token, ...fields });
    },
  };
  return [form('/introspect'), form('/revoke'), json];
}

const assertionFields = (a: string, extra: Record<string, string> = {}) => ({ client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: a, ...extra });

apiTest(
  'a forged assertion gets the same answer whichever client it names, whatever that client registered',
  async (t, s) => {
    const c = await everyKindOfClient(t, s);
    const named: Record<string, string> = {
      unknown: 'no-such-client-0000000000',
      client_secret_basic: c.basicClient.client_id,
      client_secret_post: c.postClient.client_id,
      client_secret_jwt: c.jwtSecretClient.client_id,
      'private_key_jwt (jwks)': c.keyClient.client_id,
      'private_key_jwt (jwks_uri)': c.remoteClients.working!,
      'private_key_jwt (jwks_uri answering 500)': c.remoteClients.failing!,
      'private_key_jwt (jwks_uri not a JWK Set)': c.remoteClients.notAKeySet!,
    };
    let challenge: string | undefined;
    for (const [kind, clientId] of Object.entries(named)) {
      for (const [style, forged] of Object.entries(forgedAssertions(s, clientId))) {
        for (const attempt of onEveryEndpoint(s, `${kind} ${style}`, c.token, undefined, assertionFields(forged))) {
          const res = await attempt.send();
          t.is(res.status, 401, attempt.name);
          t.deepEqual(res.body, UNIFORM, attempt.name);
          challenge ??= res.headers['www-authenticate'];
          t.is(res.headers['www-authenticate'], challenge, attempt.name);
        }
      }
    }
  },
  { env: ENV },
);

apiTest(
  'shared-secret failures all get the one answer: unknown id, wrong secret, wrong method, malformed header, mismatched client_id',
  async (t, s) => {
    const c = await everyKindOfClient(t, s);
    const cases: Array<[string, string | undefined, Record<string, string>]> = [
      ['Basic, unknown id', basic('no-such-client-0000000000', c.basicClient.client_secret), {}],
      ['Basic, wrong secret', basic(c.basicClient.client_id, `${c.basicClient.client_secret}x`), {}],
      ['Basic, empty secret', basic(c.basicClient.client_id, ''), {}],
      ['Basic for a client_secret_post client, right secret', basic(c.postClient.client_id, c.postClient.client_secret), {}],
      ['Basic for a client_secret_jwt client, right secret', basic(c.jwtSecretClient.client_id, c.jwtSecretClient.client_secret), {}],
      ['Basic for a private_key_jwt client', basic(c.keyClient.client_id, 'anything'), {}],
      ['post for a client_secret_basic client, right secret', undefined, { client_id: c.basicClient.client_id, client_secret: c.basicClient.client_secret }],
      ['post, unknown id', undefined, { client_id: 'no-such-client-0000000000', client_secret: 'x' }],
      ['post, wrong secret', undefined, { client_id: c.postClient.client_id, client_secret: 'x' }],
      ['post, secret without id', undefined, { client_secret: c.postClient.client_secret }],
      ['Basic with a client_id naming another client', basic(c.basicClient.client_id, c.basicClient.client_secret), { client_id: c.postClient.client_id }],
      ['malformed Basic', 'Basic !!!', {}],
      ['Basic without a colon', `Basic ${Buffer.from('no-colon').toString('base64')}`, {}],
      ['another scheme', 'Bearer something', {}],
      ['no credentials', undefined, {}],
      ['only a client_id', undefined, { client_id: c.basicClient.client_id }],
    ];
    for (const [name, authorization, fields] of cases) {
      for (const attempt of onEveryEndpoint(s, name, c.token, authorization, fields)) {
        const res = await attempt.send();
        t.is(res.status, 401, attempt.name);
        t.deepEqual(res.body, UNIFORM, attempt.name);
        t.regex(res.headers['www-authenticate'] ?? '', /^Basic realm=/, attempt.name);
      }
    }
  },
  { env: ENV },
);

apiTest(
  'assertion failures all get the one answer: malformed, wrong claims, expired, replayed, wrong key, unsupported type',
  async (t, s) => {
    const c = await everyKindOfClient(t, s);
    const id = c.keyClient.client_id;
    const sign = (extra: Record<string, unknown> = {}, key: CryptoKey = c.privateKey) =>
      new SignJWT({ ...claims(s, id), ...extra }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key);
    const other = await generateKeyPair('ES256');
    const replayed = await sign();
    t.is((await s.request.post('/introspect').type('form').send({ token: c.token, ...assertionFields(replayed) })).status, 200, 'the first use passes');
    const now = toNumericDate(s.clock.now());
    const cases: Array<[string, Record<string, string>]> = [
      ['not a JWT', assertionFields('not.a.jwt')],
      ['too long', assertionFields('x'.repeat(9000))],
      ['iss differs from sub', assertionFields(await sign({ iss: 'someone-else' }))],
      ['client_id differs', assertionFields(await sign(), { client_id: c.basicClient.client_id })],
      ['expired', assertionFields(await sign({ exp: now - 120 }))],
      ['valid too long', assertionFields(await sign({ exp: now + 3600 }))],
      ['no jti', assertionFields(await new SignJWT({ iss: id, sub: id, aud: ISSUER, exp: now + 60 }).setProtectedHeader({ alg: 'ES256' }).sign(c.privateKey))],
      ['wrong audience', assertionFields(await sign({ aud: 'https://elsewhere.example' }))],
      ['signed by another key', assertionFields(await sign({}, other.privateKey))],
      ['replayed', assertionFields(replayed)],
      ['unsupported assertion type', { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: await sign() }],
    ];
    for (const [name, fields] of cases) {
      const res = await s.request.post('/introspect').type('form').send({ token: c.token, ...fields });
      t.is(res.status, 401, name);
      t.deepEqual(res.body, UNIFORM, name);
    }
  },
  { env: ENV },
);

test('each failure is one client.auth_failed log line with its cause, and no credential in any line', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { logger, lines, raw } = captureLogs('debug');
  const s = await startTestServer(store, { logger, env: ENV });
  t.teardown(async () => {
    await s.close();
    await store.close();
  });
  const c = await everyKindOfClient(t, s);
  const forgedForKeyClient = forgedAssertions(s, c.keyClient.client_id);
  const forgedForUnknown = forgedAssertions(s, 'no-such-client-0000000000');
  const cases: Array<[string, string | undefined, Record<string, string>, string, string | undefined]> = [
    ['unknown Basic client', basic('no-such-client-0000000000', 'guess'), {}, 'unknown_client', undefined],
    ['wrong secret', basic(c.basicClient.client_id, 'guess'), {}, 'wrong_secret', c.basicClient.client_id],
    ['method not registered', basic(c.postClient.client_id, c.postClient.client_secret), {}, 'method_not_registered', c.postClient.client_id],
    ['malformed Basic', 'Basic !!!', {}, 'malformed_authorization', undefined],
    ['no credentials', undefined, {}, 'no_credentials', undefined],
    ['forged assertion, unknown client', undefined, assertionFields(forgedForUnknown.es256), 'unknown_client', undefined],
    ['forged assertion, key client', undefined, assertionFields(forgedForKeyClient.es256), 'assertion_signature_invalid', c.keyClient.client_id],
    ['unsigned assertion, key client', undefined, assertionFields(forgedForKeyClient.none), 'assertion_alg_not_allowed', c.keyClient.client_id],
    ['forged assertion, Basic client', undefined, assertionFields(forgedAssertions(s, c.basicClient.client_id).es256), 'method_not_registered', c.basicClient.client_id],
    ['remote keys failing', undefined, assertionFields(forgedAssertions(s, c.remoteClients.failing!).es256), 'jwks_unavailable', c.remoteClients.failing],
  ];
  const secrets = [c.token, c.basicClient.client_secret, c.postClient.client_secret, c.jwtSecretClient.client_secret, 'guess'];
  for (const [name, authorization, fields, reason, clientId] of cases) {
    for (const v of Object.values(fields)) if (v !== CLIENT_ASSERTION_TYPE) secrets.push(v);
    const before = lines.length;
    const req = s.request.post('/introspect').type('form');
    if (authorization) req.set('Authorization', authorization);
    const res = await req.send({ token: c.token, ...fields });
    t.is(res.status, 401, name);
    const failures = lines.slice(before).filter((l) => l.event === 'client.auth_failed');
    t.is(failures.length, 1, `${name}: one client.auth_failed line`);
    t.is(failures[0]?.reason, reason, name);
    t.is(failures[0]?.client_id, clientId, `${name}: client_id only for a registered client`);
    t.is(failures[0]?.req_id, res.headers['x-request-id'], `${name}: the line names its request`);
  }
  for (const line of raw) {
    for (const secret of secrets) t.false(line.includes(secret), `a log line holds a credential: ${line.slice(0, 160)}`);
  }
});
