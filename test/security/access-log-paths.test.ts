/**
 * Adversarial: a token put in a URL path never reaches a log line. The access
 * line names the matched route template, or "unmatched", never the raw path.
 */
import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ADMIN_TOKEN, standardSetup, startTestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { rawRequest, wire } from '../helpers/raw-http.js';

test('tokens and secrets in unmatched paths are not logged', async (t) => {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const { logger, raw, lines } = captureLogs();
  const s = await startTestServer(store, { logger });
  try {
    const { token, secret } = await standardSetup(s);
    const paths = [
      `/api/v1/auth/token/validate/${token}`,
      `/introspect/${token}`,
      `/Introspect/${token}`,
      `/revoke/${token}`,
      `/admin/tokens/${token}`,
      `/admin/clients/${secret}/x`,
      `/${token}`,
      `/docs/${secret}`,
      `/docs/assets/${token}`,
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'TRACE', 'DELETE']) {
        const res = await rawRequest(s.port, wire(method, path, { Authorization: `Bearer ${ADMIN_TOKEN}` }));
        t.true(res.status >= 400, `${method} ${path}: ${res.status}`);
      }
    }
    const requestLines = lines.filter((l) => l.msg === 'request');
    t.true(requestLines.length >= paths.length * 4);
    for (const line of raw) {
      t.false(line.includes(token), 'no line holds the token');
      t.false(line.includes(secret), 'no line holds the client secret');
      t.false(line.includes(ADMIN_TOKEN), 'no line holds the admin token');
    }
    for (const line of requestLines) t.false(String(line.route).includes('.'), `route ${String(line.route)} is a template`);
  } finally {
    await s.close();
  }
});
