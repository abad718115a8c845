/**
 * Adversarial: a client's `jwks_uri` (RFC 7591 §2) is a URL this server
 * fetches when anyone presents an assertion naming the client, so it must not
 * become a way to reach this server's own network (server-side request
 * forgery, port scans, cloud metadata), nor to make it buffer or wait without
 * bound. Refused at registration (admin API and CLI, both through
 * buildClient) and again at fetch time, on the address actually connected to.
 *
 * No test here sends a packet to a non-loopback address: such addresses are
 * either refused before any request, or only ever returned by a stubbed
 * resolver whose answer is refused before a connection.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LookupOptions } from 'node:dns';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { runCli } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config/index.js';
import { FixedClock, toNumericDate } from '../../src/core/clock.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/clients/client-auth.js';
import { buildClient, ClientRegistrationError } from '../../src/clients/client-registration.js';
import { fetchJwks, guardedLookup, JWKS_FETCH_TIMEOUT_MS, JWKS_MAX_BYTES, JwksFetchError, type JwksFetchOptions, type Resolve } from '../../src/clients/remote-jwks.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, apiTest, ISSUER, START, startTestServer, type TestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { settlesWithin } from '../helpers/wait.js';

const UNIFORM = { error: 'invalid_client', error_description: 'client authentication failed' };
const LOOPBACK_ALLOWED = { env: { JWKS_URI_ALLOW_LOOPBACK: 'true', RATE_LIMIT_AUTH_FAILURES: '0' } };

/** Addresses and names of this server's own network, in every spelling a URL parser accepts. */
const HOSTILE_JWKS_URIS = [
  'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'https://[fd00:ec2::254]/latest/meta-data/',
  'https://10.0.0.1/jwks.json',
  'https://172.16.5.4/jwks.json',
  'https://192.168.1.1/jwks.json',
  'https://100.64.0.1/jwks.json',
  'https://127.0.0.1/jwks.json',
  'https://127.1/jwks.json',
  'https://2130706433/jwks.json',
  'https://0x7f000001/jwks.json',
  'https://0177.0.0.1/jwks.json',
  'https://0.0.0.0/jwks.json',
  'https://224.0.0.1/jwks.json',
  'https://255.255.255.255/jwks.json',
  'https://192.0.2.10/jwks.json',
  'https://198.51.100.10/jwks.json',
  'https://203.0.113.10/jwks.json',
  'https://[::1]/jwks.json',
  'https://[::]/jwks.json',
  'https://[fe80::1]/jwks.json',
  'https://[fc00::1]/jwks.json',
  'https://[ff02::1]/jwks.json',
  'https://[2001:db8::1]/jwks.json',
  'https://[::ffff:127.0.0.1]/jwks.json',
  'https://[::ffff:169.254.169.254]/jwks.json',
  'https://[::ffff:10.0.0.1]/jwks.json',
  'https://[64:ff9b::a9fe:a9fe]/jwks.json',
  'https://localhost/jwks.json',
  'https://LOCALHOST./jwks.json',
  'https://keys.localhost/jwks.json',
  'https://metadata/computeMetadata/v1/',
  'https://metadata.google.internal/computeMetadata/v1/',
  'http://127.0.0.1:6379/',
  'http://127.0.0.1:22/',
  'http://localhost:8080/jwks',
  'http://[::1]:8080/jwks',
  'http://rp.example/jwks.json',
];

function registration(jwksUri: string) {
  return { name: 'x', authMethod: 'private_key_jwt' as const, jwksUri };
}
const registrationDeps = (jwksUriAllowLoopback?: boolean) => ({
  clock: new FixedClock(START),
  clientSecretKey: null,
  signingAlg: 'ES256',
  ...(jwksUriAllowLoopback === undefined ? {} : { jwksUriAllowLoopback }),
});

// ---- registration ----

test('registration (buildClient, behind both the admin API and the CLI) refuses every non-public jwks_uri', async (t) => {
  for (const uri of HOSTILE_JWKS_URIS) {
    const error = await t.throwsAsync(buildClient(registration(uri), registrationDeps()), { instanceOf: ClientRegistrationError }, uri);
    t.is(error?.field, 'jwks_uri', uri);
    t.false(error!.message.includes(new URL(uri).hostname), `${uri}: the value is not echoed`);
  }
  // A public https URL is still fine.
  const { client } = await buildClient(registration('https://rp.example/.well-known/jwks.json'), registrationDeps());
  t.is(client.jwksUri, 'https://rp.example/.well-known/jwks.json');
  t.is((await buildClient(registration('https://93.184.216.34/jwks.json'), registrationDeps())).client.jwksUri, 'https://93.184.216.34/jwks.json');
  t.is((await buildClient(registration('https://[2606:2800:220:1::1]/jwks.json'), registrationDeps())).client.jwksUri, 'https://[2606:2800:220:1::1]/jwks.json');
});

