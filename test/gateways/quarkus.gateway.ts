/**
 * docs/quarkus.md: the Quarkus 3.33 OIDC resource server built by
 * .ci/gateways/quarkus.sh from test/gateways/quarkus, started with the
 * guide's application.properties as config/application.properties (all of it
 * run-time configuration, so the guide's text is what runs, with no rebuild).
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const GUIDE = 'docs/quarkus.md';
const APP = join(gatewayCache('quarkus'), 'quarkus-app', 'quarkus-run.jar');
const RESOURCE = 'test/gateways/quarkus/src/main/java/org/openlogin/gateway/OrdersResource.java';

/** Lines Quarkus logs when a configured property is ignored: a misspelt key, or a build-time one set at run time. */
const IGNORED_PROPERTY = /Unrecognized configuration key|Build time property cannot be changed at runtime/;

interface Api {
  send: (authorization: string | undefined) => Promise<{ status: number; body: string; wwwAuthenticate: string | null }>;
  stop: () => Promise<void>;
  /** What Quarkus logged so far. */
  output: () => string;
}

/** Starts the built jar in a fresh directory whose config/application.properties is `properties`. */
async function startQuarkus(t: ExecutionContext, properties: string, clientId: string, secret: string): Promise<Api> {
  const dir = tempDir(t, 'gw-quarkus-');
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'application.properties'), properties);
  const port = await freePort();
  const javaHome = process.env.JAVA_HOME;
  const started = Date.now();
  const proc = startProcess(javaHome ? join(javaHome, 'bin', 'java') : 'java', [`-Dquarkus.http.host=127.0.0.1`, `-Dquarkus.http.port=${port}`, '-jar', APP], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(javaHome ? { JAVA_HOME: javaHome } : {}),
      OPEN_LOGIN_CLIENT_ID: clientId,
      OPEN_LOGIN_CLIENT_SECRET: secret,
    },
  });
  t.teardown(proc.stop);
  const url = `http://127.0.0.1:${port}/orders`;
  // Any answer will do: without a token the resource answers 401.
  await waitForHttp(url, proc, { timeoutMs: 90_000, ok: () => true });
  t.log(`Quarkus answered ${Date.now() - started} ms after the JVM was started (${/started in [\d.]+s/.exec(proc.output())?.[0] ?? 'no start line'})`);
  t.notRegex(proc.output(), IGNORED_PROPERTY, 'every property of the guide is one Quarkus reads at run time');
  return {
    stop: proc.stop,
    output: proc.output,
    send: async (authorization) => {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      return { status: res.status, body: await res.text(), wwwAuthenticate: res.headers.get('www-authenticate') };
    },
  };
}

/** The guide's application.properties with the run's addresses in place of the examples. */
function guideProperties(files: Map<string, string>, server: IntrospectionServer, upstream: Upstream): string {
  return substitute(files.get('application.properties')!, [
    ['https://login.example.com', server.url],
    ['http://127.0.0.1:8080', upstream.url],
  ]);
}

const subjectOf = (r: Upstream['requests'][number]) => r.headers['x-customer-id'] as string | undefined;

test.serial('Quarkus OIDC resource server from the guide', async (t) => {
  if (!existsSync(APP)) {
    t.fail(`${APP} is missing: run .ci/gateways/quarkus.sh (npm run test:gateways -- quarkus does)`);
    return;
  }
  const files = guideFiles(GUIDE);
  t.is(files.get('OrdersResource.java'), readFileSync(join(ROOT, RESOURCE), 'utf8'), `the guide's OrdersResource.java is ${RESOURCE}`);

  const { server, upstream, scenario } = await startGuideRun(t);
  const properties = guideProperties(files, server, upstream);

  const api = await startQuarkus(t, properties, scenario.clientId, scenario.clientSecret);
  await checkGuide(t, scenario, upstream, { ...api, subjectOf });
  // RFC 6750 §3: a refused request says how to authenticate.
  t.regex((await api.send(undefined)).wwwAuthenticate ?? '', /^Bearer\b/, 'missing token: WWW-Authenticate: Bearer');

  const misconfigured = await startQuarkus(t, properties, scenario.clientId, scenario.wrongSecret);
  await checkWrongSecret(t, scenario, upstream, misconfigured);

  // Quarkus's log, at its default level, holds no token and no client secret.
  const logged = api.output() + misconfigured.output();
  for (const [name, secret] of [...Object.entries(scenario.tokens), ['client secret', scenario.clientSecret], ['wrong secret', scenario.wrongSecret]]) {
    t.false(logged.includes(secret!), `Quarkus's log holds no ${name}`);
  }
});

