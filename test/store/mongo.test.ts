import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { MongoStore } from '../../src/store/mongo.js';
import { StoreUnavailableError } from '../../src/store/types.js';
import { captureLogs } from '../helpers/logs.js';
import { makeMongoTestStore, mongoRequired, mongoTestUri, probeMongo, withRawClient, type DeclareTest } from '../helpers/mongo.js';
import { eventually } from '../helpers/wait.js';
import { makeClient, makeCustomer, makeGrant, makeOpaqueGrant, storeContract } from './contract.js';

// Needs no server: a refused port must turn into StoreUnavailableError quickly, never a hang.
test('[mongodb] an unreachable server fails ping and reads with StoreUnavailableError within ~2 s', async (t) => {
  const store = new MongoStore({ uri: 'mongodb://127.0.0.1:1/', timeoutMs: 300, logger: silentLogger() });
  t.teardown(() => store.close());

  let started = Date.now();
  const pingError = await t.throwsAsync(store.ping(), { instanceOf: StoreUnavailableError });
  t.true(Date.now() - started < 2000, `ping took ${Date.now() - started} ms`);
  t.truthy(pingError?.cause, 'the driver error is kept as the cause');

  started = Date.now();
  await t.throwsAsync(store.grants.findById('jti_any'), { instanceOf: StoreUnavailableError });
  t.true(Date.now() - started < 2000, `findById took ${Date.now() - started} ms`);

  started = Date.now();
  await t.throwsAsync(store.init(), { instanceOf: StoreUnavailableError });
  t.true(Date.now() - started < 2000, `init took ${Date.now() - started} ms`);
});

const uri = mongoTestUri();

if (!uri && mongoRequired()) {
  test('[mongodb] store contract', (t) => {
    t.fail('MONGODB_TEST_URI is not set, but CI=true or REQUIRE_MONGO=1 requires the MongoDB suite to run');
  });
} else {
  if (!uri) {
    const banner = [
      '',
      '*****************************************************************',
      '* MONGO SUITE SKIPPED: set MONGODB_TEST_URI to run the store     *',
      '* contract against a MongoDB-wire server, e.g.                   *',
      '*   eval "$(bash .ci/ferretdb.sh start)"                         *',
      '*   npx ava test/store/                                          *',
      '* (CI=true or REQUIRE_MONGO=1 turns this skip into a failure.)   *',
      '*****************************************************************',
      '',
    ].join('\n');
    // Deliberately loud, on top of the skipped count: a silently skipped database suite looks like a passing one.
    // eslint-disable-next-line no-console
    console.warn(banner);
  }
  registerMongoSuite(uri);
}