test('JWKS_URI_ALLOW_LOOPBACK lets loopback (and plain http to it) through registration, and nothing else', async (t) => {
  for (const uri of ['http://127.0.0.1:8080/jwks', 'http://localhost:8080/jwks', 'http://[::1]:8080/jwks', 'https://127.0.0.1/jwks', 'https://keys.localhost/jwks']) {
    t.is((await buildClient(registration(uri), registrationDeps(true))).client.jwksUri, new URL(uri).href, uri);
  }
  for (const uri of ['https://169.254.169.254/latest/', 'https://10.0.0.1/jwks', 'http://rp.example/jwks', 'http://10.0.0.1/jwks', 'https://[::ffff:10.0.0.1]/']) {
    await t.throwsAsync(buildClient(registration(uri), registrationDeps(true)), { instanceOf: ClientRegistrationError }, uri);
  }
});

apiTest('the admin API refuses non-public jwks_uri with 400 and stores nothing', async (t, s) => {
  for (const uri of HOSTILE_JWKS_URIS) {
    const res = await s.request
      .post('/admin/clients')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ name: 'x', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: uri });
    t.is(res.status, 400, uri);
    t.is(res.body.error, 'invalid_request', uri);
    t.regex(res.body.error_description, /^jwks_uri: /, uri);
  }
  t.deepEqual(await s.store.clients.list(), []);
});

test('the CLI refuses non-public jwks_uri with exit 2 and stores nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-jwks-uri-'));
  const config = loadConfig({ KEYS_DIR: join(dir, 'keys'), MONGODB_URI: 'mongodb://cli-test.invalid/x' });
  const clock = new FixedClock(START);
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const keys = await KeyStore.fromRecords([await generateKeyRecord('ES256', clock.now())], { legacyHs256Secret: null, maxTokenTtlSeconds: config.maxTokenTtlSeconds, clock });
  const runtime = { config, store, keys, clock, close: async () => {} };
  for (const uri of ['https://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:6379/', 'https://[::ffff:10.0.0.1]/jwks.json', 'https://localhost/jwks.json']) {
    const err: string[] = [];
    const code = await runCli(
      ['clients', 'create', '--name', 'x', '--auth-method', 'private_key_jwt', '--jwks-uri', uri],
      { out: () => {}, err: (line) => err.push(line) },
      { config, clock, logger: silentLogger(), open: async () => runtime },
    );
    t.is(code, 2, uri);
    t.regex(err.join('\n'), /^error: --jwks-uri: /, uri);
  }
  t.deepEqual(await store.clients.list(), []);
});

apiTest(
  'with JWKS_URI_ALLOW_LOOPBACK the admin API registers a loopback jwks_uri, and still refuses other non-public ones',
  async (t, s) => {
    const admin = (jwksUri: string) =>
      s.request.post('/admin/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri });
    t.is((await admin('http://127.0.0.1:8080/jwks.json')).status, 201);
    t.is((await admin('https://169.254.169.254/latest/meta-data/')).status, 400);
  },
  LOOPBACK_ALLOWED,
);

test('with JWKS_URI_ALLOW_LOOPBACK the CLI registers a loopback jwks_uri', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-jwks-uri-'));
  const config = loadConfig({ KEYS_DIR: join(dir, 'keys'), MONGODB_URI: 'mongodb://cli-test.invalid/x', JWKS_URI_ALLOW_LOOPBACK: 'true' });
  const clock = new FixedClock(START);
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const keys = await KeyStore.fromRecords([await generateKeyRecord('ES256', clock.now())], { legacyHs256Secret: null, maxTokenTtlSeconds: config.maxTokenTtlSeconds, clock });
  const runtime = { config, store, keys, clock, close: async () => {} };
  const code = await runCli(
    ['clients', 'create', '--name', 'x', '--auth-method', 'private_key_jwt', '--jwks-uri', 'http://127.0.0.1:8080/jwks.json'],
    { out: () => {}, err: () => {} },
    { config, clock, logger: silentLogger(), open: async () => runtime },
  );
  t.is(code, 0);
  t.is((await store.clients.list())[0]?.jwksUri, 'http://127.0.0.1:8080/jwks.json');
});

// ---- fetching, through the server ----