test.serial("the guide's token cache: revocation waits for time-to-live plus the clean-up interval, or for exp without the timer", async (t) => {
  if (!existsSync(APP)) {
    t.fail(`${APP} is missing: run .ci/gateways/quarkus.sh`);
    return;
  }
  const files = guideFiles(GUIDE);
  const server = await startIntrospectionServer();
  t.teardown(server.stop);
  const upstream = await startUpstream();
  t.teardown(upstream.close);
  const client = (await server.admin('POST', '/admin/clients', { name: 'quarkus cache' })) as { client_id: string; client_secret: string };
  await server.admin('PUT', '/admin/customers/gw-customer-2', { status: 'active' });

  // The guide's 30 s and 10 s, shortened so the test waits seconds; the block follows the main file and overrides its max-size=0.
  const [ttl, interval] = [2000, 1000];
  const cache = substitute(files.get('token-cache.properties')!, [
    ['time-to-live=30S', `time-to-live=${ttl / 1000}S`],
    ['clean-up-timer-interval=10S', `clean-up-timer-interval=${interval / 1000}S`],
  ]);
  const base = guideProperties(files, server, upstream);
  const issue = async () =>
    ((await server.admin('POST', '/admin/tokens', { customer_id: 'gw-customer-2', format: 'opaque' })) as { auth_token: string }).auth_token;
  const admitted = async (api: Api, token: string) => (await api.send(`Bearer ${token}`)).status === 200;

  const api = await startQuarkus(t, base + cache, client.client_id, client.client_secret);
  const token = await issue();
  const firstUse = Date.now();
  t.true(await admitted(api, token), 'active token admitted (and its answer cached)');
  await server.admin('POST', '/admin/tokens/revoke', { auth_token: token });
  t.true(await admitted(api, token), 'revoked, but the cached answer still admits it: the cache is in use');
  let refusedAfter: number | undefined;
  while (Date.now() - firstUse < ttl + interval + 5000) {
    await new Promise((r) => setTimeout(r, 200));
    if (!(await admitted(api, token))) {
      refusedAfter = Date.now() - firstUse;
      break;
    }
  }
  t.log(`revoked token refused ${refusedAfter} ms after its answer was cached`);
  t.truthy(refusedAfter, 'the revoked token is refused once its cache entry is cleaned up');
  // Slack for the polling and a loaded machine; without the timer it would pass until exp, an hour away.
  t.true(refusedAfter! <= ttl + interval + 2000, `refused within time-to-live + clean-up interval (+2 s slack), took ${refusedAfter} ms`);
  await api.stop();

  // The guide's warning: without clean-up-timer-interval, time-to-live is never applied.
  const untimed = await startQuarkus(
    t,
    base + substitute(cache, [[`quarkus.oidc.token-cache.clean-up-timer-interval=${interval / 1000}S\n`, '']]),
    client.client_id,
    client.client_secret,
  );
  const kept = await issue();
  t.true(await admitted(untimed, kept), 'no timer: active token admitted (and cached)');
  await server.admin('POST', '/admin/tokens/revoke', { auth_token: kept });
  await new Promise((r) => setTimeout(r, ttl + interval + 1000));
  t.true(await admitted(untimed, kept), 'no timer: the revoked token still passes after time-to-live has gone by');

  // This server gone: nothing is admitted that is not already cached (fail closed).
  const uncached = await issue();
  await server.stop();
  const before = upstream.requests.length;
  t.is((await untimed.send(`Bearer ${uncached}`)).status, 401, 'introspection endpoint down: 401');
  t.is(upstream.requests.length, before, 'introspection endpoint down: did not reach the upstream');
});
