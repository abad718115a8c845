import test from 'ava';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { openChangeFeed } from '../../src/cache/change-feed.js';
import type { Invalidation } from '../../src/cache/invalidation.js';
import { relayInvalidations, workerBus } from '../../src/cache/cluster-bus.js';
import { fakeCluster } from '../helpers/cluster.js';
import { captureLogs } from '../helpers/logs.js';
import { ExpiringLru } from '../../src/lib/lru.js';
import { relayToWorkers } from '../../src/cache/invalidation.js';
import { CachedStore } from '../../src/cache/store.js';
import { EventBus } from '../../src/core/events.js';
import { FixedClock, systemClock } from '../../src/core/clock.js';
import { MemoryStore } from '../../src/store/memory.js';
import { makeMongoTestStore, mongoTest, mongoTestUri } from '../helpers/mongo.js';
import { makeClient, makeCustomer, makeGrant, makeOpaqueGrant, storeContract } from './contract.js';

const cached = (inner: MemoryStore | Awaited<ReturnType<typeof makeMongoTestStore>>['store'], clock = systemClock) =>
  new CachedStore(inner, { ttlSeconds: 5, maxEntries: 1000, clock });

// The cached store is a Store like any other: it passes the same contract, on both adapters.
storeContract('cached memory', async () => {
  const store = cached(new MemoryStore());
  await store.init();
  return { store, cleanup: () => store.close() };
});
storeContract(
  'cached mongodb',
  async () => {
    const { store: inner, cleanup } = await makeMongoTestStore();
    return { store: cached(inner), cleanup };
  },
  mongoTest(),
);

/** A store behind a cache, and a clock that moves only when told. */
async function setup() {
  const clock = new FixedClock(Date.now());
  const inner = new MemoryStore();
  const store = new CachedStore(inner, { ttlSeconds: 5, maxEntries: 1000, clock });
  return { clock, inner, store };
}

test('lru: evicts the least recently used entry and never returns an expired one', (t) => {
  const lru = new ExpiringLru<string, number>(2);
  lru.set('a', 1, 1000);
  lru.set('b', 2, 1000);
  t.is(lru.get('a', 0), 1); // a is now the most recent
  lru.set('c', 3, 1000);
  t.is(lru.get('b', 0), undefined);
  t.is(lru.get('a', 0), 1);
  t.is(lru.get('c', 999), 3);
  t.is(lru.get('c', 1000), undefined, 'expired at its expiry time');
  t.is(lru.size, 1);
});

test('cached: a second read is served from the cache, not the store', async (t) => {
  const { inner, store } = await setup();
  const grant = makeGrant();
  await inner.grants.insert(grant);
  let reads = 0;
  const findById = inner.grants.findById.bind(inner.grants);
  inner.grants.findById = async (id) => {
    reads += 1;
    return findById(id);
  };
  t.deepEqual(await store.grants.findById(grant.id), grant);
  t.deepEqual(await store.grants.findById(grant.id), grant);
  t.is(reads, 1);
});

test('cached: revoke through the cache is seen at once, by id and by token hash', async (t) => {
  const { store } = await setup();
  const grant = makeOpaqueGrant();
  await store.grants.insert(grant);
  t.is((await store.grants.findById(grant.id))?.revokedAt, null);
  t.is((await store.grants.findByTokenHash(grant.tokenHash!))?.revokedAt, null);
  const at = new Date();
  t.true(await store.grants.revoke(grant.id, at));
  t.deepEqual((await store.grants.findById(grant.id))?.revokedAt, at);
  t.deepEqual((await store.grants.findByTokenHash(grant.tokenHash!))?.revokedAt, at);
});

test('cached: revokeByCustomer and customer upsert through the cache are seen at once', async (t) => {
  const { store } = await setup();
  const customer = makeCustomer();
  const grants = [makeGrant({ customerId: customer.id }), makeOpaqueGrant({ customerId: customer.id })];
  await store.customers.upsert(customer);
  for (const g of grants) await store.grants.insert(g);
  for (const g of grants) t.is((await store.grants.findById(g.id))?.revokedAt, null);
  t.is((await store.customers.findById(customer.id))?.status, 'active');

  t.is(await store.grants.revokeByCustomer(customer.id, new Date()), 2);
  for (const g of grants) t.not((await store.grants.findById(g.id))?.revokedAt, null);
  await store.customers.upsert({ ...customer, status: 'disabled' });
  t.is((await store.customers.findById(customer.id))?.status, 'disabled');
});

test('cached: a write made elsewhere is seen once the staleness bound has passed, not before', async (t) => {
  const { clock, inner, store } = await setup();
  const grant = makeGrant();
  const customer = makeCustomer();
  const client = makeClient();
  await inner.grants.insert(grant);
  await inner.customers.upsert(customer);
  await inner.clients.insert(client);
  await store.grants.findById(grant.id);
  await store.customers.findById(customer.id);
  await store.clients.findById(client.id);

  // Another process writes the database directly.
  await inner.grants.revoke(grant.id, new Date());
  await inner.customers.upsert({ ...customer, status: 'disabled' });
  clock.advance(4.9);
  t.is((await store.grants.findById(grant.id))?.revokedAt, null, 'within the bound the cached record may be served');
  t.is((await store.customers.findById(customer.id))?.status, 'active');
  clock.advance(0.1);
  t.not((await store.grants.findById(grant.id))?.revokedAt, null);
  t.is((await store.customers.findById(customer.id))?.status, 'disabled');
});