/** A loopback HTTP server with a handler; counts connections (not just requests). */
async function loopbackServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; port: number; connections: () => number; requests: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests += 1;
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    port,
    connections: () => connections,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Stores a private_key_jwt client with this jwks_uri as it is (as a record written before registration checked it would be). */
async function storedClient(s: TestServer, jwksUri: string): Promise<string> {
  const id = `remote-${randomBytes(6).toString('hex')}`;
  await s.store.clients.insert({ id, name: 'remote', secretHash: null, authMethod: 'private_key_jwt', jwksUri, reasonCodes: true, siteIds: null, createdAt: s.clock.now() });
  return id;
}

async function signedAssertion(s: TestServer, clientId: string, key: CryptoKey): Promise<string> {
  const now = toNumericDate(s.clock.now());
  return new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, iat: now, exp: now + 60, jti: randomBytes(12).toString('base64url') })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .sign(key);
}

async function introspectAs(s: TestServer, clientId: string, key: CryptoKey) {
  return s.request
    .post('/introspect')
    .type('form')
    .send({ token: 'olt_not-a-real-token', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await signedAssertion(s, clientId, key) });
}

async function es256(): Promise<{ privateKey: CryptoKey; jwks: { keys: Record<string, unknown>[] } }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] } };
}

apiTest('without JWKS_URI_ALLOW_LOOPBACK, a stored loopback jwks_uri is never connected to', async (t, s) => {
  const keys = await es256();
  const remote = await loopbackServer((_req, res) => res.end(JSON.stringify(keys.jwks)));
  t.teardown(remote.close);
  for (const uri of [remote.url, `http://localhost:${remote.port}/jwks.json`, `https://127.0.0.1:${remote.port}/jwks.json`, `https://[::ffff:127.0.0.1]:${remote.port}/jwks.json`]) {
    const res = await introspectAs(s, await storedClient(s, uri), keys.privateKey);
    t.is(res.status, 401, uri);
    t.deepEqual(res.body, UNIFORM, uri);
  }
  t.is(remote.connections(), 0, 'no connection was made');
}, { env: { RATE_LIMIT_AUTH_FAILURES: '0' } });

apiTest(
  'with JWKS_URI_ALLOW_LOOPBACK, a loopback jwks_uri works: fetched once, then cached',
  async (t, s) => {
    const keys = await es256();
    const remote = await loopbackServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(keys.jwks));
    });
    t.teardown(remote.close);
    const id = await storedClient(s, remote.url);
    for (let i = 0; i < 3; i++) t.is((await introspectAs(s, id, keys.privateKey)).status, 200);
    t.is(remote.requests(), 1);
  },
  LOOPBACK_ALLOWED,
);

apiTest(
  'every way a key fetch fails gets the one answer',
  async (t, s) => {
    const keys = await es256();
    const big = JSON.stringify({ keys: [...keys.jwks.keys, ...Array.from({ length: 2000 }, (_, i) => ({ kty: 'oct', kid: `pad-${i}`, k: 'A'.repeat(40) }))] });
    const behaviours: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
      'answers 500': (_req, res) => {
        res.statusCode = 500;
        res.end('{}');
      },
      'answers 404': (_req, res) => {
        res.statusCode = 404;
        res.end('not here');
      },
      'redirects': (_req, res) => {
        res.statusCode = 302;
        res.setHeader('Location', 'http://127.0.0.1:1/jwks.json');
        res.end();
      },
      'answers HTML': (_req, res) => res.end('<html>hello</html>'),
      'answers JSON that is not a JWK Set': (_req, res) => res.end('{"hello":"world"}'),
      'answers more than 64 KiB': (_req, res) => res.end(big),
    };
    for (const [name, behaviour] of Object.entries(behaviours)) {
      const remote = await loopbackServer(behaviour);
      t.teardown(remote.close);
      const res = await introspectAs(s, await storedClient(s, remote.url), keys.privateKey);
      t.is(res.status, 401, name);
      t.deepEqual(res.body, UNIFORM, name);
    }
    const unreachable = await introspectAs(s, await storedClient(s, 'http://127.0.0.1:1/jwks.json'), keys.privateKey);
    t.deepEqual(unreachable.body, UNIFORM, 'nothing listens');
  },
  LOOPBACK_ALLOWED,
);

