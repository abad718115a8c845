/**
 * Adversarial: the failed-login limit cannot be raced. Many requests whose
 * header fields arrive first and whose bodies arrive together later must not
 * all have their credentials evaluated: at most the limit of them fail
 * authentication, the rest are refused with 429 before any credential is
 * checked.
 */
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { FixedClock } from '../../src/core/clock.js';
import { InvalidClient } from '../../src/http/errors.js';
import { MemoryWindowCounter, RateLimits, type WindowCounter } from '../../src/http/rate-limit.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { basic, standardSetup, startTestServer, type TestServer } from '../helpers/app.js';
import { serverHasRead } from '../helpers/raw-http.js';

const LIMIT = 5;
const REQUESTS = 60;

/** Opens one connection per request, sends every head, then (once the server has read them) every body; returns the statuses. */
async function raceBodies(port: number, head: string, body: string): Promise<number[]> {
  const sockets: Socket[] = [];
  const answers: Array<Promise<number>> = [];
  for (let i = 0; i < REQUESTS; i++) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    answers.push(
      new Promise<number>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString('utf8');
          const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        socket.on('error', reject);
        socket.on('close', () => reject(new Error('closed without an answer')));
      }),
    );
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
  }
  // Every head is in (the server has read them); the bodies come "late" and together.
  await serverHasRead(port, sockets);
  for (const socket of sockets) socket.write(body);
  try {
    return await Promise.all(answers);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

async function server(): Promise<TestServer & { done: () => Promise<void> }> {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store, { env: { RATE_LIMIT_AUTH_FAILURES: String(LIMIT) } });
  return { ...s, done: () => s.close() };
}

const head = (path: string, fields: Record<string, string>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}`;

const CASES: Array<{ name: string; request: (s: { clientId: string; token: string }) => { head: string; body: string } }> = [
  {
    name: 'introspection, wrong Basic secret',
    request: ({ clientId, token }) => ({
      head: head('/introspect', { Authorization: basic(clientId, 'wrong'), 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: `token=${token}`,
    }),
  },
  {
    name: 'revocation, wrong secret in the body',
    request: ({ clientId, token }) => ({
      head: head('/revoke', { 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: `token=${token}&client_id=${clientId}&client_secret=wrong`,
    }),
  },
  {
    name: 'validation, wrong Basic secret',
    request: ({ clientId, token }) => ({
      head: head('/api/v1/auth/token/validate', { Authorization: basic(clientId, 'wrong'), 'Content-Type': 'application/json' }),
      body: JSON.stringify({ auth_token: token }),
    }),
  },
  {
    name: 'admin API, wrong bearer token',
    request: () => ({ head: head('/admin/clients', { Authorization: 'Bearer wrong', 'Content-Type': 'application/json' }), body: '{"name":"x"}' }),
  },
];

for (const c of CASES) {
  test(`${c.name}: ${REQUESTS} attempts raced past the address check evaluate at most ${LIMIT} credentials`, async (t) => {
    const s = await server();
    try {
      const setup = await standardSetup(s);
      const { head: h, body } = c.request(setup);
      const statuses = await raceBodies(s.port, h, body);
      const failed = statuses.filter((x) => x === 401).length;
      const limited = statuses.filter((x) => x === 429).length;
      t.is(failed + limited, REQUESTS, `every answer is 401 or 429: ${statuses.join(',')}`);
      t.true(failed <= LIMIT, `${failed} credentials were evaluated`);
      t.true(failed >= 1);
    } finally {
      await s.done();
    }
  });
}

test('concurrent correct credentials from one address are never refused for being many', async (t) => {
  const s = await server();
  try {
    const { clientId, secret, token } = await standardSetup(s);
    const statuses = await raceBodies(
      s.port,
      head('/introspect', { Authorization: basic(clientId, secret), 'Content-Type': 'application/x-www-form-urlencoded' }),
      `token=${token}`,
    );
    t.deepEqual([...new Set(statuses)], [200]);
  } finally {
    await s.done();
  }
});

test('with a counter that answers asynchronously (a shared store), concurrent wrong credentials are still evaluated at most the limit', async (t) => {
  const memory = new MemoryWindowCounter();
  // As a networked counter would: every answer a turn later.
  const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(() => resolve(value)));
  const counter: WindowCounter = {
    hit: (key, windowMs, nowMs) => later(memory.hit(key, windowMs, nowMs)),
    peek: (key, windowMs, nowMs) => later(memory.peek(key, windowMs, nowMs)),
  };
  const limits = new RateLimits({
    config: { rateLimitAuthFailures: LIMIT, rateLimitClientRequests: 0, rateLimitWindowSeconds: 60 },
    clock: new FixedClock(new Date('2026-01-15T12:00:00Z')),
    logger: silentLogger(),
    counter,
  });
  let evaluated = 0;
  const wrong = async () => {
    evaluated += 1;
    await later(undefined);
    throw new InvalidClient();
  };
  const outcomes = await Promise.all(Array.from({ length: REQUESTS }, () => limits.attempt('198.51.100.7', 'r', wrong).then(() => 200, (e: { status: number }) => e.status)));
  t.is(evaluated, LIMIT);
  t.is(outcomes.filter((s) => s === 401).length, LIMIT);
  t.is(outcomes.filter((s) => s === 429).length, REQUESTS - LIMIT);
});
