import test from 'ava';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRuntime } from '../../src/cli/commands.js';
import { loadConfig, type Config, type ConfigInput } from '../../src/config/index.js';
import { FixedClock } from '../../src/core/clock.js';
import type { Verdict } from '../../src/core/introspect.js';
import { hashClientSecret } from '../../src/clients/client-auth.js';
import { AppServices } from '../../src/app/services.js';
import { generateKeyRecord, KEY_FILE, KeyStore, readKeyFile } from '../../src/keys/keystore.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { captureLogs } from '../helpers/logs.js';

const START = new Date('2026-01-15T12:00:00.000Z');

interface Result {
  code: number;
  out: string;
  err: string;
  json: () => Record<string, unknown>;
}

async function setup(env: ConfigInput = {}, options: { logger?: Logger; readStdin?: () => Promise<string>; store?: Store } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-cli-'));
  const config: Config = loadConfig({ KEYS_DIR: join(dir, 'keys'), MONGODB_URI: 'mongodb://cli-test.invalid/x', ...env });
  const clock = new FixedClock(START);
  const store = options.store ?? new MemoryStore({ logger: silentLogger() });
  await store.init();
  const keys = await KeyStore.fromRecords([await generateKeyRecord(config.signingAlg, clock.now())], {
    legacyHs256Secret: null,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
    clock,
  });
  const state = { opened: 0, closed: 0 };
  const runtime: CliRuntime = {
    config,
    store,
    keys,
    clock,
    close: async () => {
      state.closed += 1;
    },
  };
  const run = async (...argv: string[]): Promise<Result> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      argv,
      { out: (line) => out.push(line), err: (line) => err.push(line) },
      {
        config,
        clock,
        logger: options.logger ?? silentLogger(),
        readStdin: options.readStdin,
        open: async () => {
          state.opened += 1;
          return runtime;
        },
      },
    );
    return { code, out: out.join('\n'), err: err.join('\n'), json: () => JSON.parse(out.join('\n')) as Record<string, unknown> };
  };
  const services = new AppServices({ config, store, keys, clock, logger: silentLogger() });
  const check = async (token: string): Promise<Verdict> => services.introspect(token, { siteIds: null });
  return { dir, config, clock, store, run, check, state };
}

/** A customer and a token for it, through the CLI. */
async function issued(ctx: Awaited<ReturnType<typeof setup>>, format: 'jwt' | 'opaque' = 'jwt', customer = 'cust-1') {
  t_ok((await ctx.run('customers', 'upsert', customer)).code);
  const r = await ctx.run('tokens', 'issue', '--customer', customer, '--format', format);
  t_ok(r.code, r.err);
  return r.json() as { auth_token: string; jti: string };
}

function t_ok(code: number, detail = ''): void {
  if (code !== 0) throw new Error(`command failed with ${code}: ${detail}`);
}

const singleLine = (s: string) => s.length > 0 && !s.includes('\n') && !/\n\s+at /.test(s);

test('clients create prints the secret once; clients list shows the client without secret or hash', async (t) => {
  const ctx = await setup();
  const created = await ctx.run('clients', 'create', '--name', 'Energy Intel');
  t.is(created.code, 0);
  const body = created.json();
  t.is(body.client_name, 'Energy Intel');
  t.is(body.token_endpoint_auth_method, 'client_secret_basic');
  t.is(body.reason_codes, true);
  t.is(body.site_ids, null);
  t.is(body.client_secret_expires_at, 0);
  t.regex(String(body.client_secret), /^[A-Za-z0-9_-]{43}$/);
  t.is(body.client_id_issued_at, START.getTime() / 1000);

  const listed = await ctx.run('clients', 'list');
  t.is(listed.code, 0);
  const clients = listed.json().clients as Record<string, unknown>[];
  t.is(clients.length, 1);
  t.is(clients[0]!.client_id, body.client_id);
  t.false('client_secret' in clients[0]!);
  t.false(listed.out.includes(String(body.client_secret)));
  t.false(listed.out.includes('secretHash'));
  t.false(listed.out.includes(hashClientSecret(String(body.client_secret))));
});

