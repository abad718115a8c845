/**
 * docs/spring-security.md, "A whole resource server": Spring Boot 3.5 /
 * Spring Security 6.5 built by .ci/gateways/spring.sh with the guide's Java
 * files, started with the guide's application.yml in front of a small
 * upstream. Run with the introspector the guide recommends
 * (SpringOpaqueTokenIntrospector, which Boot builds from the properties) and
 * with the deprecated NimbusOpaqueTokenIntrospector (profile "nimbus", the
 * test project's own NimbusIntrospection.java).
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
  setUpScenario,
  startIntrospectionServer,
  startProcess,
  startUpstream,
  substitute,
  tempDir,
  waitForHttp,
  type IntrospectionServer,
  type Scenario,
  type Upstream,
} from './harness.js';
import { GUIDE, guideSources } from './spring/guide.js';

const build = gatewayCache('spring');
const jar = join(build, 'api.jar');

interface World {
  server: IntrospectionServer;
  upstream: Upstream;
  scenario: Scenario;
}
let world: World | undefined;

test.before(async () => {
  if (!existsSync(jar)) throw new Error(`${jar} is missing: run bash .ci/gateways/spring.sh`);
  // The jar must hold the guide's Java as the page says it now, not an older copy.
  for (const [name, text] of guideSources()) {
    const built = join(build, 'built-from', name);
    if (!existsSync(built) || readFileSync(built, 'utf8') !== text) {
      throw new Error(`${jar} was not built from ${GUIDE}'s current ${name}: run bash .ci/gateways/spring.sh`);
    }
  }
  const server = await startIntrospectionServer();
  const upstream = await startUpstream();
  world = { server, upstream, scenario: await setUpScenario(server) };
});

test.after.always(async () => {
  await world?.upstream.close();
  await world?.server.stop();
});

/** The guide's application as a reader runs it: `java -jar` with the page's application.yml. */
async function startApi(t: ExecutionContext, { secret, profile }: { secret: string; profile?: string }) {
  const { server, upstream, scenario } = world!;
  const port = await freePort();
  const config = join(tempDir(t, 'gw-spring-'), 'application.yml');
  writeFileSync(
    config,
    substitute(guideFiles(GUIDE).get('application.yml')!, [
      ['https://login.example.com', server.url],
      ['http://127.0.0.1:8080', upstream.url],
      ['port: 8000', `port: ${port}`],
    ]),
  );
  const started = Date.now();
  const proc = startProcess(
    'java',
    // C1 only: on a busy 2-core machine it starts the JVM in half the time; the application is the same.
    ['-XX:TieredStopAtLevel=1', '-jar', jar, `--spring.config.location=file:${config}`, ...(profile ? [`--spring.profiles.active=${profile}`] : [])],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, OPEN_LOGIN_CLIENT_ID: scenario.clientId, OPEN_LOGIN_CLIENT_SECRET: secret } },
  );
  t.teardown(proc.stop);
  // Up once Tomcat answers at all; what it answers is for the checks to judge.
  await waitForHttp(`http://127.0.0.1:${port}/orders`, proc, { timeoutMs: 180_000, ok: () => true });
  t.log(`${profile ?? 'spring'} introspector${secret === scenario.clientSecret ? '' : ' (wrong secret)'}: up in ${Date.now() - started} ms`);
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    send: async (authorization: string | undefined) => {
      const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers: authorization ? { authorization } : {} });
      return { status: res.status, body: await res.text() };
    },
  };
}

const subjectOf = (r: Upstream['requests'][number]) => r.headers['x-customer-id'] as string | undefined;

/** Spring logs failures with the endpoint's URL; never a token or a secret. */
function noSecretsIn(t: ExecutionContext, output: string, scenario: Scenario): void {
  for (const secret of [scenario.clientSecret, scenario.wrongSecret, ...Object.values(scenario.tokens)]) {
    t.false(output.includes(secret), 'no token or secret in the log');
  }
}

const runs: [title: string, profile: string | undefined][] = [
  ['SpringOpaqueTokenIntrospector (the guide)', undefined],
  ['NimbusOpaqueTokenIntrospector (deprecated)', 'nimbus'],
];

for (const [title, profile] of runs) {
  test.serial(title, async (t) => {
    const { upstream, scenario } = world!;
    const api = await startApi(t, { secret: scenario.clientSecret, ...(profile ? { profile } : {}) });
    await checkGuide(t, scenario, upstream, { send: api.send, subjectOf });
    // An inactive token's refusal says why, as RFC 6750 §3.1 asks (and the guide says).
    const revoked = await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${scenario.tokens.revoked}` } });
    t.is(revoked.status, 401);
    t.regex(revoked.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    const missing = await fetch(`${api.url}/orders`);
    t.is(missing.headers.get('www-authenticate'), 'Bearer');
    noSecretsIn(t, api.proc.output(), scenario);
    await api.proc.stop();

    const wrong = await startApi(t, { secret: scenario.wrongSecret, ...(profile ? { profile } : {}) });
    await checkWrongSecret(t, scenario, upstream, wrong);
    // What the guide says a caller and an operator see: a bare Bearer challenge, and the introspector's error in the log.
    const res = await fetch(`${wrong.url}/orders`, { headers: { authorization: `Bearer ${scenario.tokens.valid}` } });
    t.is(res.status, 401);
    t.is(res.headers.get('www-authenticate'), 'Bearer');
    t.regex(wrong.proc.output(), /OAuth2IntrospectionException/);
    noSecretsIn(t, wrong.proc.output(), scenario);
  });
}
