/**
 * Property and fuzz tests over every endpoint, in-process on the embedded
 * store. Invariants, whatever the input:
 *   - never a 5xx, and the server keeps answering;
 *   - every answer is JSON (an RFC 7009 revocation 200 is empty) with
 *     Cache-Control: no-store;
 *   - `active: true` / `valid: true` only for a genuinely issued, unexpired,
 *     unrevoked token of an active customer (decided from the store here,
 *     independently of the server's code path).
 *
 * FUZZ_SEED=<n> replays a run (default: a fixed seed; FUZZ_SEED=random for a
 * new one each time); FUZZ_RUNS=<factor> scales the number of cases.
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { generateKeyPair, SignJWT, exportJWK, base64url } from 'jose';
import type { Response } from 'supertest';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/log.js';
import { ADMIN_TOKEN, basic, startTestServer, type TestServer } from '../helpers/app.js';
import { KEY_SET_MAX_AGE_SECONDS } from '../../src/keys/keystore.js';

const LEGACY_SECRET = 'legacy-hs256-secret-of-the-fuzzed-server-0123456789';
const seed = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261122);
const factor = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * factor));

interface Genuine {
  token: string;
  jti: string;
  customerId: string;
}

interface World {
  s: TestServer;
  auth: string;
  postClient: { id: string; secret: string };
  genuine: Genuine[];
  /** A genuine, active JWT and opaque token that no property revokes. */
  active: string[];
  forged: string[];
  close: () => Promise<void>;
}

