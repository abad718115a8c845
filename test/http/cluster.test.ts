import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, basic } from '../helpers/app.js';
import { readLogLines } from '../helpers/logs.js';
import { mongoTest, mongoTestUri, uniqueDbName, withRawClient } from '../helpers/mongo.js';

/**
 * The real server process (src/server.ts), as a cluster: caches in two
 * workers must agree after a revocation made through either of them.
 */
interface Running {
  port: number;
  lines: Array<Record<string, unknown>>;
  child: ChildProcess;
  stop: () => Promise<void>;
}

async function startServer(env: Record<string, string>, listening: number): Promise<Running> {
  const keysDir = mkdtempSync(join(tmpdir(), 'cluster-keys-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', KEYS_DIR: keysDir, ADMIN_TOKEN, LOG_LEVEL: 'info', RATE_LIMIT_CLIENT_REQUESTS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = readLogLines(child.stdout!);
  const lines = log.lines;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(keysDir, { recursive: true, force: true });
  };
  // Ends early, false, if the process exits (its output closes) first.
  if (!(await log.waitUntil(() => lines.filter((l) => l.msg === 'listening').length >= listening, 30_000))) {
    await stop();
    throw new Error(`server did not start: ${JSON.stringify(lines.slice(-5))}`);
  }
  const port = lines.find((l) => l.msg === 'listening')!.port as number;
  return { port, lines, child, stop };
}

async function call(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string }) {
  // A new connection per call, so the primary spreads calls over the workers.
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, method: init.method ?? 'POST', headers: { connection: 'close', ...init.headers }, keepalive: false });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

test('cluster: without MongoDB the server runs one worker and says why', async (t) => {
  const server = await startServer({ WORKERS: '2', MONGODB_URI: '' }, 1);
  t.teardown(server.stop);
  t.true(server.lines.some((l) => l.level === 'warn' && /embedded in-memory store cannot be shared/.test(String(l.msg))));
  t.false(server.lines.some((l) => l.msg === 'cluster started'));
  t.is((await call(server.port, '/healthz', { method: 'GET' })).status, 200);
});

const uri = mongoTestUri();
// Without a server these are declared with test.skip (counted as skipped); CI=true or REQUIRE_MONGO=1 runs them anyway, to fail.
const mongoClusterTest = mongoTest();

/** A two-worker cluster on its own MongoDB database, stopped and dropped after the test. */
const twoWorkers = async (t: ExecutionContext, env: Record<string, string>) => {
  const dbName = uniqueDbName();
  const server = await startServer({ MONGODB_URI: uri!, MONGODB_DB: dbName, WORKERS: '2', ...env }, 2);
  t.teardown(async () => {
    await server.stop();
    await withRawClient((c) => c.db(dbName).dropDatabase());
  });
  return server;
};