test('clients create stores a hash the printed secret verifies against, with the requested settings', async (t) => {
  const ctx = await setup();
  const r = await ctx.run('clients', 'create', '--name', 'Gateway', '--auth-method', 'client_secret_post', '--no-reason-codes', '--site', 'site-a', '--site', 'site-b');
  t.is(r.code, 0, r.err);
  const body = r.json();
  const stored = await ctx.store.clients.findById(String(body.client_id));
  t.truthy(stored);
  t.is(stored!.secretHash, hashClientSecret(String(body.client_secret)));
  t.not(stored!.secretHash, hashClientSecret('some other secret'));
  t.is(stored!.authMethod, 'client_secret_post');
  t.false(stored!.reasonCodes);
  t.deepEqual(stored!.siteIds, ['site-a', 'site-b']);
});

test('clients create rejects a missing name, an unknown auth method and a bad site with exit 2', async (t) => {
  const ctx = await setup();
  for (const argv of [
    ['clients', 'create'],
    ['clients', 'create', '--name', 'X', '--auth-method', 'private_key_jwt'],
    ['clients', 'create', '--name', 'X', '--site', 'bad/site'],
    ['clients', 'create', '--name', 'X', '--bogus'],
  ]) {
    const r = await ctx.run(...argv);
    t.is(r.code, 2, argv.join(' '));
    t.true(singleLine(r.err), r.err);
    t.is(r.out, '');
  }
  t.is((await ctx.store.clients.list()).length, 0);
});

test('customers upsert creates, updates only the given fields, and an empty value clears one', async (t) => {
  const ctx = await setup();
  const created = await ctx.run('customers', 'upsert', 'cust-1', '--username', 'ada.l', '--email', 'a@example.com', '--first-name', 'Ada', '--last-name', 'Lovelace');
  t.is(created.code, 0, created.err);
  t.deepEqual(created.json(), {
    id: 'cust-1',
    status: 'active',
    username: 'ada.l',
    email: 'a@example.com',
    first_name: 'Ada',
    last_name: 'Lovelace',
    updated_at: START.toISOString(),
  });
  ctx.clock.advance(60);
  const updated = await ctx.run('customers', 'upsert', 'cust-1', '--first-name', 'Augusta', '--email', '');
  t.is(updated.code, 0);
  const body = updated.json();
  t.is(body.username, 'ada.l');
  t.is((await ctx.run('customers', 'upsert', 'cust-1', '--username', '')).json().username, null);
  t.is(body.first_name, 'Augusta');
  t.is(body.last_name, 'Lovelace');
  t.is(body.email, null);
  t.is(body.updated_at, new Date(START.getTime() + 60_000).toISOString());
  const stored = await ctx.store.customers.findById('cust-1');
  t.is(stored!.firstName, 'Augusta');
  t.is(stored!.email, null);
});

test('clients create --customer-profile grants the profile permission; without it the client has none', async (t) => {
  const ctx = await setup();
  const granted = await ctx.run('clients', 'create', '--name', 'DOT', '--customer-profile');
  t.is(granted.code, 0, granted.err);
  t.is(granted.json().customer_profile, true);
  const plain = await ctx.run('clients', 'create', '--name', 'Gateway');
  t.false('customer_profile' in plain.json());
  t.is((await ctx.store.clients.findById(String(granted.json().client_id)))?.customerProfile, true);
  t.not((await ctx.store.clients.findById(String(plain.json().client_id)))?.customerProfile, true);
});

test('customers disable disables an existing customer and refuses an unknown one', async (t) => {
  const ctx = await setup();
  await ctx.run('customers', 'upsert', 'cust-1', '--email', 'a@example.com');
  const r = await ctx.run('customers', 'disable', 'cust-1');
  t.is(r.code, 0);
  t.is(r.json().status, 'disabled');
  t.is(r.json().email, 'a@example.com');
  t.is((await ctx.store.customers.findById('cust-1'))!.status, 'disabled');

  const unknown = await ctx.run('customers', 'disable', 'nobody');
  t.is(unknown.code, 1);
  t.regex(unknown.err, /no such customer/);
  t.is(await ctx.store.customers.findById('nobody'), null);
});

