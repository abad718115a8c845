import { decodeJwt } from 'jose';
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRuntime } from '../../src/cli/commands.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { systemClock } from '../../src/core/clock.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { readLogLines } from '../helpers/logs.js';
import { freePort } from '../helpers/ports.js';

/**
 * The CLI through a running server's admin API (`--url`): a real server
 * process with the embedded store, which no other process can reach. Every
 * command that has an admin API equivalent must print the same JSON and
 * the same error line, with the same exit status, as the same command run on
 * a store directly.
 */

const ADMIN_TOKEN = 'cli-url-test-admin-token-0123456789abcdef';

interface Result {
  code: number;
  out: string;
  err: string;
}

interface Server {
  base: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

async function startServer(): Promise<Server> {
  const keysDir = mkdtempSync(join(tmpdir(), 'cli-url-keys-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', KEYS_DIR: keysDir, ADMIN_TOKEN, LOG_LEVEL: 'info', MONGODB_URI: '', CONFIG_FILE: '', WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = readLogLines(child.stdout!);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(keysDir, { recursive: true, force: true });
  };
  if (!(await log.waitUntil(() => log.lines.some((l) => l.msg === 'listening'), 40_000))) {
    await stop();
    throw new Error(`server did not start: ${JSON.stringify(log.lines.slice(-5))}`);
  }
  const port = log.lines.find((l) => l.msg === 'listening')!.port as number;
  return { base: `http://127.0.0.1:${port}`, child, stop };
}

/** The same commands on a store of this process's own (the direct way, as with MONGODB_URI). */
async function directCli(keysDir: string) {
  const config: Config = loadConfig({ KEYS_DIR: keysDir, MONGODB_URI: 'mongodb://direct.invalid/x', ADMIN_TOKEN });
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const keys = await KeyStore.fromRecords([await generateKeyRecord(config.signingAlg, new Date())], {
    legacyHs256Secret: null,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
    clock: systemClock,
  });
  const runtime: CliRuntime = { config, store, keys, clock: systemClock, close: async () => {} };
  return { config, run: (argv: string[], url?: string, stdin = '') => run(argv, config, async () => runtime, url, stdin) };
}

async function run(argv: string[], config: Config, open: () => Promise<CliRuntime>, url: string | undefined, stdin: string): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, {
    config,
    open,
    logger: silentLogger(),
    readStdin: async () => stdin,
    ...(url !== undefined ? { url } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What differs between any two runs (ids, secrets, tokens, times) replaced by its kind, for comparing shapes and the rest exactly. */
function stable(text: string): unknown {
  if (text === '') return '';
  const volatile = new Set(['client_id', 'client_secret', 'client_id_issued_at', 'updated_at', 'auth_token', 'jti', 'expires_at']);
  return JSON.parse(text, (key, value: unknown) => (volatile.has(key) ? `<${typeof value}>` : value));
}

test('every data command gives the same output and exit status through --url (embedded store in a server process) as on a store directly', async (t) => {
  const server = await startServer();
  t.teardown(server.stop);
  const keysDir = mkdtempSync(join(tmpdir(), 'cli-url-direct-'));
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }));
  const direct = await directCli(keysDir);
  const jwksFile = join(keysDir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'gw-1', alg: 'ES256' }] }));

  // Each step: argv, then what stdin holds. The same sequence on each side, from an empty store.
  const steps: string[][] = [
    ['clients', 'create', '--name', 'Energy Intel', '--site', 'energy-intel'],
    ['clients', 'create', '--name', 'Gateway', '--auth-method', 'private_key_jwt', '--jwks-file', jwksFile, '--no-reason-codes'],
    ['clients', 'create', '--name', 'No keys', '--auth-method', 'private_key_jwt'],
    ['clients', 'create', '--name', 'Sealed', '--auth-method', 'client_secret_jwt'],
    ['clients', 'create', '--name', 'Profile reader', '--customer-profile'],
    ['clients', 'list'],
    ['customers', 'show', 'c42'],
    ['customers', 'disable', 'c42'],
    ['customers', 'upsert', 'c42', '--email', 'ada@example.com', '--first-name', 'Ada'],
    ['customers', 'upsert', 'c42', '--first-name', ''],
    ['customers', 'upsert', 'c42', '--username', 'ada.lovelace'],
    ['customers', 'show', 'c42'],
    ['tokens', 'issue', '--customer', 'c42', '--site', 'energy-intel'],
    ['tokens', 'issue', '--customer', 'c42', '--format', 'opaque', '--expires-in', '600', '--client-id', 'portal'],
    ['tokens', 'issue', '--customer', 'ghost'],
    ['tokens', 'revoke', '--jti=no-such-grant'],
    ['tokens', 'revoke-customer', 'c42'],
    ['customers', 'disable', 'c42'],
    ['tokens', 'issue', '--customer', 'c42'],
    ['customers', 'disable', 'ghost'],
    ['tokens', 'revoke-customer', 'ghost'],
  ];
  for (const argv of steps) {
    const viaUrl = await run(['--url', server.base, ...argv], direct.config, async () => t.fail('--url must not open a store') as never, undefined, '');
    const onStore = await direct.run(argv);
    const label = argv.join(' ');
    t.is(viaUrl.code, onStore.code, `${label}: ${viaUrl.err} / ${onStore.err}`);
    t.is(viaUrl.err, onStore.err, label);
    t.deepEqual(stable(viaUrl.out), stable(onStore.out), label);
  }
  const refused = await run(['--url', server.base, 'tokens', 'issue', '--customer', 'ghost'], direct.config, async () => t.fail() as never, undefined, '');
  t.deepEqual(refused, { code: 2, out: '', err: 'error: --customer: no such customer' });
  const unknown = await run(['customers', 'show', 'nobody'], direct.config, async () => t.fail() as never, server.base, '');
  t.deepEqual(unknown, { code: 1, out: '', err: 'error: no such customer' }, 'OPEN_LOGIN_URL (the url option) works as --url');
});