async function world(): Promise<World> {
  const store = new MemoryStore({ logger: silentLogger() });
  await store.init();
  const s = await startTestServer(store, {
    env: { LEGACY_HS256_SECRET: LEGACY_SECRET, RATE_LIMIT_AUTH_FAILURES: '0', RATE_LIMIT_CLIENT_REQUESTS: '0' },
  });
  const client = await s.admin.createClient();
  const post = await s.admin.createClient({ token_endpoint_auth_method: 'client_secret_post' });
  await s.admin.upsertCustomer('c1');
  await s.admin.upsertCustomer('c2');
  const genuine: Genuine[] = [];
  const issue = async (body: Record<string, unknown>) => {
    const r = await s.admin.issueToken(body);
    genuine.push({ token: r.auth_token, jti: r.jti, customerId: String(body.customer_id) });
    return r;
  };
  const jwt = await issue({ customer_id: 'c1', site_id: 'site-a' });
  const opaque = await issue({ customer_id: 'c1', format: 'opaque' });
  await issue({ customer_id: 'c1', site_id: 'site-b', expires_in: 1 });
  const revoked = await issue({ customer_id: 'c1' });
  const revokedOpaque = await issue({ customer_id: 'c1', format: 'opaque' });
  await issue({ customer_id: 'c2' });
  await issue({ customer_id: 'c2', format: 'opaque' });
  await store.grants.revoke(revoked.jti, s.clock.now());
  await store.grants.revoke(revokedOpaque.jti, s.clock.now());
  await s.admin.upsertCustomer('c2', { status: 'disabled' });
  s.clock.advance(2); // the 1-second token has expired now

  const [header, payload] = jwt.auth_token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  const attacker = await generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await exportJWK(attacker.publicKey);
  const publicJwk = s.keys.publicJwks().keys[0];
  const sign = (h: Record<string, unknown>, key: CryptoKey | Uint8Array, c: Record<string, unknown> = claims) =>
    new SignJWT(c).setProtectedHeader(h as { alg: string }).sign(key);
  const forged = [
    `${enc({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
    `${enc({ alg: 'none', kid, typ: 'at+jwt' })}.${payload}.`,
    `${enc({ alg: 'HS256', kid, typ: 'at+jwt' })}.${payload}.${jwt.auth_token.split('.')[2]}`,
    `${enc({ alg: 'ES256', kid: 'unknown-kid', typ: 'at+jwt' })}.${payload}.${jwt.auth_token.split('.')[2]}`,
    `${enc({ alg: 'ES256', kid: '../../etc/passwd', typ: 'at+jwt' })}.${payload}.${jwt.auth_token.split('.')[2]}`,
    `${enc({ alg: 'ES256', kid, typ: 'at+jwt', crit: ['exp'] })}.${payload}.${jwt.auth_token.split('.')[2]}`,
    `${header}.${enc({ ...claims, sub: 'c2' })}.${jwt.auth_token.split('.')[2]}`,
    `${header}.${enc({ ...claims, exp: Number(claims.exp) + 86_400 })}.${jwt.auth_token.split('.')[2]}`,
    // Signed, but not by this server: a random HS256 secret, the public key as an HMAC secret, an attacker's key.
    await sign({ alg: 'HS256', typ: 'at+jwt' }, new TextEncoder().encode('a-guessed-secret-0123456789abcdef')),
    await sign({ alg: 'HS256', kid, typ: 'at+jwt' }, new TextEncoder().encode(JSON.stringify(publicJwk))),
    await sign({ alg: 'ES256', kid, typ: 'at+jwt' }, attacker.privateKey),
    await sign({ alg: 'ES256', typ: 'at+jwt', jwk: attackerJwk }, attacker.privateKey),
    await sign({ alg: 'ES256', typ: 'at+jwt', jku: 'http://127.0.0.1:1/jwks.json' }, attacker.privateKey),
  ];
  return {
    s,
    auth: basic(client.client_id, client.client_secret),
    postClient: { id: post.client_id, secret: post.client_secret },
    genuine,
    active: [jwt.auth_token, opaque.auth_token],
    forged,
    close: async () => {
      await s.close();
      await store.close();
    },
  };
}

// ---- the oracle ----

const B64URL = /^[A-Za-z0-9_-]*$/;

/** The genuine token a candidate encodes, allowing only non-canonical base64url trailing bits. */
function genuineFor(w: World, candidate: string): Genuine | undefined {
  const exact = w.genuine.find((g) => g.token === candidate);
  if (exact) return exact;
  const segments = candidate.split('.');
  if (segments.length !== 3 || !segments.every((seg) => B64URL.test(seg) && seg.length % 4 !== 1)) return undefined;
  const canonical = segments.map((seg) => Buffer.from(seg, 'base64url').toString('base64url')).join('.');
  return w.genuine.find((g) => g.token === canonical);
}

/** Whether the store says the token's grant and customer make it active now. */
async function activeInStore(w: World, g: Genuine): Promise<boolean> {
  const grant = await w.s.store.grants.findById(g.jti);
  const customer = await w.s.store.customers.findById(g.customerId);
  const now = w.s.clock.now().getTime();
  return !!grant && grant.revokedAt === null && grant.expiresAt.getTime() > now && customer?.status === 'active';
}

interface Tally {
  cases: number;
  statuses: Record<string, number>;
  activeAnswers: number;
  equivalentEncodings: number;
}

const tally = (): Tally => ({ cases: 0, statuses: {}, activeAnswers: 0, equivalentEncodings: 0 });

function checkCommon(t: ExecutionContext, res: Response, tl: Tally, what: string): void {
  tl.cases += 1;
  tl.statuses[res.status] = (tl.statuses[res.status] ?? 0) + 1;
  if (res.status >= 500) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 200)}`);
  // Only the public key set and the metadata may be cached, and only a 200 of them (meta.ts).
  const cacheable = res.status === 200 && /^(get|GET|HEAD) (\/jwks\.json|\/\.well-known\/oauth-authorization-server)$/.test(what);
  const expected = cacheable ? `public, max-age=${KEY_SET_MAX_AGE_SECONDS}` : 'no-store';
  if (res.headers['cache-control'] !== expected) throw new Error(`${what}: Cache-Control ${res.headers['cache-control']}`);
  const emptyRevocation = res.status === 200 && res.text === '';
  if (!emptyRevocation && !/json/.test(res.headers['content-type'] ?? '')) throw new Error(`${what}: content type ${res.headers['content-type']}`);
  void t;
}