test('customers show prints a customer; unknown id exits 1, invalid id or status exits 2', async (t) => {
  const ctx = await setup();
  await ctx.run('customers', 'upsert', 'cust-1', '--status', 'disabled');
  const shown = await ctx.run('customers', 'show', 'cust-1');
  t.is(shown.code, 0);
  t.is(shown.json().status, 'disabled');

  t.is((await ctx.run('customers', 'show', 'missing')).code, 1);
  const badId = await ctx.run('customers', 'show', 'a b/c');
  t.is(badId.code, 2);
  t.true(singleLine(badId.err));
  t.regex(badId.err, /ID: must be 1-128 characters/);
  const badStatus = await ctx.run('customers', 'upsert', 'cust-2', '--status', 'banned');
  t.is(badStatus.code, 2);
  t.regex(badStatus.err, /--status: must be one of active, disabled/);
  t.is(await ctx.store.customers.findById('cust-2'), null);
  t.is((await ctx.run('customers', 'show')).code, 2);
});

test('tokens issue (jwt) prints the admin API shape and the token introspects as active', async (t) => {
  const ctx = await setup();
  await ctx.run('customers', 'upsert', 'cust-1');
  const r = await ctx.run('tokens', 'issue', '--customer', 'cust-1', '--expires-in', '600');
  t.is(r.code, 0, r.err);
  const body = r.json();
  t.deepEqual(Object.keys(body).sort(), ['auth_token', 'expires_at', 'expires_in', 'jti', 'token_type']);
  t.is(body.token_type, 'Bearer');
  t.is(body.expires_in, 600);
  t.is(body.expires_at, new Date(START.getTime() + 600_000).toISOString());
  t.is(String(body.auth_token).split('.').length, 3);

  const verdict = await ctx.check(String(body.auth_token));
  t.true(verdict.active);
  if (verdict.active) {
    t.is(verdict.token.format, 'jwt');
    t.is(verdict.token.sub, 'cust-1');
    t.is(verdict.token.jti, String(body.jti));
    t.is(verdict.token.clientId, ctx.config.defaultTokenClientId);
    t.is(verdict.token.exp, START.getTime() / 1000 + 600);
  }
});

test('tokens issue (opaque) with site and client id introspects as active with them', async (t) => {
  const ctx = await setup();
  await ctx.run('customers', 'upsert', 'cust-1');
  const r = await ctx.run('tokens', 'issue', '--customer', 'cust-1', '--format', 'opaque', '--site', 'energy-intel', '--client-id', 'login-web');
  t.is(r.code, 0, r.err);
  const body = r.json();
  t.regex(String(body.auth_token), /^olt_/);
  t.is(body.expires_in, ctx.config.defaultTokenTtlSeconds);
  const verdict = await ctx.check(String(body.auth_token));
  t.true(verdict.active);
  if (verdict.active) {
    t.is(verdict.token.format, 'opaque');
    t.is(verdict.token.siteId, 'energy-intel');
    t.is(verdict.token.clientId, 'login-web');
    t.is(verdict.grant.id, String(body.jti));
  }
});

test('tokens issue --audience (repeatable) sets the aud; a bad one exits 2 in plain words; else the site\'s SITE_AUDIENCES entry', async (t) => {
  const ctx = await setup({ SITE_AUDIENCES: '{"energy-intel": "https://api.energy-intel.example/"}' });
  await ctx.run('customers', 'upsert', 'cust-1');
  const two = await ctx.run('tokens', 'issue', '--customer', 'cust-1', '--audience', 'https://a.example/', '--audience', 'urn:example:b');
  t.is(two.code, 0, two.err);
  const verdict = await ctx.check(String(two.json().auth_token));
  t.true(verdict.active && JSON.stringify(verdict.token.aud) === '["https://a.example/","urn:example:b"]');
  const bySite = await ctx.run('tokens', 'issue', '--customer', 'cust-1', '--site', 'energy-intel');
  const site = await ctx.check(String(bySite.json().auth_token));
  t.true(site.active && site.token.aud === 'https://api.energy-intel.example/');
  for (const bad of [['not a uri'], ['https://a.example/#f'], ['https://a.example/', 'https://a.example/']]) {
    const r = await ctx.run('tokens', 'issue', '--customer', 'cust-1', ...bad.flatMap((a) => ['--audience', a]));
    t.is(r.code, 2, bad.join(' '));
    t.regex(r.err, /^error: --audience: (item 1 )?must /);
    t.false(r.err.includes(bad[0]!), 'the value is not repeated');
    t.true(singleLine(r.err));
  }
});

