/**
 * docs/node-clients.md, "A whole resource server": the guide's api.mjs, run
 * as written with openid-client, in front of a small upstream.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import {
  checkGuide,
  checkWrongSecret,
  guideFiles,
  ROOT,
  startGuideRun,
  startProcess,
  substitute,
  waitForHttp,
} from './harness.js';

test('openid-client resource server from the guide', async (t) => {
  const { server, upstream, scenario } = await startGuideRun(t);

  // The guide's file, with plain http allowed for loopback as the guide says.
  const source = substitute(guideFiles('docs/node-clients.md').get('api.mjs')!, [
    ["{ algorithm: 'oauth2' }", "{ algorithm: 'oauth2', execute: [client.allowInsecureRequests] }"],
  ]);
  // Next to the project's node_modules, so `import 'openid-client'` resolves.
  const file = join(ROOT, 'node_modules', '.cache', `gateway-api-${process.pid}.mjs`);
  writeFileSync(file, source);

  const run = async (secret: string) => {
    const port = await freePort();
    const proc = startProcess(process.execPath, [file], {
      env: { PATH: process.env.PATH, ISSUER: server.url, CLIENT_ID: scenario.clientId, CLIENT_SECRET: secret, UPSTREAM: upstream.url, PORT: String(port) },
    });
    t.teardown(proc.stop);
    await waitForHttp(`http://127.0.0.1:${port}/`, proc, { timeoutMs: 30_000, ok: () => true });
    return {
      send: async (authorization: string | undefined) => {
        const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers: authorization ? { authorization } : {} });
        return { status: res.status, body: await res.text() };
      },
    };
  };

  const api = await run(scenario.clientSecret);
  await checkGuide(t, scenario, upstream, { ...api, subjectOf: (r) => r.headers['x-customer-id'] as string | undefined });
  await checkWrongSecret(t, scenario, upstream, await run(scenario.wrongSecret));
});