/** Safety: active only when the oracle agrees. Liveness: an exactly genuine, valid token is active. */
async function checkVerdict(w: World, candidate: string, answeredActive: boolean, tl: Tally): Promise<void> {
  const g = genuineFor(w, candidate);
  const shouldBe = g !== undefined && (await activeInStore(w, g));
  if (answeredActive) {
    tl.activeAnswers += 1;
    if (!shouldBe) throw new Error(`active answer for a token that is not genuine and valid: ${JSON.stringify(candidate.slice(0, 80))}`);
    if (g && g.token !== candidate) tl.equivalentEncodings += 1;
  } else if (shouldBe && g!.token === candidate) {
    throw new Error('a genuine, valid token was answered inactive');
  }
}

// ---- generators ----

const b64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));

function flipBit(segment: string, index: number, bit: number): string {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.length === 0) return segment;
  bytes[index % bytes.length]! ^= 1 << bit;
  return bytes.toString('base64url');
}

function tokenArb(w: World): fc.Arbitrary<string> {
  const genuine = fc.constantFrom(...w.genuine.map((g) => g.token));
  const jwts = fc.constantFrom(...w.genuine.map((g) => g.token).filter((tk) => tk.includes('.')));
  const opaques = fc.constantFrom(...w.genuine.map((g) => g.token).filter((tk) => tk.startsWith('olt_')));
  return fc.oneof(
    { arbitrary: genuine, weight: 2 },
    { arbitrary: fc.constantFrom(...w.forged), weight: 3 },
    // A bit flipped in each segment's bytes, re-encoded canonically.
    {
      arbitrary: fc.tuple(jwts, fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 0, max: 7 })).map(([tk, seg, i, bit]) => {
        const parts = tk.split('.');
        parts[seg] = flipBit(parts[seg]!, i, bit);
        return parts.join('.');
      }),
      weight: 4,
    },
    // One character replaced (may only touch the unused trailing bits: an equivalent encoding).
    {
      arbitrary: fc.tuple(fc.oneof(jwts, opaques), fc.nat(), b64Char).map(([tk, i, c]) => {
        const at = i % tk.length;
        return tk.slice(0, at) + c + tk.slice(at + 1);
      }),
      weight: 3,
    },
    // Segments swapped, dropped, repeated; truncations and extensions.
    {
      arbitrary: fc.tuple(jwts, fc.constantFrom([1, 0, 2], [0, 2, 1], [2, 1, 0], [0, 1], [0, 0, 2], [0, 1, 2, 2])).map(([tk, order]) => {
        const parts = tk.split('.');
        return order.map((i) => parts[i]).join('.');
      }),
      weight: 2,
    },
    { arbitrary: fc.tuple(genuine, fc.nat()).map(([tk, n]) => tk.slice(0, n % tk.length)), weight: 2 },
    { arbitrary: fc.tuple(genuine, fc.string({ maxLength: 8 })).map(([tk, extra]) => tk + extra), weight: 1 },
    { arbitrary: fc.string({ unit: b64Char, minLength: 43, maxLength: 43 }).map((x) => `olt_${x}`), weight: 1 },
    // Random strings of every kind: ASCII, full Unicode, control characters, huge.
    { arbitrary: fc.string({ maxLength: 200 }), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 2 },
    { arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), maxLength: 50 }), weight: 1 },
    { arbitrary: fc.tuple(fc.integer({ min: 4090, max: 12_000 }), fc.constantFrom('a', 'é', '.', '\u0000')).map(([n, c]) => c.repeat(n)), weight: 1 },
    { arbitrary: fc.tuple(fc.string({ unit: b64Char, maxLength: 60 }), fc.string({ unit: b64Char, maxLength: 60 }), fc.string({ unit: b64Char, maxLength: 90 })).map((p) => p.join('.')), weight: 2 },
  );
}