test('cached: a grant is never cached past its expiry', async (t) => {
  const { clock, inner, store } = await setup();
  const grant = makeGrant({ expiresAt: new Date(clock.now().getTime() + 2000) });
  await inner.grants.insert(grant);
  await store.grants.findById(grant.id);
  clock.advance(2);
  await inner.grants.deleteExpired(new Date(clock.now().getTime() + 1));
  t.is(await store.grants.findById(grant.id), null, 'read again from the store once expired');
});

test('cached: absent records are not cached', async (t) => {
  const { inner, store } = await setup();
  const grant = makeGrant();
  t.is(await store.grants.findById(grant.id), null);
  await inner.grants.insert(grant);
  t.deepEqual(await store.grants.findById(grant.id), grant);
});

test('cached: a read that raced an invalidation does not fill the cache with the old record', async (t) => {
  const { inner, store } = await setup();
  const grant = makeGrant();
  await inner.grants.insert(grant);
  const findById = inner.grants.findById.bind(inner.grants);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  inner.grants.findById = async (id) => {
    const old = await findById(id);
    await gate; // the old record is in hand when the revocation lands
    return old;
  };
  const slowRead = store.grants.findById(grant.id);
  await store.grants.revoke(grant.id, new Date());
  release();
  t.is((await slowRead)?.revokedAt, null);
  inner.grants.findById = findById;
  t.not((await store.grants.findById(grant.id))?.revokedAt, null);
});

test('cached: returned records are copies of the cached ones', async (t) => {
  const { store } = await setup();
  const client = makeClient({ siteIds: ['a'] });
  await store.clients.insert(client);
  const first = await store.clients.findById(client.id);
  first!.siteIds!.push('b');
  t.deepEqual((await store.clients.findById(client.id))?.siteIds, ['a']);
});

test('cluster: a revocation in one worker is applied by the others before it returns', async (t) => {
  const [procA, procB] = fakeCluster(2, [relayInvalidations]);
  const shared = new MemoryStore(); // stands for the one MongoDB both workers use
  const busA = workerBus({ proc: procA });
  const a = new CachedStore(shared, { ttlSeconds: 60, maxEntries: 100, clock: systemClock, bus: busA });
  const b = new CachedStore(shared, { ttlSeconds: 60, maxEntries: 100, clock: systemClock, bus: workerBus({ proc: procB }) });
  // Worker A's event bus, as the server wires it: the relay is its subscriber.
  const events = new EventBus();
  events.subscribe(relayToWorkers(busA));
  const customer = makeCustomer();
  const grant = makeGrant({ customerId: customer.id });
  await a.grants.insert(grant);
  await a.customers.upsert(customer);
  t.is((await b.grants.findById(grant.id))?.revokedAt, null);
  t.is((await b.customers.findById(customer.id))?.status, 'active');

  await a.grants.revoke(grant.id, new Date());
  await events.publish({ type: 'token.revoked', grantId: grant.id, via: 'admin' });
  t.not((await b.grants.findById(grant.id))?.revokedAt, null, 'worker B forgot the grant');
  await a.customers.upsert({ ...customer, status: 'disabled' });
  await events.publish({ type: 'customer.upserted', customerId: customer.id, status: 'disabled', via: 'admin' });
  t.is((await b.customers.findById(customer.id))?.status, 'disabled', 'worker B forgot the customer');
});

test('cluster: publish does not hang when no worker answers', async (t) => {
  const proc = Object.assign(new EventEmitter(), { send: () => true }) as unknown as NodeJS.Process;
  const bus = workerBus({ proc, timeoutMs: 50 });
  const started = Date.now();
  await bus.publish({ kind: 'grant', id: 'g1' });
  const waited = Date.now() - started;
  t.true(waited >= 40, `settled after ${waited} ms, before the timeout`);
  t.true(waited < 1000, `settled after ${waited} ms`);
});

/**
 * Publishes one invalidation in a fresh process that holds nothing else open:
 * no store connection, no server, no other test whose handles would keep the
 * event loop running. The child reports, in ms after it began, when the
 * publish settled (null if never) and when the process exited.
 */
