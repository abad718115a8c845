/**
 * docs/nginx-njs.md run as written: Debian's nginx and njs packages
 * (installed by .ci/gateways/nginx.sh), the guide's credentials script, njs
 * handler and conf.d file, in front of this server and a small upstream.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
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

const GUIDE = 'docs/nginx-njs.md';
const NGINX = '/usr/sbin/nginx';
/** Where Debian's libnginx-mod-http-js puts the module (its modules-enabled file loads it). */
const NJS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';
/** The cache lifetime the revocation check runs with, in place of the guide's 30 s. */
const CACHE_SECONDS = 3;

/**
 * nginx as its own process: a main configuration shaped like Debian's
 * nginx.conf (njs loaded, the conf.d file included inside `http`), with pid,
 * logs, temp and cache paths in a fresh directory.
 */
async function startNginx(
  t: ExecutionContext,
  { server, upstream, clientId, clientSecret, cacheSeconds }: { server: IntrospectionServer; upstream: Upstream; clientId: string; clientSecret: string; cacheSeconds?: number },
): Promise<SendingGateway & { log: () => string }> {
  const dir = tempDir(t, 'gw-nginx-');
  // Workers run as nobody when nginx starts as root: they need to reach the cache and temp dirs.
  chmodSync(dir, 0o755);
  const files = guideFiles(GUIDE);

  // The guide's credentials script, with its path moved into the run's directory.
  const secrets = join(dir, 'secrets');
  execFileSync('bash', ['-euc', substitute(files.get('credentials.sh')!, [['/etc/nginx/secrets', secrets]])], {
    // stdin closed: bash reads its rc file when stdin is a socket, as Node's pipes are.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret },
  });

  const njsDir = join(dir, 'njs');
  mkdirSync(njsDir);
  writeFileSync(join(njsDir, 'introspection.js'), files.get('introspection.js')!);

  const port = await freePort();
  const pairs: [string, string][] = [
    ['js_path /etc/nginx/njs/;', `js_path ${njsDir}/;`],
    ['/var/cache/nginx/introspection', join(dir, 'cache')],
    ['server 10.0.0.5:8080;', `server 127.0.0.1:${upstream.port};`],
    // Plain HTTP on loopback: TLS termination is not what this checks.
    ['listen 443 ssl;', `listen 127.0.0.1:${port};`],
    ['  ssl_certificate /etc/ssl/certs/api.example.com.pem;\n', ''],
    ['  ssl_certificate_key /etc/ssl/private/api.example.com.key;\n', ''],
    ['/etc/nginx/secrets', secrets],
    ['https://login.example.com/introspect', `${server.url}/introspect`],
  ];
  if (cacheSeconds !== undefined) pairs.push(['proxy_cache_valid 200 30s;', `proxy_cache_valid 200 ${cacheSeconds}s;`]);
  const conf = join(dir, 'open-login.conf');
  writeFileSync(conf, substitute(files.get('open-login.conf')!, pairs));

  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  const main = join(dir, 'nginx.conf');
  writeFileSync(
    main,
    [
      `load_module ${NJS_MODULE};`,
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
      `  include ${conf};`,
      '}',
      '',
    ].join('\n'),
  );

  const proc = startProcess(NGINX, ['-p', dir, '-e', 'stderr', '-c', main, '-g', 'daemon off;']);
  t.teardown(proc.stop);
  // Any answer from the listening port (404 outside /api/) means nginx is up.
  await waitForHttp(`http://127.0.0.1:${port}/`, proc, { timeoutMs: 30_000 });
  t.teardown(() => {
    if (!t.passed) t.log(`nginx output:\n${proc.output().slice(-4000)}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    /** nginx's error log (stderr). */
    log: proc.output,
    send: async (authorization) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/orders`, { headers: authorization ? { authorization } : {} });
      return { status: res.status, body: await res.text() };
    },
  };
}

test.before(() => {
  if (!existsSync(NGINX) || !existsSync(NJS_MODULE)) throw new Error('nginx or its njs module is missing: run bash .ci/gateways/nginx.sh');
});

test('nginx + njs from the guide', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);

  const gateway = await startNginx(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.clientSecret });
  await checkGuide(t, scenario, upstream, { ...gateway, subjectOf: (r) => r.headers['x-customer-id'] as string | undefined });

  await checkSubjectHeaderIsTheGateways(t, scenario, upstream, gateway, 'X-Customer-Id');
  // RFC 6750 §3: the refusal says why.
  const missing = await fetch(`${gateway.url}/api/orders`);
  t.is(missing.headers.get('www-authenticate'), 'Bearer', 'missing token: WWW-Authenticate: Bearer');
  const revoked = await fetch(`${gateway.url}/api/orders`, { headers: { authorization: `Bearer ${scenario.tokens.revoked}` } });
  t.is(revoked.headers.get('www-authenticate'), 'Bearer error="invalid_token"', 'revoked token: invalid_token');

  const wrong = await startNginx(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.wrongSecret });
  await checkWrongSecret(t, scenario, upstream, wrong);
  // As the guide says: auth_request turns the handler's 500 into the answer, and the log says why.
  t.is((await wrong.send(`Bearer ${scenario.tokens.valid}`)).status, 500, 'wrong client secret: 500');
  t.regex(wrong.log(), /introspection failed with status 401/);
  for (const token of Object.values(scenario.tokens)) {
    t.false(gateway.log().includes(token) || wrong.log().includes(token), 'no token in nginx\'s log');
  }
});

test('nginx + njs from the guide: a token revoked after use is refused once the cache lifetime has passed', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);
  const gateway = await startNginx(t, { server, upstream, clientId: scenario.clientId, clientSecret: scenario.clientSecret, cacheSeconds: CACHE_SECONDS });

  await checkRevocationAfterUse(t, server, scenario, upstream, gateway, CACHE_SECONDS);
});