/** Header values Node will send (no control characters). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 120 });

function authorizationArb(w: World): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(w.auth), weight: 6 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: headerText, weight: 1 },
    { arbitrary: fc.base64String({ maxLength: 80 }).map((b) => `Basic ${b}`), weight: 1 },
    { arbitrary: fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })).map(([id, sec]) => basic(id, sec)), weight: 1 },
    { arbitrary: headerText.map((b) => `Bearer ${b}`), weight: 1 },
  );
}

const contentTypeArb = fc.oneof(
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/json',
    'application/json; charset=latin1',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/jwt',
  ),
  headerText,
);

const paramName = fc.oneof(fc.constantFrom('token', 'token_type_hint', 'client_id', 'client_secret', 'auth_token', '__proto__', 'constructor'), fc.string({ maxLength: 12 }));

function formBodyArb(w: World): fc.Arbitrary<string> {
  const pairs = fc.array(fc.tuple(paramName, fc.oneof(tokenArb(w), fc.string({ maxLength: 30 }))), { maxLength: 20 });
  return fc.oneof(
    pairs.map((ps) => new URLSearchParams(ps).toString()),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('%', '%zz=1', 'token=%E0%A4%A', '&&&=&', 'token', '='),
  );
}

const jsonShapeArb = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record(
    { auth_token: fc.jsonValue({ maxDepth: 2 }), client_id: fc.jsonValue({ maxDepth: 1 }), client_secret: fc.jsonValue({ maxDepth: 1 }) },
    { requiredKeys: [] },
  ),
  fc.constantFrom({ auth_token: { $ne: null } }, { auth_token: ['a', 'b'] }, { jti: { $gt: '' } }, { customer_id: { $ne: null } }),
);

function assertProperty<Ts extends [unknown, ...unknown[]]>(t: ExecutionContext, name: string, tl: Tally, property: fc.IAsyncPropertyWithHooks<Ts>, numRuns: number) {
  return fc.assert(property, { seed, numRuns, endOnFailure: true }).then(() => {
    t.log(`${name}: ${tl.cases} cases (seed ${seed}), statuses ${JSON.stringify(tl.statuses)}, active answers ${tl.activeAnswers}` +
      (tl.equivalentEncodings ? ` (${tl.equivalentEncodings} for the same token with different unused base64url bits)` : ''));
  });
}

/** The server still answers, and still recognises a good token. */
async function stillUp(t: ExecutionContext, w: World): Promise<void> {
  t.is((await w.s.request.get('/healthz')).status, 200);
  const res = await w.s.request.post('/introspect').set('Authorization', w.auth).type('form').send({ token: w.active[0] });
  t.true(res.body.active, 'a genuine token is still active after the run');
}

// ---- properties ----

test('introspection: malformed, mutated and forged tokens are never active; genuine valid ones are', async (t) => {
  const w = await world();
  t.teardown(w.close);
  const tl = tally();
  await assertProperty(t, 'POST /introspect', tl, fc.asyncProperty(tokenArb(w), fc.option(fc.constantFrom('access_token', 'refresh_token', 'x')), async (token, hint) => {
    const body = new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }).toString();
    const res = await w.s.request.post('/introspect').set('Authorization', w.auth).type('form').send(body);
    checkCommon(t, res, tl, 'introspect');
    // Empty token: 400; a body over BODY_LIMIT_BYTES: 413. Everything else gets a verdict.
    if (token === '' || (res.status === 413 && body.length > w.s.config.bodyLimitBytes)) return;
    if (res.status !== 200) throw new Error(`introspect: ${res.status} ${res.text.slice(0, 200)}`);
    await checkVerdict(w, token, res.body.active === true, tl);
    if (res.body.active !== true && !(typeof res.body.reason === 'string')) throw new Error('inactive without a reason');
  }), runs(600));
  t.true(tl.activeAnswers > 0, 'the run included genuine tokens');
  await stillUp(t, w);
});

