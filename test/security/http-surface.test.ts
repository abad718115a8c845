/**
 * Adversarial: every method on every route answers JSON; absolute-form
 * request targets (RFC 9112 §3.2.2) are served like origin-form ones; the
 * server's time limits on slow connections hold.
 */
import test from 'ava';
import { connect } from 'node:net';
import { createHttpServer, HTTP_TIMEOUTS } from '../../src/http/listen.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { standardSetup, startTestServer } from '../helpers/app.js';
import { rawRequest, wire } from '../helpers/raw-http.js';

test('unknown and unsupported methods get RFC 6749 error JSON on every route', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store);
  try {
    const paths = ['/introspect', '/revoke', '/api/v1/auth/token/validate', '/admin/clients', '/admin/customers/c1', '/healthz', '/metrics', '/docs', '/openapi.json', '/.well-known/oauth-authorization-server', '/nowhere'];
    for (const path of paths) {
      for (const method of ['TRACE', 'PROPFIND', 'PATCH', 'DELETE', 'CONNECTX', 'MKCOL']) {
        const res = await rawRequest(s.port, wire(method, path));
        t.true(res.status >= 400 && res.status < 500 || res.status === 501, `${method} ${path}: ${res.status}`);
        t.regex(res.headers['content-type'] ?? '', /^application\/json/, `${method} ${path}: ${res.headers['content-type']}`);
        const body = JSON.parse(res.body) as { error?: unknown };
        t.is(typeof body.error, 'string', `${method} ${path}`);
      }
    }
  } finally {
    await s.close();
  }
});

test('absolute-form request targets are served as their origin-form path', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store);
  try {
    const { auth, token } = await standardSetup(s);
    const introspected = await rawRequest(
      s.port,
      wire('POST', `http://127.0.0.1:${s.port}/introspect`, { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, `token=${token}`),
    );
    t.is(introspected.status, 200);
    t.true(JSON.parse(introspected.body).active);
    const validated = await rawRequest(
      s.port,
      wire('POST', `http://127.0.0.1:${s.port}/api/v1/auth/token/validate`, { Authorization: auth, 'Content-Type': 'application/json' }, JSON.stringify({ auth_token: token })),
    );
    t.is(validated.status, 200);
    t.true(JSON.parse(validated.body).valid);
    t.is((await rawRequest(s.port, wire('GET', 'http://127.0.0.1/healthz'))).status, 200);
    t.is((await rawRequest(s.port, wire('GET', 'HTTP://LOCALHOST/healthz?x=1'))).status, 200);
    // A query string of an absolute-form target is still the query, not the body.
    const inUrl = await rawRequest(s.port, wire('POST', `http://127.0.0.1/introspect?token=${token}`, { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, `token=${token}`));
    t.is(inUrl.status, 400);
  } finally {
    await s.close();
  }
});

/** Sends a request head one byte at a time, `everyMs` apart; resolves with how long the server kept the connection. */
function slowHead(port: number, everyMs: number, limitMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const head = 'POST /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ' + 'a'.repeat(10_000);
    let i = 0;
    const timer = setInterval(() => {
      if (!socket.writable || i >= head.length) return;
      socket.write(head[i++]!);
    }, everyMs);
    // The trickle is the behaviour under test; this only caps how long the test waits for the server to cut it.
    const stop = setTimeout(() => socket.destroy(), limitMs);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
      resolve(Date.now() - started);
    });
  });
}

test('a connection that trickles its header fields is closed once headersTimeout passes, not tens of seconds later', async (t) => {
  t.true(HTTP_TIMEOUTS.connectionsCheckingIntervalMs <= 1000, 'the production check runs at least every second');
  const server = createHttpServer((_req, res) => res.end('{}'), { ...HTTP_TIMEOUTS, headersTimeoutMs: 600, requestTimeoutMs: 1200, connectionsCheckingIntervalMs: 200 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const held = await slowHead(port, 50, 10_000);
    t.true(held < 3000, `held for ${held} ms`);
    t.true(held >= 500, `held for ${held} ms`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