apiTest(
  'an endless answer is cut off at the size cap, long before the time limit',
  async (t, s) => {
    const keys = await es256();
    let written = 0;
    let closed = false;
    let sawClose = () => {};
    const connectionClosed = new Promise<void>((resolve) => (sawClose = resolve));
    const remote = await loopbackServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.write('{"keys":[');
      const chunk = `${JSON.stringify({ kty: 'oct', k: 'A'.repeat(1000) })},`;
      const pump = () => {
        while (!closed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => {
        closed = true;
        sawClose();
      });
      pump();
    });
    t.teardown(remote.close);
    const started = Date.now();
    const res = await introspectAs(s, await storedClient(s, remote.url), keys.privateKey);
    t.is(res.status, 401);
    t.deepEqual(res.body, UNIFORM);
    t.true(Date.now() - started < 4000, `answered in ${Date.now() - started} ms`);
    // Closed by the cut, within the bound above: the fetch's own time limit would close it only later.
    await settlesWithin(connectionClosed, Math.max(0, started + 4000 - Date.now()));
    t.true(closed, 'the server saw the connection closed');
    t.true(written < 64 * 1024 * 1024, `${written} bytes written before the cut`);
  },
  LOOPBACK_ALLOWED,
);

apiTest(
  'a failing jwks_uri is not fetched again during its cooldown; other URIs are unaffected',
  async (t, s) => {
    const keys = await es256();
    let healthy = false;
    const flaky = await loopbackServer((_req, res) => {
      if (!healthy) {
        res.statusCode = 503;
        return void res.end();
      }
      res.end(JSON.stringify(keys.jwks));
    });
    const other = await loopbackServer((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    t.teardown(flaky.close);
    t.teardown(other.close);
    const id = await storedClient(s, flaky.url);
    const otherId = await storedClient(s, other.url);
    for (let i = 0; i < 5; i++) t.deepEqual((await introspectAs(s, id, keys.privateKey)).body, UNIFORM);
    t.is(flaky.requests(), 1, 'one fetch for five attempts');
    t.is((await introspectAs(s, otherId, keys.privateKey)).status, 401);
    t.is(other.requests(), 1, 'the cooldown is per URI');
    healthy = true;
    s.clock.advance(10);
    t.is((await introspectAs(s, id, keys.privateKey)).status, 401, 'still cooling down');
    t.is(flaky.requests(), 1);
    s.clock.advance(30);
    t.is((await introspectAs(s, id, keys.privateKey)).status, 200, 'fetched again after the cooldown');
    t.is(flaky.requests(), 2);
  },
  LOOPBACK_ALLOWED,
);

test('a key fetch failure is logged once, with its cause, and its cooldown quietly', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { logger, lines } = captureLogs();
  const s = await startTestServer(store, { logger, ...LOOPBACK_ALLOWED });
  const remote = await loopbackServer((_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  t.teardown(async () => {
    await remote.close();
    await s.close();
    await store.close();
  });
  const keys = await es256();
  const id = await storedClient(s, remote.url);
  await introspectAs(s, id, keys.privateKey);
  await introspectAs(s, id, keys.privateKey);
  const failures = lines.filter((l) => l.event === 'client.auth_failed');
  t.is(failures.length, 2);
  t.like(failures[0], { level: 'warn', reason: 'jwks_unavailable', client_id: id, detail: 'status' });
  t.like(failures[1], { level: 'info', reason: 'jwks_unavailable', client_id: id, detail: 'cooling_down' });
});

// ---- the fetch itself, with a stubbed resolver ----

/** A resolver that answers `addresses` for every name and records what it was asked. */
function stubResolver(...addresses: string[]) {
  const asked: string[] = [];
  const resolve: Resolve = async (hostname) => {
    asked.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, asked };
}

async function fetchFailure(uri: string, options: JwksFetchOptions): Promise<string | undefined> {
  const error = await fetchJwks(uri, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof JwksFetchError ? error.reason : `not a JwksFetchError: ${String(error)}`;
}

test('a name that resolves to a non-public address is refused before any connection', async (t) => {
  const remote = await loopbackServer((_req, res) => res.end('{"keys":[]}'));
  t.teardown(remote.close);
  const answers = [['10.0.0.1'], ['169.254.169.254'], ['::1'], ['fd00:ec2::254'], ['::ffff:10.0.0.1'], ['100.64.1.1'], ['127.0.0.1'], ['127.0.0.1', '10.0.0.1']];
  for (const addresses of answers) {
    const stub = stubResolver(...addresses);
    t.is(await fetchFailure(`https://keys.rp.example:${remote.port}/jwks.json`, { allowLoopback: false, resolve: stub.resolve }), 'refused_address', addresses.join(' '));
    t.deepEqual(stub.asked, ['keys.rp.example'], `${addresses.join(' ')}: the name was resolved by the guarded lookup`);
  }
  // Even with loopback allowed, a private address stays refused, and plain http goes to loopback only.
  for (const addresses of [['10.0.0.1'], ['127.0.0.1', '169.254.169.254'], ['::1', 'fd00::1']]) {
    const stub = stubResolver(...addresses);
    t.is(await fetchFailure(`http://keys.rp.example:${remote.port}/jwks.json`, { allowLoopback: true, resolve: stub.resolve }), 'refused_address', `http ${addresses.join(' ')}`);
  }
  t.is(remote.connections(), 0, 'no connection was made');
});

test('the connection goes to the address the guarded lookup returned', async (t) => {
  const remote = await loopbackServer((_req, res) => res.end('{"keys":[]}'));
  t.teardown(remote.close);
  const stub = stubResolver('127.0.0.1');
  t.deepEqual(await fetchJwks(`http://keys.rp.example:${remote.port}/jwks.json`, { allowLoopback: true, resolve: stub.resolve }), { keys: [] });
  t.deepEqual(stub.asked, ['keys.rp.example']);
  t.is(remote.requests(), 1);
});

test('the guarded lookup hands public answers to node:net in both of its forms', async (t) => {
  const lookup = guardedLookup(stubResolver('93.184.216.34', '2606:2800:220:1::1').resolve, (c) => c === 'public');
  const call = (options: LookupOptions) =>
    new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) => lookup('keys.rp.example', options, (error, address, family) => resolve({ error, address, family })));
  t.deepEqual(await call({ all: true }), { error: null, address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }], family: undefined });
  t.deepEqual(await call({ family: 6 }), { error: null, address: '2606:2800:220:1::1', family: 6 });
  t.deepEqual(await call({}), { error: null, address: '93.184.216.34', family: 4 });
  // One private address among public ones refuses the name: which one a connection would try is not left to chance.
  const mixed = guardedLookup(stubResolver('93.184.216.34', '10.0.0.1').resolve, (c) => c === 'public');
  const refused = await new Promise<Error | null>((resolve) => mixed('keys.rp.example', { all: true }, (error) => resolve(error)));
  t.true(refused instanceof JwksFetchError && refused.reason === 'refused_address');
});