test('validation: JSON of any shape never yields valid: true except for a genuine valid token', async (t) => {
  const w = await world();
  t.teardown(w.close);
  const tl = tally();
  const bodyArb = fc.oneof(
    { arbitrary: tokenArb(w).map((auth_token) => ({ auth_token }) as unknown), weight: 3 },
    { arbitrary: jsonShapeArb, weight: 2 },
  );
  await assertProperty(t, 'POST /api/v1/auth/token/validate', tl, fc.asyncProperty(bodyArb, fc.boolean(), async (body, viaPost) => {
    let req = w.s.request.post('/api/v1/auth/token/validate').set('Content-Type', 'application/json');
    let payload = body;
    if (viaPost && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      payload = { ...(body as object), client_id: w.postClient.id, client_secret: w.postClient.secret };
    } else req = req.set('Authorization', w.auth);
    const res = await req.send(JSON.stringify(payload));
    checkCommon(t, res, tl, 'validate');
    if (res.status === 200) {
      const candidate = (payload as { auth_token?: unknown }).auth_token;
      if (typeof candidate !== 'string') throw new Error(`200 for a non-string auth_token: ${JSON.stringify(payload).slice(0, 100)}`);
      await checkVerdict(w, candidate, res.body.valid === true, tl);
      if (JSON.stringify(res.body).includes(candidate) && candidate.length > 8) throw new Error('the answer echoes the token');
    }
  }), runs(500));
  t.true(tl.activeAnswers > 0, 'the run included genuine tokens');
  await stillUp(t, w);
});

test('revocation and raw requests: any method, path, headers, content type and body; never a 5xx', async (t) => {
  const w = await world();
  t.teardown(w.close);
  const tl = tally();
  const paths = fc.oneof(
    { arbitrary: fc.constantFrom('/introspect', '/revoke', '/api/v1/auth/token/validate', '/.well-known/oauth-authorization-server', '/jwks.json', '/healthz', '/readyz'), weight: 5 },
    { arbitrary: fc.webPath(), weight: 1 },
  );
  const query = fc.oneof(
    fc.constant(''),
    fc.constantFrom('?token=x', '?client_secret=x', '?client_id=someone', '?token_type_hint=a&foo=bar', '?a=1&a=2'),
    fc.webQueryParameters().map((q) => `?${q}`),
  );
  const requestArb = fc.record({
    method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    path: paths,
    query,
    authorization: authorizationArb(w),
    contentType: fc.option(contentTypeArb),
    body: fc.oneof(formBodyArb(w), jsonShapeArb.map((v) => JSON.stringify(v))),
  });
  await assertProperty(t, 'raw requests (incl. POST /revoke)', tl, fc.asyncProperty(requestArb, async (r) => {
    let req = w.s.request[r.method.toLowerCase() as 'post'](`${r.path}${r.query}`);
    if (r.authorization !== undefined) req = req.set('Authorization', r.authorization);
    if (r.contentType !== null) req = req.set('Content-Type', r.contentType);
    const res = await (r.method === 'GET' || r.method === 'HEAD' ? req : req.send(r.body));
    if (r.method === 'HEAD') {
      tl.cases += 1;
      if (res.status >= 500) throw new Error(`HEAD ${r.path}: ${res.status}`);
      return;
    }
    checkCommon(t, res, tl, `${r.method} ${r.path}`);
    if (res.status === 200 && r.path === '/introspect') {
      const token = new URLSearchParams(r.body).get('token') ?? '';
      await checkVerdict(w, token, res.body.active === true, tl);
    }
  }), runs(700));
  await stillUp(t, w);
});

