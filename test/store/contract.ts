import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { DeclareTest } from '../helpers/mongo.js';
import { DuplicateKeyError, type ApiClient, type Customer, type Grant, type Store } from '../../src/store/types.js';

export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const HOUR = 60 * 60 * 1000;

function rid(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

function tokenHash(): string {
  return randomBytes(32).toString('base64url');
}

/** Milliseconds are kept deliberately non-zero so a store that truncates to seconds fails. */
function at(offsetMs: number): Date {
  const base = Math.floor(Date.now() / 1000) * 1000 + 123;
  return new Date(base + offsetMs);
}

export function makeGrant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: rid('jti'),
    customerId: rid('cus'),
    siteId: 'site_energy_intel',
    clientId: rid('cli'),
    format: 'jwt',
    tokenHash: null,
    issuedAt: at(-HOUR),
    expiresAt: at(HOUR),
    revokedAt: null,
    ...overrides,
  };
}

export function makeOpaqueGrant(overrides: Partial<Grant> = {}): Grant {
  return makeGrant({ format: 'opaque', tokenHash: tokenHash(), ...overrides });
}

export function makeCustomer(overrides: Partial<Customer> = {}): Customer {
  return {
    id: rid('cus'),
    status: 'active',
    email: 'ada@example.com',
    firstName: 'Ada',
    lastName: 'Lovelace',
    updatedAt: at(0),
    ...overrides,
  };
}

export function makeClient(overrides: Partial<ApiClient> = {}): ApiClient {
  return {
    id: rid('cli'),
    name: 'Energy Intel',
    secretHash: tokenHash(),
    authMethod: 'client_secret_basic',
    reasonCodes: true,
    siteIds: null,
    createdAt: at(0),
    ...overrides,
  };
}

/**
 * The behaviour every Store adapter must share. Each test gets its own store
 * so tests can run concurrently and never see each other's data. `declare`
 * is `test.skip` for an adapter whose server is absent, so every contract
 * test is counted as skipped, by its own title.
 */
