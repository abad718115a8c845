import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { readLogLines } from '../helpers/logs.js';
import { serverHasRead } from '../helpers/raw-http.js';
import { whenEmitted } from '../helpers/wait.js';

const ADMIN_TOKEN = 'shutdown-test-admin-token-0123456789abcdef';

/**
 * Starts the server, sends half a request, SIGTERMs the process, then sends
 * the rest: the answer must arrive and the process must exit 0.
 */
async function inFlightAtSigterm(t: ExecutionContext, keepAlive: boolean): Promise<void> {
  const port = await freePort();
  const keysDir = mkdtempSync(join(tmpdir(), 'open-login-keys-'));
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ISSUER: base, KEYS_DIR: keysDir, ADMIN_TOKEN, LOG_LEVEL: 'info', MONGODB_URI: '', CONFIG_FILE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const log = readLogLines(child.stdout);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** Resolves once the server logs `msg`; throws if it does not within 20 s or its output ends first. */
  const logged = async (msg: string) => {
    if (!(await log.waitForLine((l) => l.msg === msg, 20_000))) throw new Error(`no "${msg}" in the server output:\n${output}`);
  };
  try {
    await logged('listening');
    const admin = async (method: string, path: string, body: unknown) => {
      return new Promise<Record<string, string>>((resolve, reject) => {
        const req = request(`${base}${path}`, { method, agent: false, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += String(c)));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    };
    const client = await admin('POST', '/admin/clients', { name: 'shutdown test' });
    await admin('PUT', '/admin/customers/c1', { status: 'active' });
    const { auth_token: token } = await admin('POST', '/admin/tokens', { customer_id: 'c1' });

    // Half a request: headers and part of the body, so the request is in flight.
    const body = `token=${token}`;
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    socket.write(
      `POST /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${basic}\r\n${keepAlive ? '' : 'Connection: close\r\n'}` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    // A connection whose head is not read yet at SIGTERM is idle, and closed unanswered.
    await serverHasRead(port, [socket]);

    child.kill('SIGTERM');
    await logged('shutting down');
    // A pause on purpose: what is tested is that the process does not exit during it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.is(child.exitCode, null, 'the process waits for the request in flight');

    // write, not end: a half-closed socket makes Node's server abort the request.
    socket.write(body.slice(10));
    // A keep-alive client holds its connection open after the answer, as gateways do.
    const whole = () => /\r\n\r\n\{.*\}$/s.test(answer);
    const answered = keepAlive
      ? whenEmitted(socket, 'data', whole, 10_000).then((ok) => {
          if (!ok) throw new Error(`no whole answer within 10 s: ${answer}`);
        })
      : closed;
    await answered;
    t.regex(answer, /^HTTP\/1\.1 200 OK\r\n/);
    t.regex(answer, /"active":true/);
    const started = Date.now();
    t.is(await exited, 0, output);
    t.true(Date.now() - started < 5000, `exit took ${Date.now() - started} ms`);
    socket.destroy();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(keysDir, { recursive: true, force: true });
  }
}

// Serial: each test starts a server process of its own and times its exit.
test.serial('SIGTERM lets an in-flight request finish, then the process exits 0', (t) => inFlightAtSigterm(t, false));

// A keep-alive connection is idle only after its answer is sent; the server
// must still close it then, or the process waits for the 10 s fallback timer.
test.serial('SIGTERM with a keep-alive client: the answer arrives and the process exits 0 promptly', (t) => inFlightAtSigterm(t, true));