test('IP literals and local names are refused without a lookup', async (t) => {
  for (const uri of ['https://10.0.0.1/jwks.json', 'https://169.254.169.254/latest/', 'https://[::ffff:a9fe:a9fe]/', 'https://[fe80::1]/', 'https://metadata.google.internal/', 'https://metadata/', 'https://localhost/', 'http://127.0.0.1/']) {
    const stub = stubResolver('93.184.216.34');
    const reason = await fetchFailure(uri, { allowLoopback: false, resolve: stub.resolve });
    t.true(reason === 'refused_address' || reason === 'refused_url', `${uri}: ${reason}`);
    t.deepEqual(stub.asked, [], uri);
  }
  t.is(await fetchFailure('ftp://rp.example/jwks.json', { allowLoopback: true }), 'refused_url');
});

test('the answer is read up to the size cap and the time limit, and a redirect is not followed', async (t) => {
  const options = { allowLoopback: true };
  const declaredTooBig = await loopbackServer((_req, res) => {
    res.setHeader('Content-Length', String(JWKS_MAX_BYTES + 1));
    res.write('{"keys":[');
  });
  const chunkedTooBig = await loopbackServer((_req, res) => {
    res.write(`{"keys":[],"pad":"${'x'.repeat(JWKS_MAX_BYTES)}`);
    res.end('"}');
  });
  const atTheCap = await loopbackServer((_req, res) => {
    const head = '{"keys":[],"pad":"';
    res.end(`${head}${'x'.repeat(JWKS_MAX_BYTES - head.length - 2)}"}`);
  });
  const silent = await loopbackServer(() => {});
  const target = await loopbackServer((_req, res) => res.end('{"keys":[]}'));
  const redirecting = await loopbackServer((_req, res) => {
    res.statusCode = 302;
    res.setHeader('Location', target.url);
    res.end();
  });
  for (const server of [declaredTooBig, chunkedTooBig, atTheCap, silent, target, redirecting]) t.teardown(server.close);

  t.is(await fetchFailure(declaredTooBig.url, options), 'too_large');
  t.is(await fetchFailure(chunkedTooBig.url, options), 'too_large');
  t.like(await fetchJwks(atTheCap.url, options), { keys: [] }, 'exactly the cap is fine');
  const started = Date.now();
  t.is(await fetchFailure(silent.url, { ...options, signal: AbortSignal.timeout(200) }), 'timeout');
  t.true(Date.now() - started < 2000);
  t.is(await fetchFailure(redirecting.url, options), 'status');
  t.is(target.connections(), 0, 'the redirect was not followed');
  t.is(JWKS_FETCH_TIMEOUT_MS, 5000);
});