test('a token issued through --url is the server\'s: it introspects active there, and revoking it by file through --url ends it', async (t) => {
  const server = await startServer();
  t.teardown(server.stop);
  const keysDir = mkdtempSync(join(tmpdir(), 'cli-url-direct-'));
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }));
  const { config } = await directCli(keysDir);
  const cli = (argv: string[], stdin = '') => run(['--url', server.base, ...argv], config, async () => t.fail() as never, undefined, stdin);
  const client = JSON.parse((await cli(['clients', 'create', '--name', 'Checker'])).out) as { client_id: string; client_secret: string };
  t.is((await cli(['customers', 'upsert', 'c1'])).code, 0);
  const issued = JSON.parse((await cli(['tokens', 'issue', '--customer', 'c1'])).out) as { auth_token: string; expires_in: number };
  t.is(issued.expires_in, 3600, 'the server\'s DEFAULT_TOKEN_TTL_SECONDS');
  // The audience reaches the server (the issued view does not show it; the token's claims do).
  const audienced = JSON.parse((await cli(['tokens', 'issue', '--customer', 'c1', '--audience', 'https://api.example.com/', '--audience', 'https://b.example.com/'])).out) as { auth_token: string };
  t.deepEqual(decodeJwt(audienced.auth_token).aud, ['https://api.example.com/', 'https://b.example.com/'], '--audience through --url');
  const introspect = async () => {
    const res = await fetch(`${server.base}/introspect`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued.auth_token }),
    });
    return (await res.json()) as { active: boolean; sub?: string };
  };
  t.like(await introspect(), { active: true, sub: 'c1' });
  t.deepEqual(await cli(['tokens', 'revoke', '--token-file', '-'], issued.auth_token), { code: 0, out: JSON.stringify({ revoked: 1 }, null, 2), err: '' });
  t.is((await introspect()).active, false);
});

