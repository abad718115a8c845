import type { Logger } from '../log.js';
import { copyClient, copyCustomer, copyGrant } from './copy.js';
import {
  DuplicateKeyError,
  type ApiClient,
  type ClientStore,
  type Customer,
  type CustomerStore,
  type Grant,
  type GrantStore,
  type ReplayStore,
  type Store,
} from './types.js';

/** Same order as the MongoDB adapter: oldest first, then by id. */
function compareClients(a: ApiClient, b: ApiClient): number {
  const byTime = a.createdAt.getTime() - b.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

class MemoryGrantStore implements GrantStore {
  private readonly byId = new Map<string, Grant>();
  private readonly idByTokenHash = new Map<string, string>();

  async insert(grant: Grant): Promise<void> {
    if (this.byId.has(grant.id)) throw new DuplicateKeyError(`grant ${grant.id} already exists`);
    if (grant.tokenHash !== null && this.idByTokenHash.has(grant.tokenHash)) {
      throw new DuplicateKeyError('a grant with this token hash already exists');
    }
    const copy = copyGrant(grant);
    this.byId.set(copy.id, copy);
    if (copy.tokenHash !== null) this.idByTokenHash.set(copy.tokenHash, copy.id);
  }

  // The lookups every introspection makes are plain functions returning a
  // settled promise: an async function would cost a frame per call.
  findById(id: string): Promise<Grant | null> {
    return Promise.resolve(this.#grant(id));
  }

  findByTokenHash(tokenHash: string): Promise<Grant | null> {
    return Promise.resolve(this.#grantByHash(tokenHash));
  }

  // The maps are the store: a peek always knows.
  peekById(id: string): Grant | null {
    return this.#grant(id);
  }

  peekByTokenHash(tokenHash: string): Grant | null {
    return this.#grantByHash(tokenHash);
  }

  #grantByHash(tokenHash: string): Grant | null {
    const id = typeof tokenHash === 'string' ? this.idByTokenHash.get(tokenHash) : undefined;
    return id === undefined ? null : this.#grant(id);
  }

  #grant(id: string): Grant | null {
    const grant = typeof id === 'string' ? this.byId.get(id) : undefined;
    return grant ? copyGrant(grant) : null;
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    if (typeof id !== 'string') return false;
    const grant = this.byId.get(id);
    if (!grant || grant.revokedAt !== null) return false;
    grant.revokedAt = new Date(at.getTime());
    return true;
  }

  async revokeByCustomer(customerId: string, at: Date): Promise<number> {
    if (typeof customerId !== 'string') return 0;
    let count = 0;
    for (const grant of this.byId.values()) {
      if (grant.customerId === customerId && grant.revokedAt === null) {
        grant.revokedAt = new Date(at.getTime());
        count += 1;
      }
    }
    return count;
  }

  async latestIssuedAt(customerId: string, siteId: string | null, notAfter: Date): Promise<Date | null> {
    let latest: Date | null = null;
    if (typeof customerId !== 'string' || (siteId !== null && typeof siteId !== 'string')) return latest;
    // A scan: the embedded store is for development, and this runs once per issued token.
    for (const grant of this.byId.values()) {
      if (grant.customerId !== customerId || grant.siteId !== siteId || grant.issuedAt > notAfter) continue;
      if (latest === null || grant.issuedAt > latest) latest = grant.issuedAt;
    }
    return latest && new Date(latest.getTime());
  }

  async deleteExpired(before: Date): Promise<number> {
    const cutoff = before.getTime();
    let count = 0;
    for (const [id, grant] of this.byId) {
      if (grant.expiresAt.getTime() < cutoff) {
        this.byId.delete(id);
        if (grant.tokenHash !== null) this.idByTokenHash.delete(grant.tokenHash);
        count += 1;
      }
    }
    return count;
  }
}

class MemoryCustomerStore implements CustomerStore {
  private readonly byId = new Map<string, Customer>();

  async upsert(customer: Customer): Promise<void> {
    this.byId.set(customer.id, copyCustomer(customer));
  }

  findById(id: string): Promise<Customer | null> {
    return Promise.resolve(this.#customer(id));
  }

  peekById(id: string): Customer | null {
    return this.#customer(id);
  }

  #customer(id: string): Customer | null {
    const customer = typeof id === 'string' ? this.byId.get(id) : undefined;
    return customer ? copyCustomer(customer) : null;
  }
}

class MemoryClientStore implements ClientStore {
  private readonly byId = new Map<string, ApiClient>();

  async insert(client: ApiClient): Promise<void> {
    if (this.byId.has(client.id)) throw new DuplicateKeyError(`client ${client.id} already exists`);
    this.byId.set(client.id, copyClient(client));
  }

  findById(id: string): Promise<ApiClient | null> {
    return Promise.resolve(this.#client(id));
  }

  peekById(id: string): ApiClient | null {
    return this.#client(id);
  }

  #client(id: string): ApiClient | null {
    const client = typeof id === 'string' ? this.byId.get(id) : undefined;
    return client ? copyClient(client) : null;
  }

  async list(): Promise<ApiClient[]> {
    return [...this.byId.values()].map((client) => copyClient(client)).sort(compareClients);
  }
}

/**
 * Records ordered by expiry: a binary min-heap over two parallel arrays, so
 * the earliest expiry is found in O(1) and removed in O(log n).
 */
class ExpiryHeap {
  private readonly expiries: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.expiries.length;
  }

  /** The earliest expiry, or Infinity when empty. */
  peekExpiry(): number {
    return this.expiries.length > 0 ? this.expiries[0]! : Infinity;
  }

  push(expiry: number, key: string): void {
    let i = this.expiries.length;
    this.expiries.push(expiry);
    this.keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.expiries[parent]! <= expiry) break;
      this.move(parent, i);
      i = parent;
    }
    this.expiries[i] = expiry;
    this.keys[i] = key;
  }

  /** Removes the earliest record; call only when not empty. */
  pop(): { expiry: number; key: string } {
    const top = { expiry: this.expiries[0]!, key: this.keys[0]! };
    const expiry = this.expiries.pop()!;
    const key = this.keys.pop()!;
    const n = this.expiries.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && this.expiries[child + 1]! < this.expiries[child]!) child += 1;
        if (this.expiries[child]! >= expiry) break;
        this.move(child, i);
        i = child;
      }
      this.expiries[i] = expiry;
      this.keys[i] = key;
    }
    return top;
  }

  private move(from: number, to: number): void {
    this.expiries[to] = this.expiries[from]!;
    this.keys[to] = this.keys[from]!;
  }
}