test('tokens issue refuses an unknown or disabled customer with exit 2 and issues nothing', async (t) => {
  const ctx = await setup();
  const unknown = await ctx.run('tokens', 'issue', '--customer', 'ghost');
  t.is(unknown.code, 2);
  t.regex(unknown.err, /no such customer/);
  t.is(unknown.out, '');

  await ctx.run('customers', 'upsert', 'cust-1', '--status', 'disabled');
  const disabled = await ctx.run('tokens', 'issue', '--customer', 'cust-1');
  t.is(disabled.code, 2);
  t.regex(disabled.err, /disabled/);
  t.true(singleLine(disabled.err));
  t.is(await ctx.store.grants.revokeByCustomer('cust-1', START), 0, 'no grant was written');
});

test('tokens issue validates --expires-in, --format and --customer before opening the store', async (t) => {
  const ctx = await setup({ MAX_TOKEN_TTL_SECONDS: 3600 });
  const cases: [string[], RegExp][] = [
    [['--customer', 'cust-1', '--expires-in', '3601'], /at most 3600/],
    [['--customer', 'cust-1', '--expires-in', 'soon'], /positive whole number/],
    [['--customer', 'cust-1', '--expires-in', '0'], /positive whole number/],
    [['--customer', 'cust-1', '--expires-in', '1.5'], /positive whole number/],
    [['--customer', 'cust-1', '--format', 'saml'], /--format: must be one of jwt, opaque/],
    [[], /--customer is required/],
  ];
  for (const [args, message] of cases) {
    const r = await ctx.run('tokens', 'issue', ...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.err, message);
    t.true(singleLine(r.err));
  }
  t.is(ctx.state.opened, 0);
});

test('tokens revoke --jti revokes once: introspection then says revoked', async (t) => {
  const ctx = await setup();
  const { auth_token, jti } = await issued(ctx);
  const r = await ctx.run('tokens', 'revoke', `--jti=${jti}`);
  t.is(r.code, 0);
  t.deepEqual(r.json(), { revoked: 1 });
  const verdict = await ctx.check(auth_token);
  t.false(verdict.active);
  t.is((verdict as { reason: string }).reason, 'revoked');
  t.deepEqual((await ctx.run('tokens', 'revoke', `--jti=${jti}`)).json(), { revoked: 0 });
  t.deepEqual((await ctx.run('tokens', 'revoke', '--jti', 'unknown-jti')).json(), { revoked: 0 });
  // Generated ids are base64url and may start with "-": the = form takes them.
  t.deepEqual((await ctx.run('tokens', 'revoke', '--jti=-leading-dash')).json(), { revoked: 0 });
});

test('tokens revoke --token-file reads the token from a file (trailing newline ignored)', async (t) => {
  const ctx = await setup();
  for (const format of ['jwt', 'opaque'] as const) {
    const { auth_token } = await issued(ctx, format);
    const file = join(ctx.dir, `token-${format}`);
    writeFileSync(file, `${auth_token}\n`, { mode: 0o600 });
    const r = await ctx.run('tokens', 'revoke', '--token-file', file);
    t.is(r.code, 0, r.err);
    t.deepEqual(r.json(), { revoked: 1 });
    t.is((await ctx.check(auth_token) as { reason?: string }).reason, 'revoked');
  }
  const missing = await ctx.run('tokens', 'revoke', '--token-file', join(ctx.dir, 'nope'));
  t.is(missing.code, 2);
  t.regex(missing.err, /ENOENT/);
  writeFileSync(join(ctx.dir, 'garbage'), 'not a token');
  t.deepEqual((await ctx.run('tokens', 'revoke', '--token-file', join(ctx.dir, 'garbage'))).json(), { revoked: 0 });
});

test('tokens revoke --token-file - reads stdin; the token never reaches output or error text', async (t) => {
  let input = '';
  const ctx = await setup({}, { readStdin: async () => input });
  const { auth_token } = await issued(ctx, 'opaque');
  input = `  ${auth_token}\r\n`;
  const r = await ctx.run('tokens', 'revoke', '--token-file', '-');
  t.deepEqual(r.json(), { revoked: 1 });
  t.false(r.out.includes(auth_token));
  t.false(r.err.includes(auth_token));
  input = '\n';
  const empty = await ctx.run('tokens', 'revoke', '--token-file', '-');
  t.is(empty.code, 2);
  t.regex(empty.err, /no token/);
});

