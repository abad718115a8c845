import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The container files. There is no Docker engine here: docker-compose.yml is
 * validated by `docker-compose config` (schema check, no engine) and its
 * resolved form inspected; the Dockerfile is checked for its properties.
 */

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const env = { ...process.env, ADMIN_TOKEN: 'placeholder-0123456789abcdef0123456789', METRICS_TOKEN: '' };

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  volumes?: (string | { source: string; target: string })[];
  read_only?: boolean;
  init?: boolean;
}

if (!hasCompose && !inCi) {
  process.stderr.write('\n*** docker-compose not found: the compose file test is SKIPPED (apt-get install docker-compose). ***\n\n');
  test.skip('docker-compose.yml is valid and wires MongoDB as a replica set (needs docker-compose)', () => {});
} else {
  test('docker-compose.yml is valid and wires MongoDB as a replica set', (t) => {
    t.true(hasCompose, 'docker-compose is required in CI');
    const yaml = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env, encoding: 'utf8' });
    // python3-yaml comes with Debian's docker-compose package (for the system python).
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const resolved = JSON.parse(
      execFileSync(python, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: yaml, encoding: 'utf8' }),
    ) as { services: Record<string, Service> };
    const { mongo, introspection } = resolved.services;
    t.truthy(mongo && introspection);
    t.deepEqual(mongo!.command!.slice(0, 2), ['--replSet', 'rs0']);
    const check = mongo!.healthcheck!.test.join(' ');
    t.regex(check, /rs\.initiate\(\{_id: 'rs0', members: \[\{_id: 0, host: 'mongo:27017'\}\]\}\)/);
    t.regex(check, /isWritablePrimary/);
    t.is(introspection!.depends_on!.mongo!.condition, 'service_healthy');
    t.regex(introspection!.environment!.MONGODB_URI!, /^mongodb:\/\/mongo:27017\/\w+\?replicaSet=rs0$/);
    t.true(introspection!.read_only);
    t.true(introspection!.init);
    t.truthy(introspection!.build);
    t.true(JSON.stringify(introspection!.volumes).includes('/app/keys'));

    // Without ADMIN_TOKEN the file refuses to resolve, rather than starting an unusable server.
    const { ADMIN_TOKEN: _unused, ...noAdmin } = env;
    const refused = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env: noAdmin, encoding: 'utf8' });
    t.not(refused.status, 0);
    t.regex(refused.stderr, /ADMIN_TOKEN/);
  });
}

test('the Dockerfile is multi-stage, production-only, non-root, with a health check', (t) => {
  t.true(existsSync('.dockerignore'));
  t.regex(readFileSync('.dockerignore', 'utf8'), /^node_modules$/m);
  const lines = readFileSync('Dockerfile', 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const froms = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM /.test(l));
  t.is(froms.length, 2);
  const final = lines.slice(froms[1]![1]);
  t.true(final.some((l) => /npm ci .*--omit=dev/.test(l)), 'production dependencies only');
  t.true(final.some((l) => /^COPY --from=build \/app\/dist/.test(l)), 'compiled output from the build stage');
  t.false(final.some((l) => /^COPY (src|test)\b/.test(l)), 'no sources in the runtime image');
  const users = final.filter((l) => /^USER /.test(l));
  t.deepEqual(users, ['USER node']);
  t.true(final.findIndex((l) => l === 'USER node') < final.findIndex((l) => /^CMD /.test(l)));
  t.regex(final.join('\n'), /HEALTHCHECK[\s\S]*\/healthz/);
  t.regex(final.at(-1)!, /^CMD \["node", "dist\/src\/server\.js"\]$/);
});
