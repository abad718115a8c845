import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError } from '../../src/keys/keystore.js';
import { describeStartFailure } from '../../src/start-failure.js';
import { StoreUnavailableError } from '../../src/store/types.js';

/**
 * A start that fails must say why in one line and exit non-zero in every
 * mode, so a supervisor (systemd, Kubernetes) sees it and an operator knows
 * which setting to change. Each case starts the real server process.
 */

/** No MongoDB listens on port 1: connecting fails at once. */
const UNREACHABLE_MONGODB = 'mongodb://127.0.0.1:1/open_login_start_test';

async function start(env: Record<string, string>): Promise<{ code: number | null; output: string; lines: Array<Record<string, unknown>> }> {
  const keysDir = mkdtempSync(join(tmpdir(), 'start-failure-keys-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', KEYS_DIR: keysDir, LOG_LEVEL: 'info', MONGODB_URI: '', CONFIG_FILE: '', WORKERS: '', STORE_TIMEOUT_MS: '300', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  // A process that keeps running has not failed: the test fails, after stopping it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  rmSync(keysDir, { recursive: true, force: true });
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, output, lines };
}

/** A loopback port held by this test process, so the server finds it in use. */
async function portInUse(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

function oneFailureLine(t: import('ava').ExecutionContext, result: Awaited<ReturnType<typeof start>>, pattern: RegExp): void {
  t.is(result.code, 1, result.output);
  const fatal = result.lines.filter((l) => l.level === 'fatal');
  t.is(fatal.length, 1, result.output);
  t.regex(String(fatal[0]?.msg), pattern);
  // No stack trace, no node "throw er" banner, nothing but JSON lines.
  t.notRegex(result.output, /^\s+at /m);
  t.notRegex(result.output, /Unhandled|throw er|node:internal/);
  t.true(result.output.split('\n').every((l) => l === '' || l.startsWith('{')), result.output);
}

test.serial('single process, embedded store: a port in use is one line naming PORT, exit 1', async (t) => {
  const { port, server } = await portInUse();
  t.teardown(() => server.close());
  const result = await start({ PORT: String(port) });
  oneFailureLine(t, result, new RegExp(`^start-up failed: port ${port} on 127\\.0\\.0\\.1 is already in use \\(set PORT\\)$`));
});

test.serial('cluster (WORKERS=2): a port in use is one line naming PORT, exit 1, no worker respawned', async (t) => {
  const { port, server } = await portInUse();
  t.teardown(() => server.close());
  const result = await start({ PORT: String(port), WORKERS: '2', MONGODB_URI: UNREACHABLE_MONGODB });
  oneFailureLine(t, result, /is already in use \(set PORT\)$/);
  t.false(result.lines.some((l) => l.msg === 'worker exited: starting another'));
});

test.serial('single process: MongoDB unreachable at start is one line naming MONGODB_URI, exit 1', async (t) => {
  const result = await start({ PORT: '0', WORKERS: '1', MONGODB_URI: UNREACHABLE_MONGODB });
  oneFailureLine(t, result, /MongoDB could not answer .*\(check MONGODB_URI/);
});

test.serial('cluster (WORKERS=2): workers that cannot reach MongoDB stop the primary with exit 1 and one line, not one per worker', async (t) => {
  const result = await start({ PORT: '0', WORKERS: '2', MONGODB_URI: UNREACHABLE_MONGODB });
  oneFailureLine(t, result, /MongoDB could not answer .*\(check MONGODB_URI/);
  t.true(result.lines.some((l) => l.msg === 'cluster started'), 'the workers were started');
  t.false(result.lines.some((l) => l.msg === 'worker exited: starting another'), 'no worker was respawned');
});

const modes: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'single process', env: {} },
  { name: 'cluster (WORKERS=2)', env: { WORKERS: '2', MONGODB_URI: UNREACHABLE_MONGODB } },
];
for (const mode of modes) {
  test.serial(`${mode.name}: a key directory that cannot be made is one line naming KEYS_DIR, exit 1`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'start-failure-file-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const result = await start({ PORT: '0', KEYS_DIR: join(file, 'keys'), ...mode.env });
    oneFailureLine(t, result, /ENOTDIR.*KEYS_DIR/);
  });

  test.serial(`${mode.name}: a broken key file is one line naming KEYS_DIR, exit 1`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'start-failure-keys-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'signing-keys.json'), '{"keys": 1}');
    const result = await start({ PORT: '0', KEYS_DIR: dir, ...mode.env });
    oneFailureLine(t, result, /signing-keys\.json: must hold .*KEYS_DIR/);
  });

  test.serial(`${mode.name}: a bad setting is one line on stderr, exit 2`, async (t) => {
    const result = await start({ PORT: '0x10', ...mode.env });
    t.is(result.code, 2, result.output);
    t.is(result.output.trim(), 'configuration error: PORT: must be a whole number from 0 to 65535');
  });
}

test.serial('single process: an address that is not this machine\'s is one line naming HOST, exit 1', async (t) => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
  const result = await start({ PORT: '0', HOST: '192.0.2.1' });
  oneFailureLine(t, result, /^start-up failed: address 192\.0\.2\.1 is not an address of this machine \(set HOST\)$/);
});

test('each start failure names the setting to change, and never a connection string', (t) => {
  const config = { port: 443, host: 'api.example.test', keysDir: '/etc/open-login/keys' };
  const listen = (code: string, syscall = 'listen') => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
  const cases: Array<[unknown, string]> = [
    [listen('EADDRINUSE'), 'port 443 on api.example.test is already in use (set PORT)'],
    [listen('EACCES'), 'port 443 on api.example.test needs privileges this process does not have (set PORT to 1024 or above)'],
    [listen('EADDRNOTAVAIL'), 'address api.example.test is not an address of this machine (set HOST)'],
    [listen('ENOTFOUND', 'getaddrinfo'), 'host name api.example.test cannot be resolved (set HOST)'],
    [listen('EINVAL'), 'cannot listen on port 443 on api.example.test (EINVAL) (check PORT and HOST)'],
    [new KeyFileError('/etc/open-login/keys/signing-keys.json: exactly one key must be current'), 'signing keys: /etc/open-login/keys/signing-keys.json: exactly one key must be current (check KEYS_DIR)'],
    [new StoreUnavailableError('MongoDB could not answer (connect)', { cause: new Error('mongodb://user:secret@db/x') }), 'MongoDB could not answer (connect) (check MONGODB_URI and that the database is up)'],
    [Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', syscall: 'open', path: '/etc/open-login/keys/signing-keys.json' }), 'cannot use /etc/open-login/keys/signing-keys.json (EACCES on open) (check KEYS_DIR, now /etc/open-login/keys)'],
  ];
  for (const [error, message] of cases) t.is(describeStartFailure(error, config), message);
});
