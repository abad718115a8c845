import test from 'ava';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/log.js';
import { basic, standardSetup, startTestServer } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';

test('X-Request-Id: a well-formed one is echoed and logged; others are replaced by a new id', async (t) => {
  const { logger, lines } = captureLogs();
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }), { logger });
  try {
    const { auth, token, clientId } = await standardSetup(s);
    const requestLines = () => lines.filter((l) => l.msg === 'request');

    const kept = await s.request.post('/introspect').set('Authorization', auth).set('X-Request-Id', 'gw-7f3a.91:x_y-z').type('form').send({ token });
    t.is(kept.headers['x-request-id'], 'gw-7f3a.91:x_y-z');
    const line = requestLines().find((l) => l.req_id === 'gw-7f3a.91:x_y-z');
    t.truthy(line, 'the request line carries the incoming id');
    t.like(line, { route: '/introspect', status: 200, client_id: clientId, reason: 'active', method: 'POST' });
    t.is(typeof line!.ms, 'number');

    // Ids that could forge log fields or are too long are not trusted.
    for (const bad of ['has space', 'x'.repeat(129), 'quote"inside', 'semi;colon', 'slash/path']) {
      const res = await s.request.get('/healthz').set('X-Request-Id', bad);
      const id = res.headers['x-request-id']!;
      t.not(id, bad);
      // A new id: the well-formed shape, from this process's own sequence (src/http/access-log.ts).
      t.regex(id, /^[A-Za-z0-9_-]{12}-[0-9a-z]+$/);
      t.true(requestLines().some((l) => l.req_id === id));
    }
    // Without one, each request gets its own.
    const a = (await s.request.get('/healthz')).headers['x-request-id'];
    const b = (await s.request.get('/healthz')).headers['x-request-id'];
    t.not(a, b);

    // Error answers carry the id too, and their log line names the status.
    const failed = await s.request.post('/introspect').set('Authorization', basic(clientId, 'wrong')).set('X-Request-Id', 'req-401').type('form').send({ token });
    t.is(failed.status, 401);
    t.is(failed.headers['x-request-id'], 'req-401');
    t.like(requestLines().find((l) => l.req_id === 'req-401'), { status: 401, route: '/introspect' });
  } finally {
    await s.close();
  }
});

test('LOG_REQUESTS=errors keeps only the lines of failed requests, none keeps none; audit events stay', async (t) => {
  for (const policy of ['errors', 'none'] as const) {
    const { logger, lines } = captureLogs();
    const s = await startTestServer(new MemoryStore({ logger: silentLogger() }), { env: { LOG_REQUESTS: policy }, logger });
    try {
      const { auth, clientId } = await standardSetup(s);
      // RFC 7009 §2.1: issued to the client, which revokes it below.
      const { auth_token: token } = await s.admin.issueToken({ customer_id: 'c1', site_id: 'site-a', client_id: clientId });
      t.is((await s.request.post('/introspect').set('Authorization', auth).type('form').send({ token })).status, 200);
      t.is((await s.request.get('/healthz')).status, 200);
      t.is((await s.request.post('/introspect').set('Authorization', basic(clientId, 'wrong')).type('form').send({ token })).status, 401);
      t.is((await s.request.post('/revoke').set('Authorization', auth).type('form').send({ token })).status, 200);
      const requests = lines.filter((l) => l.msg === 'request');
      if (policy === 'errors') {
        t.deepEqual(requests.map((l) => [l.route, l.status]), [['/introspect', 401]], policy);
      } else {
        t.deepEqual(requests, [], policy);
      }
      t.true(lines.some((l) => l.event === 'token.revoked'), `${policy}: audit events are still written`);
    } finally {
      await s.close();
    }
  }
});