mongoClusterTest('cluster: a revocation or customer change through one worker takes effect in every worker at once', async (t) => {
  if (!uri) return t.fail('MONGODB_TEST_URI is required for the cluster test');
  // A long staleness bound: only invalidation can explain a change seen at once.
  const server = await twoWorkers(t, { CACHE_TTL_SECONDS: '600' });
  t.true(server.lines.some((l) => l.msg === 'cluster started' && l.workers === 2));
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const client = (await call(server.port, '/admin/clients', { headers: admin, body: JSON.stringify({ name: 'Gateway' }) })).body;
  await call(server.port, '/admin/customers/c1', { method: 'PUT', headers: admin, body: JSON.stringify({ status: 'active' }) });
  await call(server.port, '/admin/customers/c2', { method: 'PUT', headers: admin, body: JSON.stringify({ status: 'active' }) });
  // RFC 7009 §2.1: the token revoked through /revoke is issued to the revoking client.
  const first = (await call(server.port, '/admin/tokens', { headers: admin, body: JSON.stringify({ customer_id: 'c1', client_id: client.client_id }) })).body;
  const second = (await call(server.port, '/admin/tokens', { headers: admin, body: JSON.stringify({ customer_id: 'c2', format: 'opaque' }) })).body;
  const auth = basic(client.client_id as string, client.client_secret as string);
  const introspectAll = async (token: string) => {
    const answers = [];
    for (let i = 0; i < 12; i++) {
      answers.push((await call(server.port, '/introspect', { headers: { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` })).body);
    }
    return answers;
  };
  const workersServing = () => new Set(server.lines.filter((l) => l.msg === 'request' && l.route === '/introspect').map((l) => l.worker));

  for (const token of [first.auth_token, second.auth_token] as string[]) {
    t.true((await introspectAll(token)).every((a) => a.active === true));
  }
  t.is(workersServing().size, 2, 'both workers answered, so both have the records cached');

  await call(server.port, '/revoke', { headers: { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(first.auth_token as string)}` });
  t.deepEqual(new Set((await introspectAll(first.auth_token as string)).map((a) => a.reason)), new Set(['revoked']));

  await call(server.port, '/admin/customers/c2', { method: 'PUT', headers: admin, body: JSON.stringify({ status: 'disabled' }) });
  t.deepEqual(new Set((await introspectAll(second.auth_token as string)).map((a) => a.reason)), new Set(['customer_disabled']));
});

mongoClusterTest('MONGODB_LOOKUPS=batched: the server says so, answers from batched lookups, and /metrics counts the batches', async (t) => {
  if (!uri) return t.fail('MONGODB_TEST_URI is required for the cluster test');
  // No caching, so every introspection looks its grant and customer up in the store.
  const server = await twoWorkers(t, { MONGODB_LOOKUPS: 'batched', CACHE_TTL_SECONDS: '0' });
  t.true(server.lines.some((l) => l.lookups === 'batched' && l.msg === 'lookup mode set by configuration'));
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const client = (await call(server.port, '/admin/clients', { headers: admin, body: JSON.stringify({ name: 'Gateway' }) })).body;
  await call(server.port, '/admin/customers/c1', { method: 'PUT', headers: admin, body: JSON.stringify({ status: 'active' }) });
  const tokens: string[] = [];
  for (const format of ['jwt', 'opaque', 'jwt']) {
    tokens.push((await call(server.port, '/admin/tokens', { headers: admin, body: JSON.stringify({ customer_id: 'c1', format }) })).body.auth_token as string);
  }
  const auth = basic(client.client_id as string, client.client_secret as string);
  const form = { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' };
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => call(server.port, '/introspect', { headers: form, body: `token=${encodeURIComponent(tokens[i % 3]!)}` })),
  );
  t.true(answers.every((a) => a.status === 200 && a.body.active === true), JSON.stringify(answers.find((a) => a.body.active !== true)));
  const unknown = await call(server.port, '/introspect', { headers: form, body: 'token=an-unknown-opaque-token-0123456789abcdefABCDEF' });
  t.is(unknown.body.active, false);
  const metrics = await fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text());
  const count = /^store_lookup_batch_keys_count\{operation="grants\.findById"\} (\d+)$/m.exec(metrics);
  t.truthy(count, 'the worker that answered /metrics has sent batched grant lookups');
  t.true(Number(count![1]) >= 1);
});

mongoClusterTest('cluster: failed authentications in both workers count against one budget', async (t) => {
  if (!uri) return t.fail('MONGODB_TEST_URI is required for the cluster test');
  // Windows are aligned to the clock across workers: a day-long one keeps the five attempts in one window
  // (a minute-long one is crossed by them now and then on a loaded machine).
  const server = await twoWorkers(t, { RATE_LIMIT_AUTH_FAILURES: '4', RATE_LIMIT_WINDOW_SECONDS: '86400' });
  const attempt = () =>
    call(server.port, '/introspect', { headers: { Authorization: basic('nobody', 'wrong'), 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=x' });
  for (let i = 0; i < 4; i++) {
    t.is((await attempt()).status, 401);
    // Workers share a count within a few milliseconds when idle; the other tests of this file
    // start clusters of their own at the same time, so allow for a loaded machine. A fixed pause:
    // from outside, a worker's count shows only in the answer to another attempt, which adds to it.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const failedIn = new Set(server.lines.filter((l) => l.msg === 'request' && l.status === 401).map((l) => l.worker));
  t.is(failedIn.size, 2, 'the failures were spread over both workers, so neither saw four alone');
  const next = await attempt();
  t.is(next.status, 429, 'the fifth attempt is refused whichever worker takes it');
  t.is(next.body.error, 'too_many_requests');
});
