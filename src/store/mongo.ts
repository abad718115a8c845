import type DataLoader from 'dataloader';
import { MongoClient, type Collection, type CommandStartedEvent, type Db } from 'mongodb';
import type { Logger } from '../log.js';
import {
  DuplicateKeyError,
  StoreUnavailableError,
  type ApiClient,
  type ClientStore,
  type Customer,
  type CustomerStore,
  type Grant,
  type GrantStore,
  type ReplayStore,
  type Store,
} from './types.js';
import {
  chooseLookups,
  connect,
  ensureCustomerIdIndex,
  ensureExpiry,
  ensureTokenHashIndex,
  type BootstrapContext,
  type ExpiryMode,
  type TokenHashUniqueness,
} from './mongo/bootstrap.js';
import {
  clientFromDocument,
  clientToDocument,
  customerFromDocument,
  customerToDocument,
  grantFromDocument,
  grantToDocument,
  isRecord,
  REPLAYS_COLLECTION,
  validDate,
  type ClientDocument,
  type CustomerDocument,
  type GrantDocument,
  type ReplayDocument,
} from './mongo/documents.js';
import { batchedLookup, lookup, type LookupMode, type LookupRunner } from './mongo/lookups.js';
import { runBounded, type Runner } from './mongo/runner.js';
import { ExpirySweeper } from './mongo/sweeper.js';

// The adapter's parts live in ./mongo/; what callers and tests import stays importable from here.
export type { ExpiryMode, TokenHashUniqueness } from './mongo/bootstrap.js';
export {
  clientFromDocument,
  clientToDocument,
  customerFromDocument,
  customerToDocument,
  grantFromDocument,
  grantToDocument,
  type ClientDocument,
  type CustomerDocument,
  type GrantDocument,
  type ReplayDocument,
} from './mongo/documents.js';
export { toStoreError } from './mongo/errors.js';
export { MAX_LOOKUP_BATCH, type LookupMode } from './mongo/lookups.js';

export interface MongoStoreOptions {
  uri: string;
  /** Defaults to the database named in the URI, else `open_login`. */
  dbName?: string;
  logger: Logger;
  /** Bound on server selection, connecting and each operation. */
  timeoutMs?: number;
  /** How long grants are kept after they expire, so lookups can still answer "expired". */
  grantRetentionSeconds?: number;
  /** Period of the in-process sweeper, used only when TTL indexes are unavailable. */
  sweepIntervalMs?: number;
  /**
   * How lookups by id and token hash reach the server: `auto` (the default)
   * batches them where the server answers `$in` from its indexes and sends
   * them one by one where it does not (see `LookupMode`).
   */
  lookups?: LookupMode | 'auto';
  /** Told the number of distinct keys of each batched lookup sent (for the batch-size metric). */
  onLookupBatch?: (operation: string, keys: number) => void;
  /** Sees every command the driver sends (diagnostics, tests); off by default, as it costs a little per command. */
  onCommandStarted?: (event: CommandStartedEvent) => void;
}

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_GRANT_RETENTION_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
export const DEFAULT_DB_NAME = 'open_login';

