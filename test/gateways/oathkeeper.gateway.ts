/**
 * docs/oathkeeper.md: Ory Oathkeeper, built by .ci/gateways/oathkeeper.sh,
 * serving the guide's config.yaml and access-rules.yaml in front of a small
 * upstream; its oauth2_introspection authenticator calls this server.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import {
  checkGuide,
  checkWrongSecret,
  gatewayCache,
  guideFiles,
  ROOT,
  startGuideRun,
  startIntrospectionServer,
  startProcess,
  startUpstream,
  substitute,
  tempDir,
  waitForHttp,
  type IntrospectionServer,
  type Upstream,
} from './harness.js';

const GUIDE = 'docs/oathkeeper.md';
const BINARY = join(gatewayCache('oathkeeper'), 'bin', 'oathkeeper');
/** The server's own cache (CACHE_TTL_SECONDS, default 5 s) is the other half of the guide's bound. */
const SERVER_CACHE_TTL_MS = 5_000;

/** RFC 6749 §2.3.1 client_secret_basic, as the guide's printf builds it. */
const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

interface Oathkeeper {
  /** Everything Oathkeeper logged so far. */
  output: () => string;
  send: (authorization: string | undefined, headers?: Record<string, string>) => Promise<{ status: number; body: string }>;
}

/** `oathkeeper serve` as the guide starts it, with the run's addresses, ports and client credentials swapped in. */
async function startOathkeeper(t: ExecutionContext, server: IntrospectionServer, upstream: Upstream, authorization: string): Promise<Oathkeeper> {
  const files = guideFiles(GUIDE);
  const dir = tempDir(t, 'gw-oathkeeper-');
  const [proxyPort, apiPort, prometheusPort] = [await freePort(), await freePort(), await freePort()];
  const rules = join(dir, 'access-rules.yaml');
  writeFileSync(
    rules,
    substitute(files.get('access-rules.yaml')!, [
      ['api.example.com', `127.0.0.1:${proxyPort}`],
      ['http://127.0.0.1:8080', upstream.url],
    ]),
  );
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    substitute(files.get('config.yaml')!, [
      ['port: 4455', `port: ${proxyPort}`],
      ['port: 4456', `port: ${apiPort}`],
      ['port: 9000', `port: ${prometheusPort}`],
      ['file:///etc/oathkeeper/access-rules.yaml', `file://${rules}`],
      ['https://login.example.com', server.url],
      ['Basic Q0xJRU5UX0lEOkNMSUVOVF9TRUNSRVQ=', authorization],
    ]),
  );
  const [command, ...args] = substitute(files.get('serve')!.trim(), [['--config config.yaml', `--config ${config}`]]).split(/\s+/);
  t.is(command, 'oathkeeper', 'the guide starts oathkeeper');
  // SQA_OPT_OUT as well as the guide's flag: no usage report may leave this machine even if the guide changes.
  const proc = startProcess(BINARY, args, { env: { PATH: process.env.PATH, HOME: dir, SQA_OPT_OUT: 'true' } });
  t.teardown(proc.stop);
  await waitForHttp(`http://127.0.0.1:${apiPort}/health/ready`, proc, { timeoutMs: 60_000, ok: (s) => s === 200 });
  return {
    output: proc.output,
    send: async (authorization, headers = {}) => {
      const res = await fetch(`http://127.0.0.1:${proxyPort}/orders`, { headers: { ...headers, ...(authorization ? { authorization } : {}) } });
      return { status: res.status, body: await res.text() };
    },
  };
}

const subjectOf = (r: Upstream['requests'][number]) => r.headers['x-customer-id'] as string | undefined;

