import type { Clock } from '../core/clock.js';
import type { ApiClient, ClientStore, Customer, CustomerStore, Grant, GrantStore, ReplayStore, Store } from '../store/types.js';
import { localBus, type Invalidation, type InvalidationBus } from './invalidation.js';
import { copyClient, copyCustomer, copyGrant } from '../store/copy.js';
import { ExpiringLru } from '../lib/lru.js';

export interface CachedStoreOptions {
  /** Longest time a record read from the store is reused: the staleness bound for writes made elsewhere. */
  ttlSeconds: number;
  /** Bound on each of the grant, customer and client caches. */
  maxEntries: number;
  clock: Clock;
  /** Brings what other workers changed (this worker's changes reach them through the worker relay). */
  bus?: InvalidationBus;
  /** Told of every lookup, for the hit-ratio metrics. */
  onLookup?: (cache: 'grants' | 'customers' | 'clients', hit: boolean) => void;
}

/**
 * A read-through cache in front of a Store, for the records every
 * introspection reads: the grant, the customer and the calling client.
 *
 * Guarantees (docs/caching.md):
 * - A write made through this store (revoke, revokeByCustomer, customer
 *   upsert, client insert) drops the cached records it touches before the
 *   call returns, in this process; the application service's domain event
 *   reaches every other worker through the worker relay before the change
 *   is answered (src/cache/invalidation.ts).
 * - A write made elsewhere (another service writing the database) is seen
 *   after at most `ttlSeconds`, or at once when a change feed reports it.
 * - A grant is never cached past its own `expiresAt`.
 * - Absent records are not cached: a grant written by the login service is
 *   found by the next request.
 *
 * A read that started before an invalidation does not fill the cache with
 * what it found (it may be the old record): an epoch counter detects this.
 */
export class CachedStore implements Store {
  // Plain fields, not getters over private state: decorators (metrics) wrap this store in a Proxy.
  readonly kind: string;
  /** Used assertion ids are never cached: single use needs the store's own atomic check. */
  readonly replays: ReplayStore;
  /** The store being cached. */
  readonly inner: Store;
  readonly grants: GrantStore;
  readonly customers: CustomerStore;
  readonly clients: ClientStore;
  readonly #inner: Store;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #bus: InvalidationBus;
  readonly #onLookup: NonNullable<CachedStoreOptions['onLookup']>;
  readonly #grantsById: ExpiringLru<string, Grant>;
  /** Token hash to grant id: never changes for a grant, so it needs no invalidation. */
  readonly #grantIdByHash: ExpiringLru<string, string>;
  readonly #customers: ExpiringLru<string, Customer>;
  readonly #clients: ExpiringLru<string, ApiClient>;
  readonly #unsubscribe: () => void;
  #epoch = 0;
  /** Store reads under way, shared by concurrent misses of the same record (no stampede on a cold key). */
  readonly #inflight = new Map<string, Promise<unknown>>();

  constructor(inner: Store, options: CachedStoreOptions) {
    if (!(options.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive (use the store itself to disable caching)');
    this.#inner = inner;
    this.inner = inner;
    this.kind = inner.kind;
    this.replays = inner.replays;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#clock = options.clock;
    this.#bus = options.bus ?? localBus;
    this.#onLookup = options.onLookup ?? (() => undefined);
    this.#grantsById = new ExpiringLru(options.maxEntries);
    this.#grantIdByHash = new ExpiringLru(options.maxEntries);
    this.#customers = new ExpiringLru(options.maxEntries);
    this.#clients = new ExpiringLru(options.maxEntries);
    this.#unsubscribe = this.#bus.subscribe((event) => this.invalidate(event));
    this.grants = this.#grantStore();
    this.customers = this.#customerStore();
    this.clients = this.#clientStore();
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    this.invalidate({ kind: 'all' });
    await this.#inner.close();
  }

  /** Forgets what an event names, in this process only. */
  invalidate(event: Invalidation): void {
    this.#epoch += 1;
    // A read that started before this change must not answer requests that arrive after it.
    this.#inflight.clear();
    switch (event.kind) {
      case 'grant':
        this.#grantsById.delete(event.id);
        break;
      case 'customer-grants':
        this.#grantsById.deleteWhere((g) => g.customerId === event.customerId);
        break;
      case 'customer':
        this.#customers.delete(event.id);
        break;
      case 'client':
        this.#clients.delete(event.id);
        break;
      case 'all':
        this.#grantsById.clear();
        this.#grantIdByHash.clear();
        this.#customers.clear();
        this.#clients.clear();
        break;
    }
  }

  /**
   * A write made through this store: forgets here at once. The other
   * workers are told by the worker relay, which subscribes to the domain
   * event the application service publishes for the change
   * (src/cache/invalidation.ts `relayToWorkers`).
   */
  #changed(event: Invalidation): void {
    this.invalidate(event);
  }

  /** One store read per key at a time; every caller gets its own copy of the result. */
  #shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    let pending = this.#inflight.get(key) as Promise<T> | undefined;
    if (pending === undefined) {
      pending = read();
      this.#inflight.set(key, pending);
      const done = () => {
        if (this.#inflight.get(key) === pending) this.#inflight.delete(key);
      };
      pending.then(done, done);
    }
    return pending;
  }

  #nowMs(): number {
    return this.#clock.now().getTime();
  }