test('admin API: random bodies and ids, with and without the admin token; public endpoints with random headers', async (t) => {
  const w = await world();
  t.teardown(w.close);
  const tl = tally();
  // Ids other than the oracle's customers, so the fuzzer does not legitimately disable them; fz-1 exists
  // (and may be disabled, re-enabled or logged out by the fuzzer), so issuing can succeed.
  await w.s.admin.upsertCustomer('fz-1');
  const id = fc
    .oneof(fc.constant('fz-1'), fc.string({ maxLength: 20 }), fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/))
    .filter((x) => !['c1', 'c2'].includes(x));
  const call = fc.oneof(
    fc.record({ method: fc.constant('post' as const), path: fc.constant('/admin/clients'), body: fc.oneof(jsonShapeArb, fc.record({ name: fc.jsonValue({ maxDepth: 1 }), token_endpoint_auth_method: fc.jsonValue({ maxDepth: 1 }), site_ids: fc.jsonValue({ maxDepth: 2 }), reason_codes: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })) }),
    fc.record({ method: fc.constant('put' as const), path: id.map((x) => `/admin/customers/${encodeURIComponent(x)}`), body: fc.oneof(jsonShapeArb, fc.record({ status: fc.jsonValue({ maxDepth: 1 }), email: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })) }),
    fc.record({
      method: fc.constant('post' as const),
      path: fc.constant('/admin/tokens'),
      body: fc.record(
        { customer_id: fc.constant('fz-1'), expires_in: fc.integer({ min: -5, max: 7200 }), format: fc.constantFrom('jwt', 'opaque', 'x'), site_id: fc.oneof(id, fc.constant(null)) },
        { requiredKeys: ['customer_id'] },
      ),
    }),
    fc.record({ method: fc.constant('post' as const), path: fc.constant('/admin/tokens'), body: fc.oneof(jsonShapeArb, fc.record({ customer_id: fc.oneof(id, fc.jsonValue({ maxDepth: 1 })), expires_in: fc.jsonValue({ maxDepth: 1 }), format: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })) }),
    fc.record({ method: fc.constant('post' as const), path: fc.constant('/admin/tokens/revoke'), body: fc.oneof(jsonShapeArb, fc.record({ jti: fc.jsonValue({ maxDepth: 1 }) })) }),
    fc.record({ method: fc.constant('post' as const), path: id.map((x) => `/admin/customers/${encodeURIComponent(x)}/revoke-tokens`), body: jsonShapeArb }),
    fc.record({ method: fc.constant('get' as const), path: fc.oneof(id.map((x) => `/admin/clients/${encodeURIComponent(x)}`), id.map((x) => `/admin/customers/${encodeURIComponent(x)}`), fc.constant('/admin/clients')), body: fc.constant(null) }),
    fc.record({ method: fc.constant('get' as const), path: fc.constantFrom('/.well-known/oauth-authorization-server', '/jwks.json', '/healthz', '/readyz'), body: fc.constant(null) }),
  );
  const adminAuth = fc.oneof(
    { arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`), weight: 3 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: headerText, weight: 1 },
    { arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN} `), weight: 1 },
    { arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN.slice(0, -1)}`), weight: 1 },
    { arbitrary: fc.constant(w.auth), weight: 1 },
  );
  let created = 0;
  await assertProperty(t, 'admin API and public endpoints', tl, fc.asyncProperty(call, adminAuth, async (c, authorization) => {
    let req = w.s.request[c.method](c.path);
    if (authorization !== undefined) req = req.set('Authorization', authorization);
    const res = await (c.method === 'get' ? req : req.set('Content-Type', 'application/json').send(JSON.stringify(c.body)));
    checkCommon(t, res, tl, `${c.method} ${c.path}`);
    const isAdmin = c.path.startsWith('/admin');
    const rightToken = authorization !== undefined && authorization.trim() === `Bearer ${ADMIN_TOKEN}`;
    if (isAdmin && !rightToken && res.status < 400) throw new Error(`admin call without the admin token answered ${res.status}`);
    if (!isAdmin && res.status !== 200) throw new Error(`${c.path}: ${res.status}`);
    if (res.status === 201 && c.path === '/admin/tokens') {
      created += 1;
      // A token the fuzzer legitimately issued is genuine: the oracle must learn it.
      w.genuine.push({ token: res.body.auth_token, jti: res.body.jti, customerId: String((c.body as { customer_id: string }).customer_id) });
    }
  }), runs(600));
  // The tokens the fuzzer issued answer exactly as the store says they should.
  const checked = tally();
  for (const g of created > 0 ? w.genuine.slice(-created) : []) {
    const res = await w.s.request.post('/introspect').set('Authorization', w.auth).type('form').send({ token: g.token });
    checkCommon(t, res, checked, 'introspect issued');
    await checkVerdict(w, g.token, res.body.active === true, checked);
  }
  t.log(`admin: ${created} tokens issued by the fuzzer, ${checked.activeAnswers} of them still active`);
  t.true(created > 0, 'the run issued tokens');
  await stillUp(t, w);
});