test.before(() => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run bash .ci/gateways/oathkeeper.sh (npm run test:gateways -- oathkeeper does)`);
});

test.serial('Oathkeeper oauth2_introspection + header mutator from the guide', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);

  const gateway = await startOathkeeper(t, server, upstream, basic(scenario.clientId, scenario.clientSecret));
  await checkGuide(t, scenario, upstream, { send: gateway.send, subjectOf });

  // A client cannot choose its own customer id: the mutator's header replaces the one it sent.
  const before = upstream.requests.length;
  const spoofed = await gateway.send(`Bearer ${scenario.tokens.valid}`, { 'x-customer-id': 'someone-else' });
  t.is(spoofed.status, 200);
  t.is(upstream.requests.length, before + 1);
  t.is(subjectOf(upstream.requests.at(-1)!), scenario.subject, 'X-Customer-Id is the token subject, not the client header');
  const spoofedWithout = await gateway.send(undefined, { 'x-customer-id': scenario.subject });
  t.is(spoofedWithout.status, 401, 'no token: refused whatever X-Customer-Id says');
  t.is(upstream.requests.length, before + 1);

  // The answers the guide's table promises.
  const revoked = await gateway.send(`Bearer ${scenario.tokens.revoked}`);
  t.is(revoked.status, 401);
  t.like(JSON.parse(revoked.body), { error: { code: 401, status: 'Unauthorized' } });
  t.is((await gateway.send(undefined)).status, 401);

  const wrong = await startOathkeeper(t, server, upstream, basic(scenario.clientId, scenario.wrongSecret));
  await checkWrongSecret(t, scenario, upstream, wrong);
  t.is((await wrong.send(`Bearer ${scenario.tokens.valid}`)).status, 500, 'wrong client secret: 500, as the guide says');
  t.regex(wrong.output(), /Introspection returned status code 401 but expected 200/);

  // At `log.level: warn` refusals are still logged.
  t.regex(gateway.output(), /Access request denied/);

  // With the guide's log settings neither the customers' tokens nor the client's credentials reach Oathkeeper's log.
  const logs = [
    ['right secret', gateway.output(), basic(scenario.clientId, scenario.clientSecret)],
    ['wrong secret', wrong.output(), basic(scenario.clientId, scenario.wrongSecret)],
  ] as const;
  for (const [label, log, credentials] of logs) {
    for (const secret of [...Object.values(scenario.tokens), scenario.clientSecret, scenario.wrongSecret, credentials.slice('Basic '.length)]) {
      t.false(log.includes(secret), `${label}: no token, secret or Basic credentials in Oathkeeper's log`);
    }
  }

  // This server unreachable: a token not in Oathkeeper's cache gets 500 (fail closed), never the upstream.
  await server.stop();
  const before500 = upstream.requests.length;
  t.is((await gateway.send(`Bearer ${scenario.tokens.revoked}`)).status, 500, 'server down: 500, as the guide says');
  t.is(upstream.requests.length, before500);
});

test.serial("a token revoked after its first use stops passing within the guide's bound", async (t) => {
  const ttl = /^\s*ttl:\s*(\d+)s\s*(#.*)?$/m.exec(guideFiles(GUIDE).get('config.yaml')!);
  if (!ttl) throw new Error("the guide's config.yaml no longer sets cache.ttl in seconds");
  const ttlMs = Number(ttl[1]) * 1000;
  const statedBound = new RegExp(`at most ${ttl[1]} s \\(\`ttl\`\\) \\+ this server's \`CACHE_TTL_SECONDS\``);
  t.regex(readFileSync(join(ROOT, GUIDE), 'utf8'), statedBound, 'the guide states the bound for its ttl');

  const server = await startIntrospectionServer();
  t.teardown(server.stop);
  const upstream = await startUpstream();
  t.teardown(upstream.close);
  const client = await server.admin('POST', '/admin/clients', { name: 'oathkeeper' });
  await server.admin('PUT', '/admin/customers/gw-customer-2', { status: 'active' });
  const grant = await server.admin('POST', '/admin/tokens', { customer_id: 'gw-customer-2' });
  const gateway = await startOathkeeper(t, server, upstream, basic(client.client_id, client.client_secret));
  const bearer = `Bearer ${grant.auth_token}`;

  const firstUse = Date.now();
  t.is((await gateway.send(bearer)).status, 200, 'first use: introspected, active, cached');
  await server.admin('POST', '/admin/tokens/revoke', { jti: grant.jti });
  const revokedAt = Date.now();
  // The server says `active: false` at once; Oathkeeper answers from its cache until the ttl has run out.
  t.is((await gateway.send(bearer)).status, 200, 'right after revocation: still passes, from the cache');

  const deadline = revokedAt + ttlMs + SERVER_CACHE_TTL_MS + 3_000;
  let status = 200;
  let refusedAt = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    status = (await gateway.send(bearer)).status;
    if (status !== 200) {
      refusedAt = Date.now();
      break;
    }
  }
  t.is(status, 401, `refused within ttl (${ttlMs} ms) + CACHE_TTL_SECONDS after revocation`);
  t.true(refusedAt - firstUse >= ttlMs, `the cached answer lived its whole ttl (${refusedAt - firstUse} ms >= ${ttlMs} ms)`);
  t.log(`revoked token refused ${refusedAt - revokedAt} ms after revocation (cache ttl ${ttlMs} ms)`);
  const reached = upstream.requests.length;
  t.is((await gateway.send(bearer)).status, 401, 'and stays refused (inactive answers are not cached)');
  t.is(upstream.requests.length, reached);
});