/** The database named in a MongoDB connection string, if any. */
export function databaseFromUri(uri: string): string | null {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri);
  const raw = match?.[1];
  if (!raw) return null;
  try {
    return decodeURIComponent(raw) || null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Adapter

class MongoGrantStore implements GrantStore {
  private readonly byId: DataLoader<string, GrantDocument | null>;
  private readonly byTokenHash: DataLoader<string, GrantDocument | null>;

  constructor(
    private readonly collection: Collection<GrantDocument>,
    private readonly runner: LookupRunner,
    private readonly uniqueness: () => TokenHashUniqueness,
  ) {
    this.byId = batchedLookup(collection, '_id', 'grants.findById', runner);
    this.byTokenHash = batchedLookup(collection, 'token_hash', 'grants.findByTokenHash', runner);
  }

  private read(doc: unknown): Grant | null {
    if (doc === null || doc === undefined) return null;
    const grant = grantFromDocument(doc);
    if (grant === null) {
      const grantId = isRecord(doc) ? String(doc._id) : 'unknown';
      this.runner.logger.warn({ grantId }, 'malformed grant document treated as not found');
    }
    return grant;
  }

  async insert(grant: Grant): Promise<void> {
    const doc = grantToDocument(grant);
    await this.runner.run('grants.insert', async () => {
      if (doc.token_hash !== null && this.uniqueness() === 'app-check') {
        const existing = await this.collection.findOne(
          { token_hash: doc.token_hash },
          { projection: { _id: 1 }, maxTimeMS: this.runner.maxTimeMS },
        );
        if (existing) throw new DuplicateKeyError('grants.insert: duplicate token_hash');
      }
      await this.collection.insertOne(doc, { maxTimeMS: this.runner.maxTimeMS });
    });
  }

  async findById(id: string): Promise<Grant | null> {
    if (typeof id !== 'string') return null;
    return this.read(await lookup(this.byId, this.collection, '_id', 'grants.findById', this.runner, id));
  }

  async findByTokenHash(tokenHash: string): Promise<Grant | null> {
    if (typeof tokenHash !== 'string') return null;
    return this.read(await lookup(this.byTokenHash, this.collection, 'token_hash', 'grants.findByTokenHash', this.runner, tokenHash));
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    if (typeof id !== 'string') return false;
    const result = await this.runner.run('grants.revoke', () =>
      // `revoked_at: null` also matches documents that lack the field.
      this.collection.updateOne(
        { _id: id, revoked_at: null },
        { $set: { revoked_at: at } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount === 1;
  }

  async revokeByCustomer(customerId: string, at: Date): Promise<number> {
    if (typeof customerId !== 'string') return 0;
    const result = await this.runner.run('grants.revokeByCustomer', () =>
      this.collection.updateMany(
        { customer_id: customerId, revoked_at: null },
        { $set: { revoked_at: at } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount;
  }

  async deleteExpired(before: Date): Promise<number> {
    if (validDate(before) === undefined) return 0;
    const result = await this.runner.run('grants.deleteExpired', () =>
      this.collection.deleteMany({ expires_at: { $lt: before } }, { maxTimeMS: this.runner.maxTimeMS }),
    );
    return result.deletedCount;
  }
}

class MongoCustomerStore implements CustomerStore {
  private readonly byId: DataLoader<string, CustomerDocument | null>;

  constructor(
    private readonly collection: Collection<CustomerDocument>,
    private readonly runner: LookupRunner,
  ) {
    this.byId = batchedLookup(collection, '_id', 'customers.findById', runner);
  }

  async upsert(customer: Customer): Promise<void> {
    const { _id, ...fields } = customerToDocument(customer);
    await this.runner.run('customers.upsert', () =>
      // $set rather than a replacement keeps fields another service may have added.
      this.collection.updateOne({ _id }, { $set: fields }, { upsert: true, maxTimeMS: this.runner.maxTimeMS }),
    );
  }

  async findById(id: string): Promise<Customer | null> {
    if (typeof id !== 'string') return null;
    const doc = await lookup(this.byId, this.collection, '_id', 'customers.findById', this.runner, id);
    if (!doc) return null;
    const customer = customerFromDocument(doc);
    if (!customer) this.runner.logger.warn({ customerId: id }, 'malformed customer document treated as not found');
    return customer;
  }
}

class MongoClientStore implements ClientStore {
  private readonly byId: DataLoader<string, ClientDocument | null>;

  constructor(
    private readonly collection: Collection<ClientDocument>,
    private readonly runner: LookupRunner,
  ) {
    this.byId = batchedLookup(collection, '_id', 'clients.findById', runner);
  }

  private read(doc: unknown): ApiClient | null {
    const client = clientFromDocument(doc);
    if (!client) {
      const clientId = isRecord(doc) ? String(doc._id) : 'unknown';
      this.runner.logger.warn({ clientId }, 'malformed client document ignored');
    }
    return client;
  }

  async insert(client: ApiClient): Promise<void> {
    const doc = clientToDocument(client);
    await this.runner.run('clients.insert', () =>
      this.collection.insertOne(doc, { maxTimeMS: this.runner.maxTimeMS }),
    );
  }

  async findById(id: string): Promise<ApiClient | null> {
    if (typeof id !== 'string') return null;
    const doc = await lookup(this.byId, this.collection, '_id', 'clients.findById', this.runner, id);
    return doc ? this.read(doc) : null;
  }

  async list(): Promise<ApiClient[]> {
    const docs = await this.runner.run('clients.list', () =>
      this.collection.find({}, { maxTimeMS: this.runner.maxTimeMS }).sort({ created_at: 1, _id: 1 }).toArray(),
    );
    return docs.map((doc) => this.read(doc)).filter((client): client is ApiClient => client !== null);
  }
}

class MongoReplayStore implements ReplayStore {
  constructor(
    private readonly collection: Collection<ReplayDocument>,
    private readonly runner: Runner,
  ) {}

  async use(clientId: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    const _id = JSON.stringify([clientId, jti]);
    try {
      await this.runner.run('replays.use', () =>
        this.collection.insertOne({ _id, client_id: clientId, jti, expires_at: expiresAt }, { maxTimeMS: this.runner.maxTimeMS }),
      );
      return true;
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    // The id is known. It is a replay unless that record has expired and merely
    // awaits deletion (TTL monitor or sweeper); then this use takes it over.
    const result = await this.runner.run('replays.use', () =>
      this.collection.updateOne(
        { _id, expires_at: { $lte: now } },
        { $set: { expires_at: expiresAt } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount === 1;
  }

  async deleteExpired(before: Date): Promise<number> {
    if (validDate(before) === undefined) return 0;
    const result = await this.runner.run('replays.deleteExpired', () =>
      this.collection.deleteMany({ expires_at: { $lt: before } }, { maxTimeMS: this.runner.maxTimeMS }),
    );
    return result.deletedCount;
  }
}

/**
 * The production store. Every operation is bounded: the driver's own timeouts
 * cover server selection and connecting, `maxTimeMS` covers server-side work,
 * and a client-side deadline covers a server that accepts requests but never
 * replies.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb';
  readonly dbName: string;
  readonly grants: GrantStore;
  readonly customers: CustomerStore;
  readonly clients: ClientStore;
  readonly replays: ReplayStore;

  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly retentionSeconds: number;
  private readonly sweepIntervalMs: number;
  private readonly sweeper: ExpirySweeper;
  private mode: ExpiryMode | null = null;
  // Until init has proven a unique index exists, check before each insert.
  private uniqueness: TokenHashUniqueness = 'app-check';
  private readonly lookupChoice: LookupMode | 'auto';
  // One by one until init has asked the server how it answers `$in`.
  private lookupMode: LookupMode = 'single';

  constructor(options: MongoStoreOptions) {
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Past the driver's own timeouts, so their more specific errors win when they fire.
    this.deadlineMs = Math.ceil(this.timeoutMs * 1.5) + 100;
    this.retentionSeconds = options.grantRetentionSeconds ?? DEFAULT_GRANT_RETENTION_SECONDS;
    this.sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.dbName = options.dbName ?? databaseFromUri(options.uri) ?? DEFAULT_DB_NAME;
    this.client = new MongoClient(options.uri, {
      appName: 'open-login-introspection',
      serverSelectionTimeoutMS: this.timeoutMs,
      connectTimeoutMS: this.timeoutMs,
      waitQueueTimeoutMS: this.timeoutMs,
      ...(options.onCommandStarted ? { monitorCommands: true } : {}),
    });
    if (options.onCommandStarted) this.client.on('commandStarted', options.onCommandStarted);
    this.lookupChoice = options.lookups ?? 'auto';
    this.db = this.client.db(this.dbName);

    const runner: LookupRunner = {
      run: (operation, fn) => runBounded(operation, fn, this.deadlineMs),
      maxTimeMS: this.timeoutMs,
      logger: this.logger,
      lookups: () => this.lookupMode,
      batchSent: options.onLookupBatch ?? (() => undefined),
    };
    this.grants = new MongoGrantStore(this.db.collection<GrantDocument>('grants'), runner, () => this.uniqueness);
    this.customers = new MongoCustomerStore(this.db.collection<CustomerDocument>('customers'), runner);
    this.clients = new MongoClientStore(this.db.collection<ClientDocument>('clients'), runner);
    this.replays = new MongoReplayStore(this.db.collection<ReplayDocument>(REPLAYS_COLLECTION), runner);
    this.sweeper = new ExpirySweeper({
      grants: this.grants,
      replays: this.replays,
      retentionSeconds: this.retentionSeconds,
      intervalMs: this.sweepIntervalMs,
      logger: this.logger,
      store: this.kind,
    });
  }

  /** How expired grants are removed; null until `init()` has run. */
  get expiryMode(): ExpiryMode | null {
    return this.mode;
  }

  get tokenHashUniqueness(): TokenHashUniqueness {
    return this.uniqueness;
  }

  /** How lookups by id and token hash reach the server (settled by `init()`). */
  get lookups(): LookupMode {
    return this.lookupMode;
  }

  /** Connects, creates the indexes, and settles expiryMode, tokenHashUniqueness and lookups for this server. */
  async init(): Promise<void> {
    const ctx: BootstrapContext = {
      client: this.client,
      db: this.db,
      logger: this.logger,
      store: this.kind,
      deadlineMs: this.deadlineMs,
      run: runBounded,
    };
    const { ferretdb } = await connect(ctx, this.dbName);
    const grants = this.db.collection<GrantDocument>('grants');
    await ensureCustomerIdIndex(ctx, grants);
    this.uniqueness = await ensureTokenHashIndex(ctx, grants, ferretdb);
    this.mode = await ensureExpiry(ctx, grants, {
      ferretdb,
      retentionSeconds: this.retentionSeconds,
      sweepIntervalMs: this.sweepIntervalMs,
      startSweeper: () => this.sweeper.start(),
    });
    this.lookupMode = await chooseLookups(ctx, this.lookupChoice);
  }

  async ping(): Promise<void> {
    try {
      await runBounded(
        'ping',
        () => this.client.db('admin').command({ ping: 1 }),
        this.deadlineMs,
      );
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError('MongoDB could not answer (ping)', { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.sweeper.stop();
    await this.client.close();
  }
}
