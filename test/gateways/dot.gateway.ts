/**
 * docs/django-oauth-toolkit.md: a Django project made of the guide's
 * settings.py, views.py and urls.py blocks (around the least project in
 * test/gateways/dot/project), with Django OAuth Toolkit from
 * .ci/gateways/dot.sh, served by `manage.py runserver` in front of a small
 * upstream.
 *
 * DOT knows a user only by the RFC 7662 `username` member, so the client is
 * registered with `customer_profile` and the subject passed on is the
 * customer's username; it admits a token only on URLs under one of its `aud`
 * values (RFC 8707), so the tokens are issued with the view's URL as audience.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports.js';
import {
  checkGuide,
  checkWrongSecret,
  gatewayCache,
  guideFiles,
  ROOT,
  setUpScenario,
  startIntrospectionServer,
  startProcess,
  startUpstream,
  substitute,
  tempDir,
  waitForHttp,
  type IntrospectionServer,
  type Proc,
  type Scenario,
  type Upstream,
} from './harness.js';

const GUIDE = 'docs/django-oauth-toolkit.md';
const PROJECT = join(ROOT, 'test/gateways/dot/project');
const python = join(gatewayCache('dot'), 'venv/bin/python');
/** A database just migrated, before any request: DOT's token cache empty. */
const migrated: { db?: string } = {};

interface Site {
  /** GET /orders with this Authorization value. */
  send: (authorization: string | undefined) => Promise<{ status: number; body: string; challenge: string | null }>;
  stop: () => Promise<void>;
}

/**
 * The guide's project in a fresh directory with a freshly migrated SQLite
 * database (DOT's token cache empty), served on `port`.
 */