test('--url refusals are one line with the right exit status, never showing ADMIN_TOKEN', async (t) => {
  const server = await startServer();
  t.teardown(server.stop);
  const keysDir = mkdtempSync(join(tmpdir(), 'cli-url-direct-'));
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }));
  const { config } = await directCli(keysDir);
  const noStore = async () => t.fail('must not open a store') as never;
  const wrongToken = 'a-wrong-admin-token-0123456789abcdef0123';
  const closedPort = await freePort();
  const cases: Array<[string[], Config, number, RegExp]> = [
    [['--url', server.base, 'clients', 'list'], { ...config, adminToken: wrongToken }, 1, /^error: the admin API at http:\/\/127\.0\.0\.1:\d+ refused ADMIN_TOKEN \(401 invalid_token\): set it to the server's$/],
    [['--url', server.base, 'clients', 'list'], { ...config, adminToken: null }, 2, /^error: --url needs ADMIN_TOKEN/],
    [['--url', `http://127.0.0.1:${closedPort}`, 'clients', 'list'], config, 1, /^error: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/],
    [['--url', `${server.base}/docs`, 'clients', 'list'], config, 1, /^error: http:\/\/127\.0\.0\.1:\d+ (serves no admin API|did not answer as the admin API)/],
    [['--url', 'ftp://example.test', 'clients', 'list'], config, 2, /^error: --url: must be an http\(s\) URL/],
    [[`--url=http://admin:${ADMIN_TOKEN}@127.0.0.1:1`, 'clients', 'list'], config, 2, /^error: --url: must not hold a user name or password/],
    [['clients', 'list', '--url'], config, 2, /^error: --url needs a value/],
    [['--url', server.base, 'keys', 'list'], config, 2, /^error: keys list has no admin API: key commands work on the key file in KEYS_DIR; run them on the server's host without --url$/],
    [['--url', server.base, 'keys', 'rotate'], config, 2, /^error: keys rotate has no admin API/],
  ];
  for (const [argv, cfg, code, pattern] of cases) {
    const r = await run(argv, cfg, noStore, undefined, '');
    const label = argv.join(' ');
    t.is(r.code, code, `${label}: ${r.err}`);
    t.is(r.out, '', label);
    t.false(r.err.includes('\n'), label);
    t.regex(r.err, pattern, label);
    t.false(r.err.includes(ADMIN_TOKEN) || r.err.includes(wrongToken), label);
  }
});

test('npx open-login: the package bin runs from the source tree, and OPEN_LOGIN_URL with ADMIN_TOKEN reaches a running server', async (t) => {
  const server = await startServer();
  t.teardown(server.stop);
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<Result>((resolve) => {
      const child = spawn(process.execPath, ['bin/open-login.js', ...args], { env: { ...process.env, MONGODB_URI: '', CONFIG_FILE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += String(c)));
      child.stderr.on('data', (c) => (err += String(c)));
      child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    });
  const upsert = await cli(['customers', 'upsert', 'c7', '--email', 'c7@example.test'], { OPEN_LOGIN_URL: server.base, ADMIN_TOKEN });
  t.is(upsert.code, 0, upsert.err);
  t.like(JSON.parse(upsert.out), { id: 'c7', status: 'active', email: 'c7@example.test' });
  const missing = await cli(['customers', 'show', 'nobody'], { OPEN_LOGIN_URL: server.base, ADMIN_TOKEN });
  t.deepEqual(missing, { code: 1, out: '', err: 'error: no such customer\n' });
  // Without --url or MONGODB_URI, the one line says how to reach the embedded store.
  const nowhere = await cli(['clients', 'list'], {});
  t.is(nowhere.code, 2);
  t.regex(nowhere.err, /^error: MONGODB_URI is not set: .*give --url URL \(or OPEN_LOGIN_URL\) and ADMIN_TOKEN/);
});