export function storeContract(name: string, makeStore: MakeStore, declare: DeclareTest = test): void {
  async function open(t: ExecutionContext): Promise<Store> {
    const { store, cleanup } = await makeStore();
    t.teardown(cleanup);
    return store;
  }

  const title = (what: string) => `[${name}] ${what}`;

  declare(title('grant: insert then findById returns an equal grant'), async (t) => {
    const store = await open(t);
    const grant = makeGrant();
    await store.grants.insert(grant);
    t.deepEqual(await store.grants.findById(grant.id), grant);
  });

  declare(title('grant: findByTokenHash finds an opaque grant'), async (t) => {
    const store = await open(t);
    const grant = makeOpaqueGrant();
    await store.grants.insert(grant);
    await store.grants.insert(makeOpaqueGrant());
    const found = await store.grants.findByTokenHash(grant.tokenHash!);
    t.deepEqual(found, grant);
  });

  // The optional synchronous reads (src/store/types.ts): when a peek answers, it answers what find does,
  // never a promise, and a copy the caller may change without changing the store.
  declare(title('peeks, where a store has them, agree with find and never return a promise'), async (t) => {
    const store = await open(t);
    const grant = makeOpaqueGrant();
    const customer = makeCustomer();
    await store.grants.insert(grant);
    await store.customers.upsert(customer);
    // A cache answers only what it holds: read once through find first.
    const found = { grant: await store.grants.findById(grant.id), byHash: await store.grants.findByTokenHash(grant.tokenHash!), customer: await store.customers.findById(customer.id) };
    const peeks = [
      [store.grants.peekById?.(grant.id), found.grant],
      [store.grants.peekByTokenHash?.(grant.tokenHash!), found.byHash],
      [store.customers.peekById?.(customer.id), found.customer],
      [store.grants.peekById?.('no-such-grant'), null],
      [store.customers.peekById?.('no-such-customer'), null],
    ] as const;
    for (const [peeked, expected] of peeks) {
      t.false(peeked instanceof Promise);
      if (peeked !== undefined) t.deepEqual(peeked, expected);
    }
    const copy = store.grants.peekById?.(grant.id);
    if (copy) {
      copy.customerId = 'changed';
      t.is((await store.grants.findById(grant.id))?.customerId, grant.customerId);
    }
  });

  declare(title('grant: unknown id and unknown token hash read as null'), async (t) => {
    const store = await open(t);
    await store.grants.insert(makeOpaqueGrant());
    t.is(await store.grants.findById('jti_missing'), null);
    t.is(await store.grants.findByTokenHash(tokenHash()), null);
  });

  declare(title('grant: duplicate id is a DuplicateKeyError and keeps the first grant'), async (t) => {
    const store = await open(t);
    const grant = makeGrant();
    await store.grants.insert(grant);
    await t.throwsAsync(store.grants.insert(makeGrant({ id: grant.id, customerId: 'cus_other' })), {
      instanceOf: DuplicateKeyError,
    });
    t.is((await store.grants.findById(grant.id))?.customerId, grant.customerId);
  });

  declare(title('grant: duplicate token hash is a DuplicateKeyError'), async (t) => {
    const store = await open(t);
    const grant = makeOpaqueGrant();
    await store.grants.insert(grant);
    const copy = makeOpaqueGrant({ tokenHash: grant.tokenHash });
    const error = await t.throwsAsync(store.grants.insert(copy), { instanceOf: DuplicateKeyError });
    t.false(error?.message.includes(grant.tokenHash!), 'the error message must not echo the token hash');
    t.is(await store.grants.findById(copy.id), null);
  });

  declare(title('grant: many grants without a token hash coexist'), async (t) => {
    const store = await open(t);
    const grants = [makeGrant(), makeGrant(), makeGrant()];
    for (const grant of grants) await store.grants.insert(grant);
    for (const grant of grants) t.deepEqual(await store.grants.findById(grant.id), grant);
  });

  declare(title('grant: revoke sets revokedAt once; a second revoke returns false and keeps the first time'), async (t) => {
    const store = await open(t);
    const grant = makeOpaqueGrant();
    await store.grants.insert(grant);
    const first = at(-1000);
    t.true(await store.grants.revoke(grant.id, first));
    t.false(await store.grants.revoke(grant.id, at(5000)));
    t.deepEqual((await store.grants.findById(grant.id))?.revokedAt, first);
    t.deepEqual((await store.grants.findByTokenHash(grant.tokenHash!))?.revokedAt, first);
  });

  declare(title('grant: revoke of an unknown id returns false'), async (t) => {
    const store = await open(t);
    const grant = makeGrant();
    await store.grants.insert(grant);
    t.false(await store.grants.revoke('jti_missing', at(0)));
    t.is((await store.grants.findById(grant.id))?.revokedAt, null);
  });

  declare(title('grant: revokeByCustomer counts only that customer\'s unrevoked grants'), async (t) => {
    const store = await open(t);
    const customerId = rid('cus');
    const earlier = at(-5000);
    const already = makeGrant({ customerId, revokedAt: earlier });
    const mine = [makeGrant({ customerId }), makeOpaqueGrant({ customerId })];
    const other = makeGrant();
    for (const grant of [already, ...mine, other]) await store.grants.insert(grant);

    const now = at(0);
    t.is(await store.grants.revokeByCustomer(customerId, now), 2);
    for (const grant of mine) t.deepEqual((await store.grants.findById(grant.id))?.revokedAt, now);
    t.deepEqual((await store.grants.findById(already.id))?.revokedAt, earlier);
    t.is((await store.grants.findById(other.id))?.revokedAt, null);
    t.is(await store.grants.revokeByCustomer(customerId, at(1000)), 0);
    t.is(await store.grants.revokeByCustomer('cus_missing', now), 0);
  });

  declare(title('grant: deleteExpired removes only grants that expired before the cutoff'), async (t) => {
    const store = await open(t);
    const cutoff = at(0);
    const old = makeOpaqueGrant({ expiresAt: new Date(cutoff.getTime() - 1) });
    const older = makeGrant({ expiresAt: at(-2 * HOUR), issuedAt: at(-3 * HOUR) });
    const atCutoff = makeGrant({ expiresAt: new Date(cutoff.getTime()) });
    const live = makeOpaqueGrant({ expiresAt: at(HOUR) });
    for (const grant of [old, older, atCutoff, live]) await store.grants.insert(grant);

    t.is(await store.grants.deleteExpired(cutoff), 2);
    t.is(await store.grants.findById(old.id), null);
    t.is(await store.grants.findByTokenHash(old.tokenHash!), null);
    t.is(await store.grants.findById(older.id), null);
    t.deepEqual(await store.grants.findById(atCutoff.id), atCutoff);
    t.deepEqual(await store.grants.findByTokenHash(live.tokenHash!), live);
    t.is(await store.grants.deleteExpired(cutoff), 0);
  });

  declare(title('grant: a returned grant is a copy'), async (t) => {
    const store = await open(t);
    const grant = makeGrant();
    await store.grants.insert(grant);
    const expected = structuredClone(grant);

    grant.customerId = 'cus_mutated_input';
    grant.expiresAt.setTime(0);
    const found = await store.grants.findById(expected.id);
    t.deepEqual(found, expected, 'mutating the inserted object must not change the store');

    found!.revokedAt = new Date();
    found!.siteId = 'site_mutated';
    found!.issuedAt.setTime(0);
    t.deepEqual(await store.grants.findById(expected.id), expected, 'mutating a returned object must not change the store');
  });

  declare(title('grant: dates round-trip as Date with millisecond precision'), async (t) => {
    const store = await open(t);
    const grant = makeGrant({
      issuedAt: new Date('2031-01-02T03:04:05.006Z'),
      expiresAt: new Date('2031-01-02T04:04:05.999Z'),
      revokedAt: new Date('2031-01-02T03:30:00.001Z'),
    });
    await store.grants.insert(grant);
    const found = await store.grants.findById(grant.id);
    t.true(found?.issuedAt instanceof Date);
    t.true(found?.expiresAt instanceof Date);
    t.true(found?.revokedAt instanceof Date);
    t.is(found?.issuedAt.toISOString(), '2031-01-02T03:04:05.006Z');
    t.is(found?.expiresAt.toISOString(), '2031-01-02T04:04:05.999Z');
    t.is(found?.revokedAt?.toISOString(), '2031-01-02T03:30:00.001Z');
  });

  declare(title('grant: siteId null and string round-trip'), async (t) => {
    const store = await open(t);
    const anySite = makeGrant({ siteId: null });
    const oneSite = makeGrant({ siteId: 'site_b' });
    await store.grants.insert(anySite);
    await store.grants.insert(oneSite);
    t.is((await store.grants.findById(anySite.id))?.siteId, null);
    t.is((await store.grants.findById(oneSite.id))?.siteId, 'site_b');
  });

  declare(title('grant: audience round-trips (none recorded, one URI, several in order) and is returned as a copy'), async (t) => {
    const store = await open(t);
    const none = makeGrant();
    const one = makeGrant({ audience: ['https://api.a.example/'] });
    const several = makeOpaqueGrant({ audience: ['urn:example:b', 'https://api.a.example/'] });
    for (const grant of [none, one, several]) await store.grants.insert(grant);
    t.false('audience' in ((await store.grants.findById(none.id)) ?? {}), 'no audience recorded reads as none');
    t.deepEqual((await store.grants.findById(one.id))?.audience, ['https://api.a.example/']);
    t.deepEqual((await store.grants.findByTokenHash(several.tokenHash!))?.audience, ['urn:example:b', 'https://api.a.example/']);
    const read = await store.grants.findById(several.id);
    read!.audience!.push('https://evil.example/');
    t.deepEqual((await store.grants.findById(several.id))?.audience, ['urn:example:b', 'https://api.a.example/']);
  });

  declare(title('grant: previousLoginAt round-trips (absent, null, a date); latestIssuedAt is the customer\'s latest issue time on the site, or null'), async (t) => {
    const store = await open(t);
    const customerId = rid('cus');
    const site = 'site_energy_intel';
    t.is(await store.grants.latestIssuedAt(customerId, site, at(0)), null);
    const first = makeGrant({ customerId, issuedAt: at(-3 * HOUR), previousLoginAt: null });
    const third = makeOpaqueGrant({ customerId, issuedAt: at(-HOUR), previousLoginAt: at(-2 * HOUR), revokedAt: at(0) });
    const second = makeGrant({ customerId, issuedAt: at(-2 * HOUR), previousLoginAt: at(-3 * HOUR) });
    const otherCustomer = makeGrant({ issuedAt: at(0) });
    // Later logins of the same customer on another site and on none.
    const otherSite = makeGrant({ customerId, siteId: 'site_other', issuedAt: at(-HOUR / 2) });
    const noSite = makeGrant({ customerId, siteId: null, issuedAt: at(-HOUR / 4) });
    for (const grant of [first, third, second, otherCustomer, otherSite, noSite]) await store.grants.insert(grant);
    t.deepEqual(await store.grants.findById(first.id), first);
    t.deepEqual(await store.grants.findById(second.id), second);
    t.deepEqual(await store.grants.findByTokenHash(third.tokenHash!), third);
    t.false('previousLoginAt' in ((await store.grants.findById(otherCustomer.id)) ?? {}), 'not recorded reads as not recorded');
    // Revoked grants are logins all the same.
    t.deepEqual(await store.grants.latestIssuedAt(customerId, site, at(0)), third.issuedAt);
    t.deepEqual(await store.grants.latestIssuedAt(customerId, 'site_other', at(0)), otherSite.issuedAt);
    t.deepEqual(await store.grants.latestIssuedAt(customerId, null, at(0)), noSite.issuedAt);
    t.is(await store.grants.latestIssuedAt(customerId, 'site_none', at(0)), null);
    // Only grants issued at or before `notAfter`: one issued later (a clock ahead) is no login before.
    t.deepEqual(await store.grants.latestIssuedAt(customerId, site, at(-2 * HOUR)), second.issuedAt, 'issued exactly then counts');
    t.deepEqual(await store.grants.latestIssuedAt(customerId, site, at(-1.5 * HOUR)), second.issuedAt);
    t.is(await store.grants.latestIssuedAt(customerId, site, at(-4 * HOUR)), null);
    t.is(await store.grants.latestIssuedAt({ $ne: null } as unknown as string, site, at(0)), null);
    t.is(await store.grants.latestIssuedAt(customerId, { $ne: null } as unknown as string, at(0)), null);
  });

  declare(title('customer: username round-trips (absent, a name, null)'), async (t) => {
    const store = await open(t);
    const none = makeCustomer();
    const named = makeCustomer({ username: 'ada.lovelace' });
    const cleared = makeCustomer({ username: null });
    for (const customer of [none, named, cleared]) await store.customers.upsert(customer);
    t.deepEqual(await store.customers.findById(none.id), none);
    t.deepEqual(await store.customers.findById(named.id), named);
    t.deepEqual(await store.customers.findById(cleared.id), cleared);
  });

  declare(title('client: customerProfile round-trips (granted, or absent)'), async (t) => {
    const store = await open(t);
    const granted = makeClient({ customerProfile: true });
    const plain = makeClient();
    await store.clients.insert(granted);
    await store.clients.insert(plain);
    t.deepEqual(await store.clients.findById(granted.id), granted);
    t.deepEqual(await store.clients.findById(plain.id), plain);
  });

  declare(title('customer: upsert creates, then updates the status'), async (t) => {
    const store = await open(t);
    const customer = makeCustomer();
    await store.customers.upsert(customer);
    t.deepEqual(await store.customers.findById(customer.id), customer);

    const disabled: Customer = { ...customer, status: 'disabled', email: null, updatedAt: at(60_000) };
    await store.customers.upsert(disabled);
    t.deepEqual(await store.customers.findById(customer.id), disabled);
  });

  declare(title('customer: unknown id reads as null'), async (t) => {
    const store = await open(t);
    await store.customers.upsert(makeCustomer());
    t.is(await store.customers.findById('cus_missing'), null);
  });

  declare(title('customer: a returned customer is a copy'), async (t) => {
    const store = await open(t);
    const customer = makeCustomer();
    await store.customers.upsert(customer);
    const found = await store.customers.findById(customer.id);
    found!.status = 'disabled';
    found!.updatedAt.setTime(0);
    t.deepEqual(await store.customers.findById(customer.id), customer);
  });

  declare(title('client: insert then findById returns an equal client'), async (t) => {
    const store = await open(t);
    const client = makeClient({ authMethod: 'client_secret_post', reasonCodes: false, siteIds: ['site_a'] });
    await store.clients.insert(client);
    t.deepEqual(await store.clients.findById(client.id), client);
    t.is(await store.clients.findById('cli_missing'), null);
  });

  declare(title('client: duplicate id is a DuplicateKeyError and keeps the first client'), async (t) => {
    const store = await open(t);
    const client = makeClient();
    await store.clients.insert(client);
    await t.throwsAsync(store.clients.insert(makeClient({ id: client.id, name: 'Impostor' })), {
      instanceOf: DuplicateKeyError,
    });
    t.is((await store.clients.findById(client.id))?.name, client.name);
  });

  declare(title('client: list returns every client, oldest first'), async (t) => {
    const store = await open(t);
    t.deepEqual(await store.clients.list(), []);
    const newer = makeClient({ createdAt: at(2000) });
    const older = makeClient({ createdAt: at(-2000) });
    const middle = makeClient({ createdAt: at(0) });
    for (const client of [newer, older, middle]) await store.clients.insert(client);
    t.deepEqual(await store.clients.list(), [older, middle, newer]);
  });

  declare(title('client: siteIds null and array round-trip, and returned arrays are copies'), async (t) => {
    const store = await open(t);
    const all = makeClient({ siteIds: null });
    const some = makeClient({ siteIds: ['site_a', 'site_b'] });
    const none = makeClient({ siteIds: [] });
    for (const client of [all, some, none]) await store.clients.insert(client);
    t.is((await store.clients.findById(all.id))?.siteIds, null);
    t.deepEqual((await store.clients.findById(none.id))?.siteIds, []);

    const found = await store.clients.findById(some.id);
    t.deepEqual(found?.siteIds, ['site_a', 'site_b']);
    found!.siteIds!.push('site_c');
    t.deepEqual((await store.clients.findById(some.id))?.siteIds, ['site_a', 'site_b']);
  });

  declare(title('client: assertion methods, sealed secret, jwks, jwks_uri and signed-answer alg round-trip'), async (t) => {
    const store = await open(t);
    const pk = makeClient({
      secretHash: null,
      authMethod: 'private_key_jwt',
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] },
      introspectionSignedResponseAlg: 'ES256',
    });
    const byUri = makeClient({ secretHash: null, authMethod: 'private_key_jwt', jwksUri: 'https://rp.example.test/jwks.json' });
    const hs = makeClient({ secretHash: null, authMethod: 'client_secret_jwt', secretEncrypted: 'v1.aaaa.bbbb.cccc' });
    for (const client of [pk, byUri, hs]) await store.clients.insert(client);
    t.deepEqual(await store.clients.findById(pk.id), pk);
    t.deepEqual(await store.clients.findById(byUri.id), byUri);
    t.deepEqual(await store.clients.findById(hs.id), hs);
  });

  declare(title('replays: a jti is accepted once per client until it expires'), async (t) => {
    const store = await open(t);
    const base = at(0).getTime();
    const time = (offsetMs: number) => new Date(base + offsetMs);
    const now = time(0);
    const exp = time(60_000);
    t.true(await store.replays.use('cli_a', 'jti_1', exp, now));
    t.false(await store.replays.use('cli_a', 'jti_1', exp, now), 'the same jti again is a replay');
    t.false(await store.replays.use('cli_a', 'jti_1', time(120_000), time(59_000)), 'still a replay just before it expires');
    t.true(await store.replays.use('cli_b', 'jti_1', exp, now), 'ids are per client');
    t.true(await store.replays.use('cli_a', 'jti_2', exp, now));
    // Once expired (even if not yet deleted) the id may be used again, and is then taken again.
    t.true(await store.replays.use('cli_a', 'jti_1', time(180_000), time(60_000)));
    t.false(await store.replays.use('cli_a', 'jti_1', time(180_000), time(61_000)));
  });

  declare(title('replays: ids cannot be forged by moving a separator between client id and jti'), async (t) => {
    const store = await open(t);
    const base = at(0).getTime();
    const time = (offsetMs: number) => new Date(base + offsetMs);
    t.true(await store.replays.use('a:b', 'c', time(60_000), time(0)));
    t.true(await store.replays.use('a', 'b:c', time(60_000), time(0)));
    t.true(await store.replays.use('a","b', 'c', time(60_000), time(0)));
  });

  declare(title('replays: of concurrent uses of one jti exactly one succeeds'), async (t) => {
    const store = await open(t);
    const base = at(0).getTime();
    const time = (offsetMs: number) => new Date(base + offsetMs);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.replays.use('cli_a', 'jti_race', time(60_000), time(0))));
    t.is(results.filter(Boolean).length, 1);
  });

  declare(title('replays: deleteExpired removes only expired ids'), async (t) => {
    const store = await open(t);
    const base = at(0).getTime();
    const time = (offsetMs: number) => new Date(base + offsetMs);
    await store.replays.use('cli_a', 'old', time(1000), time(0));
    await store.replays.use('cli_a', 'new', time(60_000), time(0));
    t.is(await store.replays.deleteExpired(time(2000)), 1);
    t.false(await store.replays.use('cli_a', 'new', time(60_000), time(3000)), 'the unexpired id is still recorded');
  });

  declare(title('ping resolves'), async (t) => {
    const store = await open(t);
    await t.notThrowsAsync(store.ping());
  });
}