async function startSite(
  t: ExecutionContext,
  { server, upstream, scenario, port, secret, cachingSeconds }: {
    server: IntrospectionServer;
    upstream: Upstream;
    scenario: Scenario;
    port: number;
    secret: string;
    cachingSeconds?: number;
  },
): Promise<Site> {
  const guide = guideFiles(GUIDE);
  const dir = tempDir(t, 'gw-dot-');
  cpSync(PROJECT, dir, { recursive: true });
  // The guide says "add to settings.py": appended to the project's own.
  const settings = substitute(guide.get('settings.py')!, [
    ['https://login.example.com/introspect', `${server.url}/introspect`],
    ...(cachingSeconds === undefined
      ? []
      : ([['"RESOURCE_SERVER_TOKEN_CACHING_SECONDS": 60,', `"RESOURCE_SERVER_TOKEN_CACHING_SECONDS": ${cachingSeconds},`]] as [string, string][])),
  ]);
  const settingsFile = join(dir, 'resource_server/settings.py');
  writeFileSync(settingsFile, `${readFileSync(settingsFile, 'utf8')}\n# ---- docs/django-oauth-toolkit.md\n${settings}`);
  writeFileSync(join(dir, 'orders/views.py'), guide.get('views.py')!);
  writeFileSync(join(dir, 'resource_server/urls.py'), guide.get('urls.py')!);

  const env = {
    PATH: process.env.PATH,
    DJANGO_SECRET_KEY: randomBytes(32).toString('base64url'),
    OPEN_LOGIN_CLIENT_ID: scenario.clientId,
    OPEN_LOGIN_CLIENT_SECRET: secret,
    ORDERS_UPSTREAM: upstream.url,
    PYTHONUNBUFFERED: '1',
  };
  // `manage.py migrate` takes seconds; every site starts from a copy of the first one's fresh database.
  if (migrated.db === undefined) {
    try {
      await promisify(execFile)(python, ['manage.py', 'migrate', '--noinput'], { cwd: dir, env, timeout: 120_000 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`manage.py migrate failed: ${String(error)}\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
    migrated.db = join(tempDir(t, 'gw-dot-db-'), 'db.sqlite3');
    copyFileSync(join(dir, 'db.sqlite3'), migrated.db);
  } else {
    copyFileSync(migrated.db, join(dir, 'db.sqlite3'));
  }
  const proc: Proc = startProcess(python, ['manage.py', 'runserver', '--noreload', `127.0.0.1:${port}`], { cwd: dir, env });
  t.teardown(proc.stop);
  const url = `http://127.0.0.1:${port}/orders`;
  // Any answer will do: without a token DOT answers at once, without asking the server.
  await waitForHttp(url, proc, { timeoutMs: 60_000, ok: () => true });
  t.log(`DOT on ${url}, introspection answers cached ${cachingSeconds === undefined ? 'as the guide says' : `${cachingSeconds} s`}`);
  return {
    send: async (authorization) => {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      const body = await res.text();
      if (res.status >= 500) t.log(`runserver output:\n${proc.output().slice(-3000)}`);
      return { status: res.status, body, challenge: res.headers.get('www-authenticate') };
    },
    stop: proc.stop,
  };
}

test('Django OAuth Toolkit resource server from the guide', async (t) => {
  if (!existsSync(python)) {
    t.fail(`no DOT build at ${python}: run bash .ci/gateways/dot.sh (npm run test:gateways -- dot does)`);
    return;
  }
  const server = await startIntrospectionServer();
  t.teardown(server.stop);
  const upstream = await startUpstream();
  t.teardown(upstream.close);
  // Each site below is a new process on this one port: the tokens' audience is its URL.
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}/`;
  const scenario = await setUpScenario(server, { clientBody: { customer_profile: true }, tokenBody: { audience } });
  const subjectOf = (r: Upstream['requests'][number]) => r.headers['x-customer-username'] as string | undefined;

  // 1. The guide as written.
  const site = await startSite(t, { server, upstream, scenario, port, secret: scenario.clientSecret });
  await checkGuide(t, scenario, upstream, { send: site.send, subjectOf, expectedSubject: scenario.username });
  // The guide's view answers as RFC 6750 §3 says: 401 with a Bearer challenge naming the error.
  const refused = await site.send(`Bearer ${scenario.tokens.revoked}`);
  t.is(refused.status, 401, 'a refused token: 401');
  t.regex(refused.challenge ?? '', /^Bearer .*error="invalid_token"/, 'a refused token: WWW-Authenticate: Bearer error="invalid_token"');
  t.regex((await site.send(undefined)).challenge ?? '', /^Bearer\b/, 'no token: a Bearer challenge');
  // DOT reads `aud` as RFC 8707 resource indicators: a token for another path of the same host is refused.
  const issue = async (body: Record<string, unknown>) =>
    (await server.admin('POST', '/admin/tokens', { customer_id: scenario.subject, site_id: 'energy-intel', ...body })) as {
      auth_token: string;
      jti: string;
    };
  const seen = upstream.requests.length;
  const other = await site.send(`Bearer ${(await issue({ audience: `${audience}invoices` })).auth_token}`);
  t.is(other.status, 401, `a token for ${audience}invoices on /orders: refused`);
  t.regex(other.challenge ?? '', /error="invalid_token"/, 'a token for another resource: invalid_token');
  t.is(upstream.requests.length, seen, 'a token for another resource: did not reach the upstream');
  await site.stop();

  // 2. Revocation is bounded by RESOURCE_SERVER_TOKEN_CACHING_SECONDS, as the guide says:
  // a token used, then revoked, is still admitted from DOT's cache, and refused once it has lapsed.
  const cachingSeconds = 2;
  const short = await startSite(t, { server, upstream, scenario, port, secret: scenario.clientSecret, cachingSeconds });
  const grant = await issue({ audience });
  const bearer = `Bearer ${grant.auth_token}`;
  t.is((await short.send(bearer)).status, 200, 'a fresh token is admitted');
  const cachedAt = Date.now();
  await server.admin('POST', '/admin/tokens/revoke', { jti: grant.jti });
  const before = upstream.requests.length;
  t.is((await short.send(bearer)).status, 200, 'just revoked: still admitted from the cache');
  t.true(Date.now() - cachedAt < cachingSeconds * 1000, 'the second request was inside the caching window');
  await new Promise((r) => setTimeout(r, Math.max(0, cachedAt + cachingSeconds * 1000 - Date.now()) + 1000));
  const after = await short.send(bearer);
  t.true(after.status === 401 || after.status === 403, `revoked, cache lapsed: refused, got ${after.status}`);
  t.is(upstream.requests.length, before + 1, 'only the cached request reached the upstream');
  await short.stop();

  // 3. A client registered without customer_profile: the answers carry no `username`, DOT knows no
  // user, and the guide's view refuses rather than pass on no one.
  const plain = (await server.admin('POST', '/admin/clients', { name: 'no customer profile' })) as {
    client_id: string;
    client_secret: string;
  };
  const anonymous = await startSite(t, {
    server,
    upstream,
    scenario: { ...scenario, clientId: plain.client_id },
    port,
    secret: plain.client_secret,
  });
  const reached = upstream.requests.length;
  const noUser = await anonymous.send(`Bearer ${scenario.tokens.valid}`);
  t.is(noUser.status, 403, `no username in the answer: 403 (${noUser.body.slice(0, 200)})`);
  t.is(upstream.requests.length, reached, 'no username in the answer: did not reach the upstream');
  await anonymous.stop();

  // 4. A wrong client secret, nothing cached: a valid token is not admitted.
  const wrong = await startSite(t, { server, upstream, scenario, port, secret: scenario.wrongSecret });
  await checkWrongSecret(t, scenario, upstream, wrong);
});