test('tokens revoke needs exactly one of --jti and --token-file', async (t) => {
  const ctx = await setup();
  t.is((await ctx.run('tokens', 'revoke')).code, 2);
  const both = await ctx.run('tokens', 'revoke', '--jti', 'a', '--token-file', '-');
  t.is(both.code, 2);
  t.regex(both.err, /exactly one of --jti or --token-file/);
  t.is(ctx.state.opened, 0);
});

test('tokens revoke-customer revokes every live token of that customer only', async (t) => {
  const ctx = await setup();
  const a1 = await issued(ctx, 'jwt', 'cust-a');
  const a2 = await issued(ctx, 'opaque', 'cust-a');
  const b1 = await issued(ctx, 'jwt', 'cust-b');
  await ctx.run('tokens', 'revoke', `--jti=${a1.jti}`);
  const r = await ctx.run('tokens', 'revoke-customer', 'cust-a');
  t.is(r.code, 0);
  t.deepEqual(r.json(), { revoked: 1 }, 'the already revoked token is not counted again');
  t.is((await ctx.check(a2.auth_token) as { reason?: string }).reason, 'revoked');
  t.true((await ctx.check(b1.auth_token)).active);
  t.deepEqual((await ctx.run('tokens', 'revoke-customer', 'cust-a')).json(), { revoked: 0 });
  t.is((await ctx.run('tokens', 'revoke-customer', 'bad id')).code, 2);
});

test('every change writes an audit line, and no audit line carries a secret or token', async (t) => {
  const { logger, raw: lines } = captureLogs();
  const ctx = await setup({}, { logger });
  const client = (await ctx.run('clients', 'create', '--name', 'Audited')).json();
  const { auth_token, jti } = await issued(ctx, 'opaque');
  await ctx.run('tokens', 'revoke', `--jti=${jti}`);
  await ctx.run('tokens', 'revoke-customer', 'cust-1');
  await ctx.run('clients', 'list');
  const events = lines.map((l) => JSON.parse(l) as { event: string; via: string; msg: string });
  t.deepEqual(
    events.map((e) => e.event),
    ['client.created', 'customer.upserted', 'token.issued', 'token.revoked', 'customer.tokens_revoked'],
  );
  t.true(events.every((e) => e.msg === 'audit' && e.via === 'cli'));
  const all = lines.join('');
  t.false(all.includes(String(client.client_secret)));
  t.false(all.includes(auth_token));
});

test('data commands without MONGODB_URI exit 2 with one explanatory line and never open the store', async (t) => {
  const ctx = await setup();
  const config = { ...ctx.config, mongodbUri: null };
  const err: string[] = [];
  let opened = 0;
  const code = await runCli(['clients', 'list'], { out: () => t.fail('nothing on stdout'), err: (l) => err.push(l) }, {
    config,
    logger: silentLogger(),
    open: async () => {
      opened += 1;
      throw new Error('must not be called');
    },
  });
  t.is(code, 2);
  t.is(opened, 0);
  t.is(err.length, 1);
  t.regex(err[0]!, /MONGODB_URI is not set/);
  t.regex(err[0]!, /in-memory store lives inside the server process/);
  t.regex(err[0]!, /give --url URL \(or OPEN_LOGIN_URL\) and ADMIN_TOKEN to work through its admin API/);
});

test('a store that cannot answer gives exit 1 and one line, and the runtime is closed', async (t) => {
  const broken = new MemoryStore({ logger: silentLogger() });
  broken.clients.list = async () => {
    throw new StoreUnavailableError('MongoDB could not answer (clients.list)');
  };
  const ctx = await setup({}, { store: broken });
  const r = await ctx.run('clients', 'list');
  t.is(r.code, 1);
  t.is(r.err, 'error: store unavailable: MongoDB could not answer (clients.list)');
  t.is(ctx.state.opened, 1);
  t.is(ctx.state.closed, 1);
});