/** Expired records dropped per `use`: more than the one each use adds, so stale ones drain while traffic goes on. */
const DROPS_PER_USE = 16;

class MemoryReplayStore implements ReplayStore {
  /** Key: client id and jti, JSON-encoded so no separator can be forged. Value: expiry (ms). */
  private readonly expiries = new Map<string, number>();
  /**
   * The same records by expiry, so expired ones are found without scanning
   * the map: each `use` drops at most DROPS_PER_USE of them, O(log n) each,
   * however many ids are kept. Memory follows the live ids (each lives at
   * most the assertion lifetime the caller enforces, 300 s plus skew), plus
   * expired ones not yet drained. There is no cap on live ids: evicting one
   * would let its replay pass, and refusing new ones would lock clients out.
   */
  private readonly byExpiry = new ExpiryHeap();

  async use(clientId: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    const key = JSON.stringify([clientId, jti]);
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing > now.getTime()) return false;
    this.drop(now.getTime(), DROPS_PER_USE);
    this.expiries.set(key, expiresAt.getTime());
    this.byExpiry.push(expiresAt.getTime(), key);
    return true;
  }

  async deleteExpired(before: Date): Promise<number> {
    return this.drop(before.getTime(), Infinity);
  }

  /** Drops up to `limit` records that expired before `cutoffMs`, earliest first. */
  private drop(cutoffMs: number, limit: number): number {
    let count = 0;
    for (let n = 0; n < limit && this.byExpiry.peekExpiry() < cutoffMs; n++) {
      const { expiry, key } = this.byExpiry.pop();
      // A key used again after it expired has a later record: only its own expiry removes it.
      if (this.expiries.get(key) === expiry) {
        this.expiries.delete(key);
        count += 1;
      }
    }
    return count;
  }
}

/**
 * The embedded store used when no MongoDB URI is configured. State lives in
 * this process only; every object is cloned on the way in and out so callers
 * never share references with the stored state.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly grants: GrantStore = new MemoryGrantStore();
  readonly customers: CustomerStore = new MemoryCustomerStore();
  readonly clients: ClientStore = new MemoryClientStore();
  readonly replays: ReplayStore = new MemoryReplayStore();
  private readonly logger: Logger | undefined;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger;
  }

  async init(): Promise<void> {
    this.logger?.warn(
      { store: this.kind },
      'using the embedded in-memory store: for development only, all data is lost on restart (set MONGODB_URI for production)',
    );
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