async function publishAlone(options: { primaryAnswers: boolean; timeoutMs: number }) {
  const script = `
    import { EventEmitter } from 'node:events';
    import { writeSync } from 'node:fs';
    import { relayInvalidations, workerBus } from ${JSON.stringify(new URL('../../src/cache/cluster-bus.ts', import.meta.url).href)};
    import { fakeCluster } from ${JSON.stringify(new URL('../helpers/cluster.ts', import.meta.url).href)};
    const proc = ${options.primaryAnswers} ? fakeCluster(1, [relayInvalidations])[0] : Object.assign(new EventEmitter(), { send: () => true });
    const began = Date.now();
    let published = null;
    process.on('exit', () => writeSync(1, JSON.stringify({ published, exited: Date.now() - began }) + '\\n'));
    workerBus({ proc, timeoutMs: ${options.timeoutMs} }).publish({ kind: 'grant', id: 'g1' }).then(() => { published = Date.now() - began; });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (err += String(chunk)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const report = JSON.parse(out.trim().split('\n').pop() || '{}') as { published?: number | null; exited?: number };
  return { code, err, published: report.published ?? null, exited: report.exited };
}

// A revocation request waits for this publish before it is answered: with
// nothing else alive, a timer that does not hold the event loop would leave
// that request (and the test above, when run alone) waiting for ever.
test('cluster: a publish nobody answers settles at its timeout even when nothing else keeps the process running', async (t) => {
  const { code, err, published } = await publishAlone({ primaryAnswers: false, timeoutMs: 50 });
  t.is(code, 0, err);
  t.not(published, null, 'the process exited with the publish still pending');
  t.true(published! >= 40, `settled after ${published} ms, before the timeout`);
});

test('cluster: an answered publish leaves no timer behind to hold the process', async (t) => {
  const { code, err, published, exited } = await publishAlone({ primaryAnswers: true, timeoutMs: 10_000 });
  t.is(code, 0, err);
  t.not(published, null);
  t.true(exited! < 5000, `the process exited ${exited} ms after publishing began (timeout 10000 ms)`);
});

test('cached: concurrent misses of one record share a single store read, and each caller gets its own copy', async (t) => {
  const { inner, store } = await setup();
  const grant = makeOpaqueGrant();
  await inner.grants.insert(grant);
  let reads = 0;
  const findByTokenHash = inner.grants.findByTokenHash.bind(inner.grants);
  inner.grants.findByTokenHash = async (hash) => {
    reads += 1;
    return findByTokenHash(hash);
  };
  const found = await Promise.all(Array.from({ length: 20 }, () => store.grants.findByTokenHash(grant.tokenHash!)));
  t.is(reads, 1);
  for (const g of found) t.deepEqual(g, grant);
  t.not(found[0], found[1]);
});

test('cached: every lookup is reported as a hit or a miss', async (t) => {
  const inner = new MemoryStore();
  const seen: string[] = [];
  const store = new CachedStore(inner, { ttlSeconds: 5, maxEntries: 10, clock: systemClock, onLookup: (cache, hit) => seen.push(`${cache}:${hit ? 'hit' : 'miss'}`) });
  const customer = makeCustomer();
  await inner.customers.upsert(customer);
  await store.customers.findById(customer.id);
  await store.customers.findById(customer.id);
  await store.grants.findById('missing');
  t.deepEqual(seen, ['customers:miss', 'customers:hit', 'grants:miss']);
});

mongoTest()('change feed: used where the server has change streams, otherwise one line says the staleness bound applies', async (t) => {
  const { logger, lines } = captureLogs();
  const { store, dbName, cleanup } = await makeMongoTestStore();
  t.teardown(cleanup);
  const events: Invalidation[] = [];
  const feed = await openChangeFeed({ uri: mongoTestUri()!, dbName, logger, ttlSeconds: 5, onInvalidation: (e) => events.push(e) });
  t.teardown(() => feed.close());
  if (!feed.active) {
    const warned = lines.filter((l) => l.level === 'warn');
    t.is(warned.length, 1);
    t.regex(String(warned[0]!.msg), /change streams are unavailable on this server.*staleness bound \(5 s\)/);
    return;
  }
  // A replica set: a direct write is reported as an invalidation of that grant.
  const grant = makeGrant();
  await store.grants.insert(grant);
  await store.grants.revoke(grant.id, new Date());
  const deadline = Date.now() + 5000;
  while (!events.some((e) => e.kind === 'grant' && e.id === grant.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(events.some((e) => e.kind === 'grant' && e.id === grant.id));
});

test('cached: a peek answers only what the cache holds, counts a hit, and forgets a record when it changes', async (t) => {
  const { inner, clock } = await setup();
  const lookups: string[] = [];
  const store = new CachedStore(inner, { ttlSeconds: 5, maxEntries: 1000, clock, onLookup: (cache, hit) => lookups.push(`${cache}:${hit}`) });
  const grant = makeGrant({ expiresAt: new Date(clock.now().getTime() + 600_000) });
  await inner.grants.insert(grant);
  t.is(store.grants.peekById!(grant.id), undefined, 'not read yet: the cache cannot tell');
  t.deepEqual(lookups, [], 'a peek that cannot answer counts nothing: the find after it does');
  await store.grants.findById(grant.id);
  t.deepEqual(store.grants.peekById!(grant.id), grant);
  t.deepEqual(lookups, ['grants:false', 'grants:true']);
  await store.grants.revoke(grant.id, clock.now());
  t.is(store.grants.peekById!(grant.id), undefined, 'a write through the cache drops the record');
  clock.advance(1);
  await store.grants.findById(grant.id);
  t.not(store.grants.peekById!(grant.id)?.revokedAt, null);
  clock.advance(6);
  t.is(store.grants.peekById!(grant.id), undefined, 'past the staleness bound');
});
