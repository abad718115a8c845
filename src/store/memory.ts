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

  async findById(id: string): Promise<Grant | null> {
    if (typeof id !== 'string') return null;
    const grant = this.byId.get(id);
    return grant ? copyGrant(grant) : null;
  }

  async findByTokenHash(tokenHash: string): Promise<Grant | null> {
    if (typeof tokenHash !== 'string') return null;
    const id = this.idByTokenHash.get(tokenHash);
    return id === undefined ? null : this.findById(id);
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

  async findById(id: string): Promise<Customer | null> {
    if (typeof id !== 'string') return null;
    const customer = this.byId.get(id);
    return customer ? copyCustomer(customer) : null;
  }
}

class MemoryClientStore implements ClientStore {
  private readonly byId = new Map<string, ApiClient>();

  async insert(client: ApiClient): Promise<void> {
    if (this.byId.has(client.id)) throw new DuplicateKeyError(`client ${client.id} already exists`);
    this.byId.set(client.id, copyClient(client));
  }

  async findById(id: string): Promise<ApiClient | null> {
    if (typeof id !== 'string') return null;
    const client = this.byId.get(id);
    return client ? copyClient(client) : null;
  }

  async list(): Promise<ApiClient[]> {
    return [...this.byId.values()].map((client) => copyClient(client)).sort(compareClients);
  }
}

class MemoryReplayStore implements ReplayStore {
  /** Key: client id and jti, JSON-encoded so no separator can be forged. Value: expiry (ms). */
  private readonly expiries = new Map<string, number>();

  async use(clientId: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    const key = JSON.stringify([clientId, jti]);
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing > now.getTime()) return false;
    // No sweeper here: expired ids are dropped whenever the map grows large.
    if (this.expiries.size >= 10_000) await this.deleteExpired(now);
    this.expiries.set(key, expiresAt.getTime());
    return true;
  }

  async deleteExpired(before: Date): Promise<number> {
    const cutoff = before.getTime();
    let count = 0;
    for (const [key, expiry] of this.expiries) {
      if (expiry < cutoff) {
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