  #grantStore(): GrantStore {
    const inner = this.#inner.grants;
    const fill = (grant: Grant | null, epoch: number, nowMs: number): Grant | null => {
      if (grant === null || epoch !== this.#epoch) return grant;
      // Never past the grant's own end, whatever the staleness bound.
      const until = Math.min(nowMs + this.#ttlMs, grant.expiresAt.getTime());
      if (until > nowMs) {
        this.#grantsById.set(grant.id, copyGrant(grant), until);
        if (grant.tokenHash !== null) this.#grantIdByHash.set(grant.tokenHash, grant.id, until);
      }
      return grant;
    };
    return {
      insert: (grant) => inner.insert(grant),
      // A hit answers at once; a miss is `undefined`, and the find that follows counts it.
      peekById: (id) => {
        const hit = typeof id === 'string' ? this.#grantsById.get(id, this.#nowMs()) : undefined;
        if (hit === undefined) return undefined;
        this.#onLookup('grants', true);
        return copyGrant(hit);
      },
      peekByTokenHash: (tokenHash) => {
        const hit = this.#grantByHash(tokenHash, this.#nowMs());
        if (hit === undefined) return undefined;
        this.#onLookup('grants', true);
        return copyGrant(hit);
      },
      findById: async (id) => {
        const nowMs = this.#nowMs();
        const hit = typeof id === 'string' ? this.#grantsById.get(id, nowMs) : undefined;
        this.#onLookup('grants', hit !== undefined);
        if (hit) return copyGrant(hit);
        const epoch = this.#epoch;
        const grant = await this.#shared(`g:${id}`, async () => fill(await inner.findById(id), epoch, nowMs));
        return grant && copyGrant(grant);
      },
      findByTokenHash: async (tokenHash) => {
        const nowMs = this.#nowMs();
        const hit = this.#grantByHash(tokenHash, nowMs);
        this.#onLookup('grants', hit !== undefined);
        if (hit) return copyGrant(hit);
        const epoch = this.#epoch;
        const grant = await this.#shared(`h:${tokenHash}`, async () => fill(await inner.findByTokenHash(tokenHash), epoch, nowMs));
        return grant && copyGrant(grant);
      },
      revoke: async (id, at) => {
        try {
          return await inner.revoke(id, at);
        } finally {
          // Also when the write failed half way: forgetting is always safe.
          if (typeof id === 'string') this.#changed({ kind: 'grant', id });
        }
      },
      revokeByCustomer: async (customerId, at) => {
        try {
          return await inner.revokeByCustomer(customerId, at);
        } finally {
          if (typeof customerId === 'string') this.#changed({ kind: 'customer-grants', customerId });
        }
      },
      deleteExpired: (before) => inner.deleteExpired(before),
      // Read at issue only, and a grant written elsewhere must count: never cached.
      latestIssuedAt: (customerId, siteId, notAfter) => inner.latestIssuedAt(customerId, siteId, notAfter),
    };
  }

  /** The cached grant of a token hash, if both the hash and the grant are cached and agree. */
  #grantByHash(tokenHash: string, nowMs: number): Grant | undefined {
    const id = typeof tokenHash === 'string' ? this.#grantIdByHash.get(tokenHash, nowMs) : undefined;
    const hit = id === undefined ? undefined : this.#grantsById.get(id, nowMs);
    return hit !== undefined && hit.tokenHash === tokenHash ? hit : undefined;
  }

  #customerStore(): CustomerStore {
    const inner = this.#inner.customers;
    return {
      upsert: async (customer) => {
        try {
          await inner.upsert(customer);
        } finally {
          this.#changed({ kind: 'customer', id: customer.id });
        }
      },
      peekById: (id) => {
        const hit = typeof id === 'string' ? this.#customers.get(id, this.#nowMs()) : undefined;
        if (hit === undefined) return undefined;
        this.#onLookup('customers', true);
        return copyCustomer(hit);
      },
      findById: async (id) => {
        const nowMs = this.#nowMs();
        const hit = typeof id === 'string' ? this.#customers.get(id, nowMs) : undefined;
        this.#onLookup('customers', hit !== undefined);
        if (hit) return copyCustomer(hit);
        const epoch = this.#epoch;
        const customer = await this.#shared(`cu:${id}`, async () => {
          const found = await inner.findById(id);
          if (found !== null && epoch === this.#epoch) this.#customers.set(found.id, copyCustomer(found), nowMs + this.#ttlMs);
          return found;
        });
        return customer && copyCustomer(customer);
      },
    };
  }

  #clientStore(): ClientStore {
    const inner = this.#inner.clients;
    return {
      insert: async (client) => {
        try {
          await inner.insert(client);
        } finally {
          this.#changed({ kind: 'client', id: client.id });
        }
      },
      peekById: (id) => {
        const hit = typeof id === 'string' ? this.#clients.get(id, this.#nowMs()) : undefined;
        if (hit === undefined) return undefined;
        this.#onLookup('clients', true);
        return copyClient(hit);
      },
      findById: async (id) => {
        const nowMs = this.#nowMs();
        const hit = typeof id === 'string' ? this.#clients.get(id, nowMs) : undefined;
        this.#onLookup('clients', hit !== undefined);
        if (hit) return copyClient(hit);
        const epoch = this.#epoch;
        const client = await this.#shared(`cl:${id}`, async () => {
          const found = await inner.findById(id);
          if (found !== null && epoch === this.#epoch) this.#clients.set(found.id, copyClient(found), nowMs + this.#ttlMs);
          return found;
        });
        return client && copyClient(client);
      },
      list: () => inner.list(),
    };
  }
}
