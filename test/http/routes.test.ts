import test from 'ava';
import { ROUTE_TABLE } from '../../src/http/route-table.js';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/log.js';
import { startTestServer } from '../helpers/app.js';

/**
 * The route table (src/http/route-table.ts) is what the dispatcher, the
 * metrics and the access log read; these tests hold the routers to it.
 */

const entry = (e: { method: string; path: string }) => `${e.method} ${e.path}`;

test('with ADMIN_TOKEN set, the app serves exactly the routes of the table', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  t.teardown(s.close);
  t.deepEqual(s.routes().sort(), ROUTE_TABLE.map(entry).sort());
});

test('without ADMIN_TOKEN, the admin routes of the table are not served, and answer 404', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }), { env: { ADMIN_TOKEN: undefined } });
  t.teardown(s.close);
  t.deepEqual(s.routes().sort(), ROUTE_TABLE.filter((e) => e.when !== 'admin_token').map(entry).sort());
  const res = await s.request.get('/admin/clients').set('Authorization', 'Bearer anything');
  t.is(res.status, 404);
});

test('every route of the table reaches a route: never the "no such endpoint" answer', async (t) => {
  const s = await startTestServer(new MemoryStore({ logger: silentLogger() }));
  t.teardown(s.close);
  for (const e of ROUTE_TABLE) {
    // A parameter gets a value the route knows (the docs page's own script), or any id.
    const path = e.path.replace(':name', 'init.js').replace(/:[a-z]+/g, 'x1');
    const res = await s.request[e.method.toLowerCase() as 'get' | 'post' | 'put'](path).set('Content-Type', 'application/json').send('{}');
    t.not((res.body as { error_description?: string })?.error_description, 'no such endpoint', `${e.method} ${path}`);
    t.truthy(res.headers['x-request-id'], `${e.method} ${path} has a request id`);
  }
});