test('unknown commands and options exit 2 with the usage on stderr; help exits 0 with it on stdout', async (t) => {
  const ctx = await setup();
  for (const argv of [['frobnicate'], ['clients'], ['clients', 'delete'], ['constructor', 'name'], []]) {
    const r = await ctx.run(...argv);
    t.is(r.code, 2, argv.join(' '));
    t.is(r.out, '');
    t.regex(r.err, /Usage: open-login \[--url URL\] <command>/);
  }
  const option = await ctx.run('clients', 'list', '--all');
  t.is(option.code, 2);
  t.true(singleLine(option.err));
  t.regex(option.err, /Unknown option '--all'/);

  for (const argv of [['help'], ['--help'], ['tokens', 'issue', '--help']]) {
    const r = await ctx.run(...argv);
    t.is(r.code, 0);
    t.regex(r.out, /Usage: open-login \[--url URL\] <command>/);
    t.regex(r.out, /tokens revoke --token-file PATH/);
    t.is(r.err, '');
  }
  t.is(ctx.state.opened, 0);
});

test('keys generate creates an owner-only key file and refuses a second time; no store is opened', async (t) => {
  const ctx = await setup();
  const path = join(ctx.config.keysDir, KEY_FILE);
  t.false(existsSync(path));
  const r = await ctx.run('keys', 'generate');
  t.is(r.code, 0, r.err);
  t.true(existsSync(path));
  t.is(statSync(path).mode & 0o777, 0o600);
  const records = readKeyFile(ctx.config.keysDir)!;
  t.is(records.length, 1);
  t.is(records[0]!.status, 'current');
  t.is(records[0]!.alg, 'ES256');
  const keys = r.json().keys as Record<string, unknown>[];
  t.is(keys[0]!.kid, records[0]!.kid);
  t.regex(r.err, /SIGHUP/);

  const before = readFileSync(path, 'utf8');
  const again = await ctx.run('keys', 'generate');
  t.is(again.code, 1);
  t.regex(again.err, /already exists/);
  t.is(readFileSync(path, 'utf8'), before);
  t.is(ctx.state.opened, 0);
});

test('keys rotate --now leaves one current and one retired key, and later prunes keys past the max token lifetime', async (t) => {
  const ctx = await setup({ MAX_TOKEN_TTL_SECONDS: 3600, DEFAULT_TOKEN_TTL_SECONDS: 600 });
  t.is((await ctx.run('keys', 'rotate', '--now')).code, 1, 'nothing to rotate yet');
  await ctx.run('keys', 'generate');
  const first = readKeyFile(ctx.config.keysDir)![0]!.kid;

  ctx.clock.advance(60);
  const r = await ctx.run('keys', 'rotate', '--now');
  t.is(r.code, 0, r.err);
  const records = readKeyFile(ctx.config.keysDir)!;
  t.is(records.length, 2);
  t.is(records.filter((k) => k.status === 'current').length, 1);
  const old = records.find((k) => k.kid === first)!;
  t.is(old.status, 'retired');
  t.is(old.retired_at, new Date(START.getTime() + 60_000).toISOString());
  t.is(r.json().retired, first);
  t.not(r.json().current, first);
  t.deepEqual(r.json().pruned, []);

  ctx.clock.advance(3601);
  const later = await ctx.run('keys', 'rotate', '--now');
  t.deepEqual(later.json().pruned, [first]);
  const after = readKeyFile(ctx.config.keysDir)!;
  t.is(after.length, 2);
  t.false(after.some((k) => k.kid === first));
  t.is(ctx.state.opened, 0);
});

test('keys list shows public facts only and whether each key still verifies; keys prune drops expired ones', async (t) => {
  const ctx = await setup({ MAX_TOKEN_TTL_SECONDS: 3600, DEFAULT_TOKEN_TTL_SECONDS: 600 });
  t.is((await ctx.run('keys', 'list')).code, 1, 'no key file yet');
  await ctx.run('keys', 'generate');
  await ctx.run('keys', 'rotate', '--now');
  const r = await ctx.run('keys', 'list');
  t.is(r.code, 0);
  const keys = r.json().keys as Record<string, unknown>[];
  t.is(keys.length, 2);
  for (const key of keys) {
    t.deepEqual(Object.keys(key).sort(), ['activates_at', 'alg', 'created_at', 'kid', 'retired_at', 'status', 'verifies', 'verifies_until']);
    t.true(key.verifies);
  }
  t.false(/"(d|p|q|dp|dq|qi|jwk)"\s*:/.test(r.out));
  const privateD = readKeyFile(ctx.config.keysDir)![0]!.jwk.d!;
  t.false(r.out.includes(privateD));
  const retired = keys.find((k) => k.status === 'retired')!;
  t.is(retired.verifies_until, new Date(START.getTime() + 3600_000).toISOString());

  t.deepEqual((await ctx.run('keys', 'prune')).json().pruned, []);
  ctx.clock.advance(3600);
  const listed = (await ctx.run('keys', 'list')).json().keys as Record<string, unknown>[];
  t.false(listed.find((k) => k.status === 'retired')!.verifies);
  const pruned = await ctx.run('keys', 'prune');
  t.is((pruned.json().pruned as string[]).length, 1);
  t.is(readKeyFile(ctx.config.keysDir)!.length, 1);
  t.is(ctx.state.opened, 0);
});

