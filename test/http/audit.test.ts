/**
 * The audit trail: every admin change, every revocation path (admin API,
 * RFC 7009 endpoint, CLI), failed admin authentication and rate limiting
 * write one structured `audit` line with an `event` and the ids involved,
 * and never a secret or token.
 */
import test from 'ava';
import { runCli, type CliRuntime } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config/index.js';
import { FixedClock } from '../../src/core/clock.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, apiTest, basic } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

type Line = Record<string, unknown>;

function capture() {
  const captured = captureLogs();
  return { ...captured, audit: () => captured.lines.filter((l) => l.msg === 'audit') };
}

const logs = capture();

apiTest(
  'every admin change, revocation, failed admin authentication and rate limit writes an audit event with ids and no secret',
  async (t, s) => {
    const A = `Bearer ${ADMIN_TOKEN}`;
    // Both stores' runs share the log sink: ids of their own keep them apart.
    const cid = `aud-${s.store.kind}`;
    const client = await s.admin.createClient({ name: 'Audited' });
    await s.admin.upsertCustomer(cid, { email: 'a@example.test' });
    await s.admin.upsertCustomer(cid, { status: 'active' });
    // RFC 7009 §2.1: the token revoked through /revoke is issued to the revoking client.
    const t1 = await s.admin.issueToken({ customer_id: cid, site_id: 'site-a', client_id: client.client_id });
    const t2 = await s.admin.issueToken({ customer_id: cid, format: 'opaque' });
    const t3 = await s.admin.issueToken({ customer_id: cid });
    const t4 = await s.admin.issueToken({ customer_id: cid });
    const auth = basic(client.client_id, client.client_secret);

    t.is((await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token: t1.auth_token })).status, 200);
    t.is((await s.request.post('/admin/tokens/revoke').set('Authorization', A).send({ auth_token: t2.auth_token })).body.revoked, 1);
    t.is((await s.request.post('/admin/tokens/revoke').set('Authorization', A).send({ jti: t3.jti })).body.revoked, 1);
    t.is((await s.request.post(`/admin/customers/${cid}/revoke-tokens`).set('Authorization', A)).body.revoked, 1);
    const wrongAdmin = 'Bearer wrong-admin-token-that-must-not-be-logged-0000';
    t.is((await s.request.get('/admin/clients').set('Authorization', wrongAdmin)).status, 401);
    // RATE_LIMIT_CLIENT_REQUESTS=2: the third call of the client is refused.
    for (let i = 0; i < 3; i++) await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token: t4.auth_token });

    const mine = logs.audit().filter((e) => e.customer_id === cid || e.client_id === client.client_id || [t1.jti, t2.jti, t3.jti].includes(e.jti as string) || (e.event === 'admin.auth_failed' && e.ip !== undefined));
    const find = (event: string, fields: Line) => mine.find((e) => e.event === event && Object.entries(fields).every(([k, v]) => e[k] === v));
    t.truthy(find('client.created', { client_id: client.client_id, customer_profile: false }), 'client.created, saying whether it sees customers\' profiles');
    t.truthy(find('customer.upserted', { customer_id: cid, status: 'active' }), 'customer.upserted');
    t.is(mine.filter((e) => e.event === 'customer.upserted').length, 2);
    for (const tk of [t1, t2, t3, t4]) t.truthy(find('token.issued', { jti: tk.jti, customer_id: cid }), `token.issued ${tk.jti}`);
    t.truthy(find('token.revoked', { jti: t1.jti, client_id: client.client_id, via: 'revocation_endpoint' }), 'token.revoked via /revoke');
    t.truthy(find('token.revoked', { jti: t2.jti, via: 'admin' }), 'token.revoked via admin (by token)');
    t.truthy(find('token.revoked', { jti: t3.jti, via: 'admin' }), 'token.revoked via admin (by jti)');
    t.truthy(find('customer.tokens_revoked', { customer_id: cid, revoked: 1 }), 'customer.tokens_revoked');
    const failed = find('admin.auth_failed', {});
    t.truthy(failed, 'admin.auth_failed');
    t.truthy(failed?.ip, 'admin.auth_failed names the source address');
    t.truthy(find('rate_limited', { policy: 'client', client_id: client.client_id }), 'rate_limited');

    const secrets = [ADMIN_TOKEN, client.client_secret, wrongAdmin.slice(7), t1.auth_token, t2.auth_token, t3.auth_token, t4.auth_token];
    for (const line of logs.raw) for (const secret of secrets) t.false(line.includes(secret), `a log line holds a secret: ${line.slice(0, 120)}`);
  },
  { logger: logs.logger, env: { RATE_LIMIT_CLIENT_REQUESTS: '2' } },
);

test('CLI changes and revocations (by jti, by token from stdin, by customer) write audit events without the token', async (t) => {
  const sink = capture();
  const clock = new FixedClock(new Date('2026-01-15T12:00:00.000Z'));
  const config = loadConfig({ KEYS_DIR: '/nonexistent', MONGODB_URI: 'mongodb://cli-audit.invalid/x' });
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const keys = await KeyStore.fromRecords([await generateKeyRecord(config.signingAlg, clock.now())], { legacyHs256Secret: null, maxTokenTtlSeconds: config.maxTokenTtlSeconds, clock });
  const runtime: CliRuntime = { config, store, keys, clock, close: async () => undefined };
  let stdin = '';
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { out: (l) => out.push(l), err: () => undefined }, { config, clock, logger: sink.logger, readStdin: async () => stdin, open: async () => runtime });
    t.is(code, 0, argv.join(' '));
    return out.length ? (JSON.parse(out.join('\n')) as Record<string, string>) : {};
  };
  const client = await run('clients', 'create', '--name', 'CLI audited');
  await run('customers', 'upsert', 'cli-1');
  await run('customers', 'disable', 'cli-1');
  await run('customers', 'upsert', 'cli-1', '--status', 'active');
  const a = await run('tokens', 'issue', '--customer', 'cli-1');
  const b = await run('tokens', 'issue', '--customer', 'cli-1', '--format', 'opaque');
  const c = await run('tokens', 'issue', '--customer', 'cli-1');
  await run('tokens', 'revoke', '--jti', a.jti!);
  stdin = `${b.auth_token}\n`;
  await run('tokens', 'revoke', '--token-file', '-');
  await run('tokens', 'revoke-customer', 'cli-1');

  const events = sink.audit();
  t.true(events.every((e) => e.via === 'cli'));
  t.deepEqual(
    events.map((e) => e.event),
    ['client.created', 'customer.upserted', 'customer.upserted', 'customer.upserted', 'token.issued', 'token.issued', 'token.issued', 'token.revoked', 'token.revoked', 'customer.tokens_revoked'],
  );
  t.like(events[0], { client_id: client.client_id });
  t.like(events[2], { customer_id: 'cli-1', status: 'disabled' });
  t.like(events[7], { jti: a.jti });
  t.like(events[8], { jti: b.jti });
  t.like(events[9], { customer_id: 'cli-1', revoked: 1 });
  for (const line of sink.raw) for (const secret of [client.client_secret!, a.auth_token!, b.auth_token!, c.auth_token!]) t.false(line.includes(secret));
});
