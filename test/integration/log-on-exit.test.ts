import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { KEY_FILE } from '../../src/keys/keystore.js';

/**
 * The server writes its log lines in batches, once per event-loop turn: these
 * tests hold it to writing every line all the same when the process ends, by
 * a signal, a fatal start-up error or an uncaught exception.
 */

const ADMIN_TOKEN = 'log-on-exit-test-admin-token-0123456789abcdef';

interface Child {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor: (pattern: RegExp, what: string) => Promise<void>;
  kill: (signal: NodeJS.Signals) => void;
}

function run(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, MONGODB_URI: '', CONFIG_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  // 'close', not 'exit': all of the output has been read by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: async (pattern, what) => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no "${what}" in the output:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Every line of the output, parsed: a line cut short or run into another fails here. */
function parseLines(output: string): Array<Record<string, unknown>> {
  if (output.length > 0 && !output.endsWith('\n')) throw new Error(`the output ends within a line: ${output.slice(-200)}`);
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a whole JSON line: ${line.slice(0, 200)}`);
      }
    });
}

function call(agent: Agent, port: number, method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`${signal} after N answered requests: the log holds exactly N access lines, each whole`, async (t) => {
    const port = await freePort();
    const keysDir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
    const child = run(['src/server.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: `http://127.0.0.1:${port}`,
      KEYS_DIR: keysDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      LOG_REQUESTS: 'all',
      RATE_LIMIT_CLIENT_REQUESTS: '1000000',
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      await child.waitFor(/"msg":"listening"/, 'listening');
      const admin = async (method: string, path: string, body: unknown) => {
        const res = await call(agent, port, method, path, { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, JSON.stringify(body));
        return JSON.parse(res.text) as Record<string, string>;
      };
      const client = await admin('POST', '/admin/clients', { name: 'log test' });
      await admin('PUT', '/admin/customers/c1', { status: 'active' });
      const { auth_token: token } = await admin('POST', '/admin/tokens', { customer_id: 'c1' });
      const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;

      // Many at once, so that several lines fall in one event-loop turn of the server.
      const N = 400;
      const statuses = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          call(agent, port, 'POST', '/introspect', { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded', 'X-Request-Id': `req-${i}` }, `token=${token}`).then((r) => r.status),
        ),
      );
      t.deepEqual(new Set(statuses), new Set([200]));
      agent.destroy();

      child.kill(signal);
      t.is(await child.exited, 0, child.stderr());
      const lines = parseLines(child.stdout());
      const access = lines.filter((l) => l.msg === 'request' && l.route === '/introspect');
      t.is(access.length, N);
      t.deepEqual(new Set(access.map((l) => l.req_id)).size, N, 'each request has its own line');
      t.is(lines.filter((l) => l.msg === 'request').length, N + 3, 'and the three admin requests theirs');
      t.true(lines.some((l) => l.msg === 'shutting down' && l.signal === signal));
      // In the order they were written: times never go back.
      const times = lines.map((l) => Date.parse(l.time as string));
      for (let i = 1; i < times.length; i++) t.true(times[i]! >= times[i - 1]!, `line ${i} is older than the line before it: ${JSON.stringify(lines.slice(i - 2, i + 2))}`);
    } finally {
      agent.destroy();
      child.kill('SIGKILL');
      await child.exited;
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
}

test.serial('a fatal start-up error still prints its fatal line before the process exits 1', async (t) => {
  const keysDir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  writeFileSync(join(keysDir, KEY_FILE), 'not json');
  const child = run(['src/server.ts'], { PORT: '0', HOST: '127.0.0.1', ISSUER: 'http://127.0.0.1:1', KEYS_DIR: keysDir, LOG_LEVEL: 'info' });
  try {
    t.is(await child.exited, 1);
    const lines = parseLines(child.stdout());
    const fatal = lines.find((l) => l.level === 'fatal');
    t.truthy(fatal, `no fatal line in:\n${child.stdout()}\n${child.stderr()}`);
    t.regex(String(fatal?.msg), /^start-up failed: .*is not valid JSON/);
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
});

/** A script that logs `lines` lines through the server's logger, then throws outside any handler. */
const throwingScript = (lines: number, when: 'at once' | 'in a timer') => `
  const { createLogger } = await import(${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)});
  const logger = createLogger();
  const go = () => {
    for (let i = 0; i < ${lines}; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'line');
    throw new Error('boom');
  };
  ${when === 'at once' ? 'go();' : 'setTimeout(go, 10);'}
`;

for (const when of ['at once', 'in a timer'] as const) {
  test.serial(`lines logged just before an uncaught exception (${when}) are all written, in order`, async (t) => {
    const N = 2000;
    const child = run(['--input-type=module', '--eval', throwingScript(N, when)], {});
    t.not(await child.exited, 0);
    t.regex(child.stderr(), /boom/);
    const lines = parseLines(child.stdout());
    t.is(lines.length, N);
    t.deepEqual(
      lines.map((l) => l.i),
      Array.from({ length: N }, (_, i) => i),
    );
  });
}
