/**
 * Abuse resistance of the HTTP surface: limits on bodies and parameters,
 * parameters from the body only, no repeated parameters, and nothing but
 * strings (or fixed-shape records) ever reaching a store query.
 */
import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { ADMIN_TOKEN, apiTest, standardSetup, startTestServer } from '../helpers/app.js';

// ---- limits and parameter rules (both stores) ----

apiTest('a body over BODY_LIMIT_BYTES is 413 on every endpoint that reads a body', async (t, s) => {
  const { auth, clientId, secret } = await standardSetup(s);
  const big = 'x'.repeat(s.config.bodyLimitBytes + 1);
  const form = await s.request.post('/introspect').set('Authorization', auth).type('form').send(`token=${big}`);
  t.is(form.status, 413);
  t.is(form.body.error, 'invalid_request');
  t.is((await s.request.post('/revoke').type('form').send({ token: big, client_id: clientId, client_secret: secret })).status, 413);
  t.is((await s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: big })).status, 413);
  t.is((await s.request.post('/admin/tokens/revoke').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ auth_token: big })).status, 413);
});

apiTest('more than 16 parameters, or a repeated one, is 400 before any credential is checked', async (t, s) => {
  const { auth, token, clientId, secret } = await standardSetup(s);
  const many = Array.from({ length: 17 }, (_, i) => `p${i}=1`).join('&');
  const tooMany = await s.request.post('/introspect').set('Authorization', auth).type('form').send(`token=${token}&${many}`);
  t.is(tooMany.status, 400);
  t.is(tooMany.body.error_description, 'too many parameters');
  for (const body of [`token=${token}&token=${token}`, `token=${token}&token_type_hint=a&token_type_hint=b`, `token=${token}&client_id=${clientId}&client_id=${clientId}&client_secret=${secret}`]) {
    const res = await s.request.post('/introspect').type('form').send(body);
    t.is(res.status, 400, body.slice(0, 40));
    t.regex(res.body.error_description, /is repeated$/);
  }
  t.is((await s.request.post('/revoke').set('Authorization', auth).type('form').send(`token=${token}&token=x`)).status, 400);
});

apiTest('only the body counts on POST: credentials and tokens in the URL are refused, other query parameters ignored', async (t, s) => {
  const a = await standardSetup(s);
  const other = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  for (const q of ['token=x', 'client_secret=x', 'auth_token=x']) {
    t.is((await s.request.post(`/introspect?${q}`).set('Authorization', a.auth).type('form').send({ token: a.token })).status, 400, q);
    t.is((await s.request.post(`/revoke?${q}`).set('Authorization', a.auth).type('form').send({ token: a.token })).status, 400, q);
    t.is((await s.request.post(`/api/v1/auth/token/validate?${q}`).set('Authorization', a.auth).send({ auth_token: a.token })).status, 400, q);
  }
  // A client_id in the URL neither switches the client nor conflicts with the Basic credentials.
  const res = await s.request
    .post(`/introspect?client_id=${other.client_id}&token_type_hint=refresh_token&site_id=elsewhere`)
    .set('Authorization', a.auth)
    .type('form')
    .send({ token: a.token });
  t.is(res.status, 200);
  t.true(res.body.active);
  // Nor can the URL supply what the body lacks: client_secret_post needs both in the body.
  const urlOnly = await s.request.post(`/introspect?client_id=${other.client_id}`).type('form').send({ token: a.token, client_secret: other.client_secret });
  t.is(urlOnly.status, 401);
  // And a token only in the URL of the validation endpoint is not read (refused above); without a body token it is 400.
  t.is((await s.request.post('/api/v1/auth/token/validate?foo=bar').set('Authorization', a.auth).send({})).status, 400);
});

// ---- nothing structured reaches the store ----

interface Call {
  method: string;
  args: unknown[];
}