test('clients create --auth-method private_key_jwt registers public keys (file or https URL) and prints no secret', async (t) => {
  const ctx = await setup();
  const { generateKeyPair, exportJWK } = await import('jose');
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwksPath = join(ctx.dir, 'client-jwks.json');
  writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
  const r = await ctx.run('clients', 'create', '--name', 'Gateway', '--auth-method', 'private_key_jwt', '--jwks-file', jwksPath, '--introspection-signed-response-alg', 'ES256');
  t.is(r.code, 0, r.err);
  const body = r.json();
  t.is(body.token_endpoint_auth_method, 'private_key_jwt');
  t.false('client_secret' in body);
  t.is(body.introspection_signed_response_alg, 'ES256');
  t.is(((body.jwks as { keys: { kid: string }[] }).keys[0]!).kid, 'k1');
  const stored = await ctx.store.clients.findById(String(body.client_id));
  t.is(stored?.secretHash, null);

  const byUri = await ctx.run('clients', 'create', '--name', 'Gateway 2', '--auth-method', 'private_key_jwt', '--jwks-uri', 'https://rp.example/jwks.json');
  t.is(byUri.code, 0, byUri.err);
  t.is(byUri.json().jwks_uri, 'https://rp.example/jwks.json');
});

test('clients create refuses bad assertion metadata with exit 2 and the option named', async (t) => {
  const ctx = await setup();
  const cases: [string[], RegExp][] = [
    [['--auth-method', 'private_key_jwt'], /^error: --jwks-file: private_key_jwt needs exactly one of jwks or jwks_uri/],
    [['--auth-method', 'private_key_jwt', '--jwks-uri', 'http://rp.example/jwks'], /^error: --jwks-uri: must be an https URL/],
    [['--auth-method', 'private_key_jwt', '--jwks-file', join(ctx.dir, 'missing.json')], /^error: --jwks-file: cannot read/],
    [['--auth-method', 'client_secret_jwt'], /^error: --auth-method: client_secret_jwt is not available: the server has no CLIENT_SECRET_KEY/],
    [['--introspection-signed-response-alg', 'HS256'], /^error: --introspection-signed-response-alg: must be ES256/],
  ];
  for (const [args, message] of cases) {
    const r = await ctx.run('clients', 'create', '--name', 'x', ...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.err, message);
  }
  t.deepEqual(await ctx.store.clients.list(), []);
});