function registerMongoSuite(uri: string | null): void {
  // Without a server every test below is declared with test.skip, so ava
  // counts each one as skipped under its own title.
  const mongoTest: DeclareTest = uri ? test : test.skip;
  if (uri) {
    // Tests must be declared synchronously, so reachability is checked in a hook;
    // when it fails, ava reports this message and runs none of the tests below.
    test.before('MongoDB test server answers', async () => {
      const problem = await probeMongo(uri);
      if (problem !== null) {
        throw new Error(`MONGODB_TEST_URI is set but the server does not answer: ${problem}`);
      }
    });
  }

  storeContract('mongodb', () => makeMongoTestStore(), mongoTest);
  // The whole contract again with lookups gathered into `$in` queries, whatever the server.
  storeContract('mongodb, batched lookups', () => makeMongoTestStore({ lookups: 'batched' }), mongoTest);

  async function isFerretDb(): Promise<boolean> {
    const info = await withRawClient((client) => client.db('admin').command({ buildInfo: 1 }));
    return typeof info.ferretdbVersion === 'string';
  }

  const captureLogger = () => captureLogs('debug');

  mongoTest('[mongodb] expiry and token hash uniqueness modes match the server', async (t) => {
    const { lines, logger } = captureLogger();
    const { store, cleanup } = await makeMongoTestStore({ logger });
    t.teardown(cleanup);
    if (await isFerretDb()) {
      t.is(store.expiryMode, 'sweeper');
      t.is(store.tokenHashUniqueness, 'app-check');
      t.true(lines.some((line) => /TTL indexes are unavailable on this server/.test(String(line.msg))));
    } else {
      t.is(store.expiryMode, 'ttl-index');
      t.is(store.tokenHashUniqueness, 'unique-index');
      t.true(lines.some((line) => /TTL index/.test(String(line.msg))));
    }
  });

  mongoTest('[mongodb] lookups are batched where the server answers $in from its indexes, one by one elsewhere, and the log says which', async (t) => {
    const { lines, logger } = captureLogger();
    const { store, cleanup } = await makeMongoTestStore({ logger });
    t.teardown(cleanup);
    const said = lines.find((line) => line.lookups !== undefined);
    if (await isFerretDb()) {
      t.is(store.lookups, 'single');
      t.is(said?.lookups, 'single');
      t.regex(String(said?.msg), /evaluates \$in without its indexes \(FerretDB\)/);
    } else {
      t.is(store.lookups, 'batched');
      t.is(said?.lookups, 'batched');
    }
  });

  mongoTest('[mongodb] batched lookups: lookups made together are one query per collection and field, each answered with its own record (grants, customers, clients)', async (t) => {
    const finds: Array<{ collection: string; filter: Record<string, unknown> }> = [];
    const batches: Array<[string, number]> = [];
    const { store, cleanup } = await makeMongoTestStore({
      lookups: 'batched',
      onLookupBatch: (operation, keys) => batches.push([operation, keys]),
      onCommandStarted: (event) => {
        if (event.commandName === 'find') finds.push({ collection: String(event.command.find), filter: event.command.filter as Record<string, unknown> });
      },
    });
    t.teardown(cleanup);
    t.is(store.lookups, 'batched');
    const grants = Array.from({ length: 8 }, (_, i) => makeGrant({ customerId: `cust_${i % 3}` }));
    const opaque = makeOpaqueGrant();
    for (const grant of [...grants, opaque]) await store.grants.insert(grant);
    for (let i = 0; i < 3; i++) await store.customers.upsert(makeCustomer({ id: `cust_${i}` }));
    const apiClients = [makeClient(), makeClient()];
    for (const client of apiClients) await store.clients.insert(client);
    finds.length = 0;
    batches.length = 0;

    // In one turn of the event loop: present, missing and repeated keys, three kinds of lookup.
    const ids = [...grants.map((g) => g.id), 'jti_missing', grants[0]!.id, opaque.id];
    const [byId, byHash, missingHash, customers, clients] = await Promise.all([
      Promise.all(ids.map((id) => store.grants.findById(id))),
      store.grants.findByTokenHash(opaque.tokenHash!),
      store.grants.findByTokenHash('no-such-hash'),
      Promise.all(['cust_0', 'cust_2', 'cust_missing', 'cust_1'].map((id) => store.customers.findById(id))),
      Promise.all([apiClients[1]!.id, 'cli_missing', apiClients[0]!.id, apiClients[1]!.id].map((id) => store.clients.findById(id))),
    ]);
    t.deepEqual(byId, [...grants, null, grants[0]!, opaque]);
    t.deepEqual(byHash, opaque);
    t.is(missingHash, null);
    t.deepEqual(customers.map((c) => c?.id ?? null), ['cust_0', 'cust_2', null, 'cust_1']);
    t.deepEqual(clients, [apiClients[1]!, null, apiClients[0]!, apiClients[1]!]);

    const grantById = finds.filter((f) => f.collection === 'grants' && '_id' in f.filter);
    const grantByHash = finds.filter((f) => f.collection === 'grants' && 'token_hash' in f.filter);
    const customerById = finds.filter((f) => f.collection === 'customers');
    t.is(finds.filter((f) => f.collection === 'clients').length, 1);
    t.is(grantById.length, 1, JSON.stringify(grantById));
    t.is(grantByHash.length, 1, JSON.stringify(grantByHash));
    t.is(customerById.length, 1, JSON.stringify(customerById));
    // Each key is asked for once, however often it was looked up.
    t.deepEqual(((grantById[0]!.filter._id as { $in: string[] }).$in).slice().sort(), [...new Set(ids)].sort());
    // The batch-size metric hears of each batch, with its distinct keys.
    t.deepEqual(batches.slice().sort(), [['clients.findById', 3], ['customers.findById', 4], ['grants.findById', 10], ['grants.findByTokenHash', 2]].sort());

    // Lookups in separate turns are separate queries, each still answered.
    finds.length = 0;
    t.deepEqual(await store.grants.findById(grants[1]!.id), grants[1]);
    t.deepEqual(await store.grants.findById(grants[2]!.id), grants[2]);
    t.is(finds.length, 2);
  });

  mongoTest('[mongodb] batched lookups: when the server is gone, every lookup of the batch fails with StoreUnavailableError', async (t) => {
    const { store, cleanup } = await makeMongoTestStore({ lookups: 'batched' });
    t.teardown(cleanup);
    const grant = makeGrant();
    await store.grants.insert(grant);
    // A closed client fails at once, whatever the timeouts.
    await store.close();
    const started = Date.now();
    const settled = await Promise.allSettled([grant.id, grant.id, 'jti_other', 'jti_third'].map((id) => store.grants.findById(id)));
    for (const result of settled) {
      t.is(result.status, 'rejected');
      if (result.status === 'rejected') t.true(result.reason instanceof StoreUnavailableError, String(result.reason));
    }
    t.true(Date.now() - started < 5000, `the failures took ${Date.now() - started} ms`);
  });

  mongoTest('[mongodb] expired grants past retention are removed (sweeper) or covered by a TTL index', async (t) => {
    const { store, dbName, cleanup } = await makeMongoTestStore({ grantRetentionSeconds: 1, sweepIntervalMs: 100 });
    t.teardown(cleanup);
    if (store.expiryMode === 'ttl-index') {
      const indexes = await withRawClient((client) => client.db(dbName).collection('grants').indexes());
      const ttl = indexes.find((index) => index.key.expires_at === 1);
      t.is(ttl?.expireAfterSeconds, 1);
      return;
    }
    t.is(store.expiryMode, 'sweeper');
    const now = Date.now();
    const pastRetention = makeOpaqueGrant({ issuedAt: new Date(now - 60_000), expiresAt: new Date(now - 5000) });
    const withinRetention = makeGrant({ expiresAt: new Date(now + 60_000) });
    await store.grants.insert(pastRetention);
    await store.grants.insert(withinRetention);

    // The sweep runs in the background and announces nothing: poll for its effect.
    await eventually(async () => (await store.grants.findById(pastRetention.id)) === null, 5000, 100);
    t.is(await store.grants.findById(pastRetention.id), null, 'the sweeper should have deleted the old grant');
    t.deepEqual(await store.grants.findById(withinRetention.id), withinRetention);
  });

  mongoTest('[mongodb] used assertion ids are removed once expired: TTL index on used_jtis, or the same sweeper as grants', async (t) => {
    const { store, dbName, cleanup } = await makeMongoTestStore({ sweepIntervalMs: 100 });
    t.teardown(cleanup);
    const used = () => withRawClient((client) => client.db(dbName).collection('used_jtis').find({}).toArray());
    if (store.expiryMode === 'ttl-index') {
      const indexes = await withRawClient((client) => client.db(dbName).collection('used_jtis').indexes());
      t.is(indexes.find((index) => index.key.expires_at === 1)?.expireAfterSeconds, 0);
      return;
    }
    t.is(store.expiryMode, 'sweeper');
    const now = new Date();
    t.true(await store.replays.use('cli_a', 'expired', new Date(now.getTime() - 1000), new Date(now.getTime() - 2000)));
    t.true(await store.replays.use('cli_a', 'live', new Date(now.getTime() + 60_000), now));
    await eventually(async () => (await used()).length <= 1, 5000, 100);
    t.deepEqual((await used()).map((d) => d.jti), ['live'], 'the sweeper should have deleted the expired id only');
  });

  mongoTest('[mongodb] init is idempotent on an existing database', async (t) => {
    const { store, dbName, cleanup } = await makeMongoTestStore();
    t.teardown(cleanup);
    const grant = makeOpaqueGrant();
    await store.grants.insert(grant);
    const second = new MongoStore({ uri: uri!, dbName, logger: silentLogger(), timeoutMs: 5000 });
    t.teardown(() => second.close());
    await t.notThrowsAsync(second.init());
    t.deepEqual(await second.grants.findByTokenHash(grant.tokenHash!), grant);
  });

  mongoTest('[mongodb] documents written by another service in the documented schema are read', async (t) => {
    const { store, dbName, cleanup } = await makeMongoTestStore();
    t.teardown(cleanup);
    const issuedAt = new Date('2031-05-06T07:08:09.010Z');
    const expiresAt = new Date('2031-05-06T08:08:09.010Z');
    await withRawClient(async (client) => {
      const db = client.db(dbName);
      await db.collection('grants').insertMany([
        {
          _id: 'jti_full' as never,
          customer_id: 'cus_1',
          site_id: 'site_1',
          client_id: 'cli_1',
          format: 'opaque',
          token_hash: 'hash_full',
          issued_at: issuedAt,
          expires_at: expiresAt,
          revoked_at: null,
        },
        // Optional fields left out entirely.
        { _id: 'jti_sparse' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: expiresAt },
        // An audience as one URI or a list (RFC 8707 resource indicators).
        { _id: 'jti_aud_one' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: expiresAt, audience: 'https://api.a.example/' },
        { _id: 'jti_aud_list' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: expiresAt, audience: ['urn:example:b', 'https://api.a.example/'], },
        // The login before this one, as the login service may record it.
        { _id: 'jti_previous' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: expiresAt, previous_login_at: expiresAt },
      ]);
      await db.collection('customers').insertOne({ _id: 'cus_named' as never, status: 'active', username: 'ada.lovelace', email: 'ada@example.com' });
      await db.collection('clients').insertOne({ _id: 'cli_profile' as never, name: 'DOT', secret_hash: 'sh', customer_profile: true, created_at: issuedAt });
      await db.collection('customers').insertOne({ _id: 'cus_1' as never, status: 'disabled', updated_at: issuedAt });
      await db.collection('clients').insertOne({ _id: 'cli_1' as never, name: 'Gateway', secret_hash: 'sh', created_at: issuedAt });
    });

    t.deepEqual(await store.grants.findByTokenHash('hash_full'), {
      id: 'jti_full', customerId: 'cus_1', siteId: 'site_1', clientId: 'cli_1', format: 'opaque',
      tokenHash: 'hash_full', issuedAt, expiresAt, revokedAt: null,
    });
    t.deepEqual(await store.grants.findById('jti_sparse'), {
      id: 'jti_sparse', customerId: 'cus_1', siteId: null, clientId: 'cli_1', format: 'jwt',
      tokenHash: null, issuedAt, expiresAt, revokedAt: null,
    });
    t.deepEqual((await store.grants.findById('jti_aud_one'))?.audience, ['https://api.a.example/']);
    t.deepEqual((await store.grants.findById('jti_aud_list'))?.audience, ['urn:example:b', 'https://api.a.example/']);
    t.deepEqual((await store.grants.findById('jti_previous'))?.previousLoginAt, expiresAt);
    t.is((await store.customers.findById('cus_named'))?.username, 'ada.lovelace');
    t.is((await store.clients.findById('cli_profile'))?.customerProfile, true);
    t.deepEqual(await store.customers.findById('cus_1'), {
      id: 'cus_1', status: 'disabled', email: null, firstName: null, lastName: null, updatedAt: issuedAt,
    });
    t.deepEqual(await store.clients.findById('cli_1'), {
      id: 'cli_1', name: 'Gateway', secretHash: 'sh', authMethod: 'client_secret_basic', reasonCodes: true,
      siteIds: null, createdAt: issuedAt,
    });
    // A grant without a revoked_at field can still be revoked.
    t.is(await store.grants.revokeByCustomer('cus_1', expiresAt), 5);
    t.deepEqual((await store.grants.findById('jti_sparse'))?.revokedAt, expiresAt);
  });

  mongoTest('[mongodb] our writes use the documented snake_case schema', async (t) => {
    const { store, dbName, cleanup } = await makeMongoTestStore();
    t.teardown(cleanup);
    const grant = makeOpaqueGrant({ siteId: null });
    const customer = makeCustomer();
    const client = makeClient({ siteIds: ['site_a'] });
    const oneAudience = makeGrant({ audience: ['https://api.a.example/'] });
    const twoAudiences = makeGrant({ audience: ['https://api.a.example/', 'urn:example:b'] });
    await store.grants.insert(oneAudience);
    await store.grants.insert(twoAudiences);
    await store.grants.insert(grant);
    await store.customers.upsert(customer);
    await store.clients.insert(client);
    const [g, cu, cl, a1, a2] = await withRawClient(async (raw) => {
      const db = raw.db(dbName);
      return Promise.all([
        db.collection('grants').findOne({ _id: grant.id as never }),
        db.collection('customers').findOne({ _id: customer.id as never }),
        db.collection('clients').findOne({ _id: client.id as never }),
        db.collection('grants').findOne({ _id: oneAudience.id as never }),
        db.collection('grants').findOne({ _id: twoAudiences.id as never }),
      ]);
    });
    // As the token's `aud` is written: a string for one, an array for several.
    t.is(a1?.audience, 'https://api.a.example/');
    t.deepEqual(a2?.audience, ['https://api.a.example/', 'urn:example:b']);
    t.deepEqual(g, {
      _id: grant.id, customer_id: grant.customerId, site_id: null, client_id: grant.clientId, format: 'opaque',
      token_hash: grant.tokenHash, issued_at: grant.issuedAt, expires_at: grant.expiresAt, revoked_at: null,
    });
    t.deepEqual(cu, {
      _id: customer.id, status: 'active', email: customer.email, first_name: customer.firstName,
      last_name: customer.lastName, updated_at: customer.updatedAt,
    });
    t.deepEqual(cl, {
      _id: client.id, name: client.name, secret_hash: client.secretHash,
      token_endpoint_auth_method: 'client_secret_basic', reason_codes: true, site_ids: ['site_a'],
      created_at: client.createdAt,
    });
  });

  mongoTest('[mongodb] malformed documents read as not found without throwing', async (t) => {
    const { lines, logger } = captureLogger();
    const { store, dbName, cleanup } = await makeMongoTestStore({ logger });
    t.teardown(cleanup);
    const issuedAt = new Date();
    await withRawClient(async (client) => {
      const db = client.db(dbName);
      await db.collection('grants').insertMany([
        { _id: 'jti_no_exp' as never, customer_id: 'cus_1', client_id: 'cli_1', token_hash: 'hash_no_exp', issued_at: issuedAt },
        { _id: 'jti_bad_customer' as never, customer_id: 42, client_id: 'cli_1', issued_at: issuedAt, expires_at: issuedAt },
        { _id: 'jti_bad_exp' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: '2031-01-01' },
        // An audience that is not RFC 8707 resource indicators: malformed, never "no audience recorded".
        // Empty, or one resource in two spellings (RFC 3986 §6.2.2), as a login service might write it.
        ...[['relative/path'], 'https://a.example/#f', [], 42, ['https://a.example/', 7], { uri: 'https://a.example/' }, '', ['https://a.example/', 'HTTPS://A.EXAMPLE/']].map((audience, i) => ({
          _id: `jti_bad_audience_${i}` as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: issuedAt, audience,
        })),
      ]);
      await db.collection('customers').insertOne({ _id: 'cus_bad' as never, status: 'maybe' });
      await db.collection('clients').insertOne({ _id: 'cli_bad' as never, name: 'x', secret_hash: 's', site_ids: 'site_a' });
      // A permission to see personal data that is not a boolean is never read as granted.
      await db.collection('clients').insertOne({ _id: 'cli_bad_profile' as never, name: 'x', secret_hash: 's', customer_profile: 'yes' });
      await db.collection('grants').insertOne({ _id: 'jti_bad_previous' as never, customer_id: 'cus_1', client_id: 'cli_1', issued_at: issuedAt, expires_at: issuedAt, previous_login_at: 'yesterday' });
    });

    t.is(await store.grants.findById('jti_no_exp'), null);
    t.is(await store.grants.findByTokenHash('hash_no_exp'), null);
    t.is(await store.grants.findById('jti_bad_customer'), null);
    t.is(await store.grants.findById('jti_bad_exp'), null);
    for (let i = 0; i < 8; i++) t.is(await store.grants.findById(`jti_bad_audience_${i}`), null, `bad audience ${i}`);
    t.is(await store.customers.findById('cus_bad'), null);
    t.is(await store.clients.findById('cli_bad'), null, 'a broken site list must not widen to all sites');
    t.is(await store.clients.findById('cli_bad_profile'), null);
    t.is(await store.grants.findById('jti_bad_previous'), null);
    t.deepEqual(await store.clients.list(), []);

    const warned = lines.filter((line) => line.level === 'warn' && line.grantId !== undefined);
    t.deepEqual(
      [...new Set(warned.map((line) => line.grantId))].sort(),
      ['jti_bad_audience_0', 'jti_bad_audience_1', 'jti_bad_audience_2', 'jti_bad_audience_3', 'jti_bad_audience_4', 'jti_bad_audience_5', 'jti_bad_audience_6', 'jti_bad_audience_7', 'jti_bad_customer', 'jti_bad_exp', 'jti_bad_previous', 'jti_no_exp'],
    );
    t.false(JSON.stringify(lines).includes('hash_no_exp'), 'log lines carry the grant id only');
  });

  mongoTest('[mongodb] a non-string argument never becomes a query operator', async (t) => {
    const { store, cleanup } = await makeMongoTestStore();
    t.teardown(cleanup);
    const grant = makeOpaqueGrant();
    const customer = makeCustomer();
    const client = makeClient();
    await store.grants.insert(grant);
    await store.customers.upsert(customer);
    await store.clients.insert(client);
    const operator = { $ne: null } as unknown as string;

    t.is(await store.grants.findById(operator), null);
    t.is(await store.grants.findByTokenHash(operator), null);
    t.false(await store.grants.revoke(operator, new Date()));
    t.is(await store.grants.revokeByCustomer(operator, new Date()), 0);
    t.is(await store.customers.findById(operator), null);
    t.is(await store.clients.findById(operator), null);
    t.is((await store.grants.findById(grant.id))?.revokedAt, null);
  });
}
