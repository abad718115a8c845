/**
 * docs/apache-mod-auth-openidc.md run as written: Debian's Apache and
 * mod_auth_openidc packages (installed by .ci/gateways/apache.sh), the guide's
 * conf-available file, in front of this server and a small upstream.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import {
  checkGuide,
  checkWrongSecret,
  guideFiles,
  startGuideRun,
  startProcess,
  substitute,
  tempDir,
  waitForHttp,
  type IntrospectionServer,
  type Upstream,
} from './harness.js';
import { checkRevocationAfterUse, checkSubjectHeaderIsTheGateways, type SendingGateway } from './extra-checks.js';

const GUIDE = 'docs/apache-mod-auth-openidc.md';
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
/** The re-introspection interval the revocation check runs with, in place of the guide's 30 s. */
const CACHE_SECONDS = 3;

/**
 * Apache as its own process: the modules `a2enmod auth_openidc headers
 * proxy_http` enables on Debian (with what they need), the guide's file
 * included, pid, mutex and runtime files in a fresh directory.
 */
async function startApache(
  t: ExecutionContext,
  { server, upstream, clientId, clientSecret, cacheSeconds }: { server: IntrospectionServer; upstream: Upstream; clientId: string; clientSecret: string; cacheSeconds?: number },
): Promise<SendingGateway> {
  const dir = tempDir(t, 'gw-apache-');
  const port = await freePort();
  const pairs: [string, string][] = [
    ['https://login.example.com/', `${server.url}/`],
    ['http://10.0.0.5:8080/', `${upstream.url}/`],
  ];
  if (cacheSeconds !== undefined) pairs.push(['OIDCOAuthTokenIntrospectionInterval 30', `OIDCOAuthTokenIntrospectionInterval ${cacheSeconds}`]);
  const conf = join(dir, 'open-login.conf');
  writeFileSync(conf, substitute(guideFiles(GUIDE).get('open-login.conf')!, pairs));

  const modules = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'headers', 'proxy', 'proxy_http', 'auth_openidc'];
  const asRoot = process.getuid?.() === 0;
  const main = join(dir, 'apache2.conf');
  writeFileSync(
    main,
    [
      `ServerRoot ${dir}`,
      `DefaultRuntimeDir ${dir}`,
      `PidFile ${join(dir, 'apache2.pid')}`,
      `Mutex file:${dir} default`,
      `Listen 127.0.0.1:${port}`,
      'ServerName 127.0.0.1',
      // A file: Apache cannot open /dev/stderr when it is a socket, as Node's pipes are.
      `ErrorLog ${join(dir, 'error.log')}`,
      'LogLevel warn',
      ...(asRoot ? ['User nobody', 'Group nogroup'] : []),
      ...modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`),
      `Include ${conf}`,
      '',
    ].join('\n'),
  );

  const proc = startProcess(APACHE, ['-d', dir, '-f', main, '-DFOREGROUND'], {
    env: { PATH: process.env.PATH, OPEN_LOGIN_CLIENT_ID: clientId, OPEN_LOGIN_CLIENT_SECRET: clientSecret },
  });
  t.teardown(proc.stop);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, proc, { timeoutMs: 30_000 });
  } catch (error) {
    throw new Error(`${String(error)}\n${readIfThere(join(dir, 'error.log')).slice(-4000)}`);
  }
  t.teardown(() => {
    if (!t.passed) t.log(`apache output:\n${proc.output().slice(-2000)}\n${readIfThere(join(dir, 'error.log')).slice(-4000)}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    send: async (authorization) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/orders`, { headers: authorization ? { authorization } : {} });
      return { status: res.status, body: await res.text() };
    },
  };
}

function readIfThere(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

test.before(() => {
  if (!existsSync(APACHE) || !existsSync(join(MODULES, 'mod_auth_openidc.so'))) {
    throw new Error('Apache or mod_auth_openidc is missing: run bash .ci/gateways/apache.sh');
  }
});

test('Apache mod_auth_openidc from the guide', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);

  const gateway = await startApache(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.clientSecret });
  await checkGuide(t, scenario, upstream, { ...gateway, subjectOf: (r) => r.headers['x-customer-id'] as string | undefined });
  await checkSubjectHeaderIsTheGateways(t, scenario, upstream, gateway, 'X-Customer-Id');

  // RFC 6750 §3: a refusal carries a Bearer challenge.
  const missing = await fetch(`${gateway.url}/api/orders`);
  t.regex(missing.headers.get('www-authenticate') ?? '', /^Bearer\b/, 'missing token: a Bearer challenge');
  const revoked = await fetch(`${gateway.url}/api/orders`, { headers: { authorization: `Bearer ${scenario.tokens.revoked}` } });
  t.regex(revoked.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/, 'revoked token: invalid_token');

  const wrong = await startApache(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.wrongSecret });
  await checkWrongSecret(t, scenario, upstream, wrong);

});

test('Apache mod_auth_openidc from the guide: a token revoked after use is refused once the interval has passed', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);
  const gateway = await startApache(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.clientSecret, cacheSeconds: CACHE_SECONDS });

  await checkRevocationAfterUse(t, server, scenario, upstream, gateway, CACHE_SECONDS);
});