/** Wraps every method of every sub-store and records its arguments. */
function recording(inner: Store): { store: Store; calls: Call[] } {
  const calls: Call[] = [];
  const wrap = <T extends object>(name: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push({ method: `${name}.${String(prop)}`, args });
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  const store = new Proxy(inner, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (prop === 'grants' || prop === 'customers' || prop === 'clients' || prop === 'replays') return wrap(prop, value as object);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
  return { store, calls };
}

/** Lookups take strings (and dates); writes take records of scalars, dates and string lists. Returns the problems. */
function argumentProblems(call: Call, arg: unknown, path: string): string[] {
  if (typeof arg === 'string' || arg instanceof Date || typeof arg === 'number' || typeof arg === 'boolean' || arg === null || arg === undefined) return [];
  if (!/\.(insert|upsert)$/.test(call.method)) return [`${call.method} received ${JSON.stringify(arg)} at ${path}`];
  if (Array.isArray(arg)) return arg.every((v) => typeof v === 'string') ? [] : [`${call.method}: non-string list at ${path}`];
  return Object.entries(arg as object).flatMap(([key, value]) => [
    ...(key.startsWith('$') ? [`${call.method}: operator ${key} at ${path}`] : []),
    // A client's registered JWK Set is checked by its own schema.
    ...(key === 'jwks' ? [] : argumentProblems(call, value, `${path}.${key}`)),
  ]);
}

const problemsOf = (calls: Call[]) => calls.flatMap((call) => call.args.flatMap((arg, i) => argumentProblems(call, arg, `${call.method}[${i}]`)));

test('the store recorder catches a structured argument (the check below can fail)', async (t) => {
  const inner = new MemoryStore({ logger: silentLogger() });
  const { store, calls } = recording(inner);
  await store.grants.findById({ $ne: null } as unknown as string);
  await store.customers.upsert({ id: 'c', status: 'active', email: { $gt: '' }, firstName: null, lastName: null, updatedAt: new Date() } as never);
  t.is(problemsOf(calls).length, 2);
});

test('operator objects and arrays posted to every JSON and form endpoint are refused, and the store only ever receives strings', async (t) => {
  const inner = new MemoryStore({ logger: silentLogger() });
  await inner.init();
  const { store, calls } = recording(inner);
  const s = await startTestServer(store);
  t.teardown(async () => {
    await s.close();
    await inner.close();
  });
  const { auth, clientId, token } = await standardSetup(s);
  const post = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  const A = `Bearer ${ADMIN_TOKEN}`;
  const operators: unknown[] = [{ $ne: null }, { $gt: '' }, { $regex: '.*' }, { $where: 'true' }, ['a', 'b'], 1, true, null];
  const statuses: number[] = [];
  for (const op of operators) {
    const results = await Promise.all([
      s.request.post('/api/v1/auth/token/validate').set('Authorization', auth).send({ auth_token: op }),
      s.request.post('/api/v1/auth/token/validate').send({ auth_token: token, client_id: op, client_secret: post.client_secret }),
      s.request.post('/api/v1/auth/token/validate').send({ auth_token: token, client_id: post.client_id, client_secret: op }),
      s.request.post('/admin/tokens/revoke').set('Authorization', A).send({ auth_token: op }),
      s.request.post('/admin/tokens/revoke').set('Authorization', A).send({ jti: op }),
      s.request.post('/admin/tokens').set('Authorization', A).send({ customer_id: op }),
      s.request.post('/admin/tokens').set('Authorization', A).send({ customer_id: 'c1', client_id: op, site_id: op }),
      s.request.post('/admin/clients').set('Authorization', A).send({ name: op }),
      s.request.post('/admin/clients').set('Authorization', A).send({ name: 'x', site_ids: [op] }),
      s.request.put('/admin/customers/c9').set('Authorization', A).send({ status: op, email: op }),
    ]);
    for (const r of results) {
      statuses.push(r.status);
      t.true(r.status === 400 || r.status === 401, `request ${results.indexOf(r)} with ${JSON.stringify(op)}: ${r.status} ${r.text}`);
    }
  }
  // Form bodies are flat strings: bracket syntax is just a name, never an object.
  for (const body of ['token[$ne]=x', 'token[]=a&token[]=b']) {
    const r = await s.request.post('/introspect').set('Authorization', auth).type('form').send(body);
    t.is(r.status, 400, body);
    t.regex(r.body.error_description, /^parameter (token is required|\(unnamed\) is repeated)$/);
  }
  const ignored = await s.request.post('/introspect').set('Authorization', auth).type('form').send(`token=${token}&client_id[$ne]=x`);
  t.true(ignored.body.active, 'an unknown parameter name is ignored, never parsed into an object');
  const r = await s.request.post('/introspect').type('form').send(`token=${token}&client_id[$gt]=&client_secret=x`);
  t.is(r.status, 401);
  // Ids in paths are strings by construction, and checked against the id pattern.
  t.is((await s.request.post('/admin/customers/%7B%22%24ne%22%3Anull%7D/revoke-tokens').set('Authorization', A)).status, 400);
  t.is((await s.request.get('/admin/clients/%24ne').set('Authorization', A)).status, 404);

  t.true(calls.length >= 5, `the store was called ${calls.length} times`);
  t.deepEqual(problemsOf(calls), []);
  // The client was read (by the embedded store's synchronous peek, or by find), with its id as a string.
  t.true(calls.some((c) => (c.method === 'clients.peekById' || c.method === 'clients.findById') && c.args[0] === clientId));
  t.log(`${statuses.length} hostile JSON requests, ${calls.length} store calls checked`);
});