test('clients create --auth-method client_secret_jwt with CLIENT_SECRET_KEY prints the secret once and stores it sealed', async (t) => {
  const ctx = await setup({ CLIENT_SECRET_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=' });
  const r = await ctx.run('clients', 'create', '--name', 'Energy Intel', '--auth-method', 'client_secret_jwt');
  t.is(r.code, 0, r.err);
  const body = r.json();
  const stored = await ctx.store.clients.findById(String(body.client_id));
  t.is(stored?.authMethod, 'client_secret_jwt');
  t.is(stored?.secretHash, null);
  t.truthy(stored?.secretEncrypted);
  t.false(stored!.secretEncrypted!.includes(String(body.client_secret)));
});

test('keys rotate stages a next key: listed at once, current from its activation time, with no change to the file', async (t) => {
  const ctx = await setup({ MAX_TOKEN_TTL_SECONDS: 3600, DEFAULT_TOKEN_TTL_SECONDS: 600, KEYS_RELOAD_INTERVAL_SECONDS: 10 });
  await ctx.run('keys', 'generate');
  const first = readKeyFile(ctx.config.keysDir)![0]!.kid;
  const path = join(ctx.config.keysDir, KEY_FILE);

  const r = await ctx.run('keys', 'rotate');
  t.is(r.code, 0, r.err);
  // The key-set max-age (60 s) + the reload interval (10 s) + the margin (30 s).
  const activatesAt = new Date(START.getTime() + 100_000).toISOString();
  const records = readKeyFile(ctx.config.keysDir)!;
  t.deepEqual(records.map((k) => [k.status, k.activates_at ?? null, k.retired_at ?? null]), [['next', activatesAt, null], ['current', null, null]]);
  t.is(records[1]!.kid, first);
  const next = records[0]!.kid;
  t.like(r.json(), { current: first, next, activates_at: activatesAt, pruned: [] });
  t.regex(r.err, new RegExp(`signs from ${activatesAt.replace(/\./g, '\\.')}`));
  t.regex(r.err, /--now/);

  const written = readFileSync(path, 'utf8');
  const again = await ctx.run('keys', 'rotate');
  t.is(again.code, 1, 'a second rotation waits for the next key to sign');
  t.regex(again.err, new RegExp(`${next} is already next`));
  t.is(readFileSync(path, 'utf8'), written);

  const listed = (await ctx.run('keys', 'list')).json().keys as Record<string, unknown>[];
  t.deepEqual(listed.map((k) => [k.kid, k.status, k.verifies, k.activates_at]), [[next, 'next', true, activatesAt], [first, 'current', true, null]]);

  ctx.clock.advance(99);
  t.is(((await ctx.run('keys', 'list')).json().keys as Record<string, unknown>[])[0]!.status, 'next', 'not before its time');
  ctx.clock.advance(1);
  const after = (await ctx.run('keys', 'list')).json().keys as Record<string, unknown>[];
  t.deepEqual(after.map((k) => [k.kid, k.status, k.retired_at, k.verifies_until]), [
    [next, 'current', null, null],
    [first, 'retired', activatesAt, new Date(Date.parse(activatesAt) + 3600_000).toISOString()],
  ]);
  t.is(readFileSync(path, 'utf8'), written, 'listing does not write');

  // The next rotation writes the file as it stands: the activated key current, the old one retired at its activation.
  const third = await ctx.run('keys', 'rotate');
  t.is(third.code, 0, third.err);
  t.deepEqual(readKeyFile(ctx.config.keysDir)!.map((k) => [k.status, k.retired_at ?? null]), [['next', null], ['current', null], ['retired', activatesAt]]);
  t.is(ctx.state.opened, 0);
});

test('keys rotate with KEYS_RELOAD_INTERVAL_SECONDS=0 waits max-age plus margin and asks for SIGHUP', async (t) => {
  const ctx = await setup({ KEYS_RELOAD_INTERVAL_SECONDS: 0 });
  await ctx.run('keys', 'generate');
  const r = await ctx.run('keys', 'rotate');
  t.is(r.code, 0, r.err);
  t.is(r.json().activates_at, new Date(START.getTime() + 90_000).toISOString());
  t.regex(r.err, /SIGHUP/);
});

test('keys rotate --now while a key is next: a fresh key is current at once, the current and the next key are retired', async (t) => {
  const ctx = await setup({ MAX_TOKEN_TTL_SECONDS: 3600, DEFAULT_TOKEN_TTL_SECONDS: 600 });
  await ctx.run('keys', 'generate');
  await ctx.run('keys', 'rotate');
  const [staged, first] = readKeyFile(ctx.config.keysDir)!.map((k) => k.kid);
  ctx.clock.advance(5);
  const r = await ctx.run('keys', 'rotate', '--now');
  t.is(r.code, 0, r.err);
  const records = readKeyFile(ctx.config.keysDir)!;
  const now = new Date(START.getTime() + 5000).toISOString();
  t.deepEqual(records.slice(1).map((k) => [k.kid, k.status, k.retired_at, k.activates_at]), [
    [staged, 'retired', now, undefined],
    [first, 'retired', now, undefined],
  ]);
  t.is(records[0]!.status, 'current');
  t.false([staged, first].includes(records[0]!.kid), 'a key that may have leaked with the file does not sign');
  t.like(r.json(), { current: records[0]!.kid, retired: first });
});
