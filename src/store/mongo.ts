import {
  MongoClient,
  MongoServerError,
  type Collection,
  type Db,
  type CommandStartedEvent,
} from 'mongodb';
import type DataLoader from 'dataloader';
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
import { describe } from './mongo/errors.js';
import { batchedLookup, lookup, MAX_LOOKUP_BATCH, type LookupMode, type LookupRunner } from './mongo/lookups.js';
import { runBounded, type Runner } from './mongo/runner.js';
import { ExpirySweeper } from './mongo/sweeper.js';

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

/** How expired grants (and used assertion ids) are removed once their retention has passed. */
export type ExpiryMode = 'ttl-index' | 'sweeper';

/**
 * How opaque token hashes are kept unique: a partial unique index where the
 * server supports one, otherwise a plain index plus a lookup before insert.
 */
export type TokenHashUniqueness = 'unique-index' | 'app-check';

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

const INDEX_TOKEN_HASH_UNIQUE = 'grants_token_hash_unique';
const INDEX_TOKEN_HASH_PLAIN = 'grants_token_hash';
const INDEX_CUSTOMER_ID = 'grants_customer_id';
const INDEX_EXPIRES_AT_TTL = 'grants_expires_at_ttl';
const INDEX_REPLAYS_EXPIRES_AT_TTL = 'used_jtis_expires_at_ttl';

/** Index builds on an existing collection can legitimately take longer than a request. */
const INIT_DEADLINE_MS = 30_000;

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

  async init(): Promise<void> {
    await runBounded('connect', () => this.client.connect(), INIT_DEADLINE_MS);
    const info = await runBounded(
      'buildInfo',
      () => this.client.db('admin').command({ buildInfo: 1 }),
      this.deadlineMs,
    );
    const ferretdbVersion = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : null;
    const version = typeof info.version === 'string' ? info.version : 'unknown';
    this.logger.info(
      { store: this.kind, db: this.dbName, serverVersion: version, ferretdbVersion },
      'connected to MongoDB',
    );

    const grants = this.db.collection<GrantDocument>('grants');
    await runBounded('createIndex grants.customer_id', () =>
      grants.createIndex({ customer_id: 1 }, { name: INDEX_CUSTOMER_ID }), INIT_DEADLINE_MS);
    await this.ensureTokenHashIndex(grants, ferretdbVersion !== null);
    await this.ensureExpiry(grants, ferretdbVersion !== null);
    await this.chooseLookups();
  }

  /**
   * Batched lookups pay only where the server answers `$in` from its indexes.
   * The query plan says: FerretDB marks a filter it cannot hand to its
   * backend with `filterPushdown: false` (it then reads every document: 350 ms
   * among 5,000 grants, fifty times a single lookup), MongoDB plans an index
   * scan.
   */
  private async chooseLookups(): Promise<void> {
    const fields = { store: this.kind };
    if (this.lookupChoice !== 'auto') {
      this.lookupMode = this.lookupChoice;
      this.logger.info({ ...fields, lookups: this.lookupMode }, 'lookup mode set by configuration');
      return;
    }
    try {
      const plan = await runBounded(
        'explain grants.find $in',
        () =>
          this.db.command({
            explain: { find: 'grants', filter: { _id: { $in: ['lookup-probe-1', 'lookup-probe-2'] } } },
            verbosity: 'queryPlanner',
          }),
        INIT_DEADLINE_MS,
      );
      this.lookupMode = plan.filterPushdown === false ? 'single' : 'batched';
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      this.lookupMode = 'single';
      this.logger.warn({ ...fields, error: describe(err) }, 'could not read the query plan of $in; lookups go one by one');
      return;
    }
    if (this.lookupMode === 'batched') {
      this.logger.info({ ...fields, lookups: 'batched', maxBatch: MAX_LOOKUP_BATCH }, 'concurrent lookups by id and token hash share one $in query');
    } else {
      this.logger.info(
        { ...fields, lookups: 'single' },
        'this server evaluates $in without its indexes (FerretDB); lookups by id and token hash go one by one',
      );
    }
  }

  /**
   * Real MongoDB: a unique index over string hashes only, so the many JWT
   * grants with a null hash do not collide. FerretDB 1.x rejects
   * partialFilterExpression and silently ignores `sparse`, and its unique
   * index treats explicit nulls as equal, so there the index is plain and the
   * insert path checks for an existing hash first (not atomic, but hashes of
   * random tokens do not collide in practice; the check catches replays).
   */
  private async ensureTokenHashIndex(grants: Collection<GrantDocument>, ferretdb: boolean): Promise<void> {
    if (!ferretdb) {
      try {
        await runBounded(
          'createIndex grants.token_hash',
          () =>
            grants.createIndex(
              { token_hash: 1 },
              { name: INDEX_TOKEN_HASH_UNIQUE, unique: true, partialFilterExpression: { token_hash: { $type: 'string' } } },
            ),
          INIT_DEADLINE_MS,
        );
        this.uniqueness = 'unique-index';
        return;
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        this.logger.warn(
          { store: this.kind, error: describe(err) },
          'partial unique index on grants.token_hash unavailable; checking token hash uniqueness before insert instead',
        );
      }
    }
    await runBounded(
      'createIndex grants.token_hash',
      () => grants.createIndex({ token_hash: 1 }, { name: INDEX_TOKEN_HASH_PLAIN }),
      INIT_DEADLINE_MS,
    );
    this.uniqueness = 'app-check';
  }

  private async ensureExpiry(grants: Collection<GrantDocument>, ferretdb: boolean): Promise<void> {
    const fields = { store: this.kind, retentionSeconds: this.retentionSeconds };
    if (ferretdb) {
      this.startSweeper();
      this.logger.info(
        { ...fields, sweepIntervalMs: this.sweepIntervalMs },
        'TTL indexes are unavailable on this server (FerretDB); an in-process sweeper deletes expired grants instead',
      );
      return;
    }
    try {
      await this.ensureTtlIndex(grants, INDEX_EXPIRES_AT_TTL, this.retentionSeconds);
      // Used assertion ids need keeping only until the assertion expires (RFC 7523 §3 item 7).
      await this.ensureTtlIndex(this.db.collection<ReplayDocument>(REPLAYS_COLLECTION), INDEX_REPLAYS_EXPIRES_AT_TTL, 0);
      this.mode = 'ttl-index';
      this.logger.info(fields, 'expired grants and used assertion ids are deleted by TTL indexes on expires_at');
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      this.startSweeper();
      this.logger.warn(
        { ...fields, sweepIntervalMs: this.sweepIntervalMs, error: describe(err) },
        'TTL indexes are unavailable on this server; an in-process sweeper deletes expired grants instead',
      );
    }
  }

  /** A TTL index on `expires_at` of one collection (grants, used assertion ids). */
  private async ensureTtlIndex(collection: Collection<GrantDocument> | Collection<ReplayDocument>, name: string, expireAfterSeconds: number): Promise<void> {
    const collectionName = collection.collectionName;
    try {
      await runBounded(
        `createIndex ${collectionName}.expires_at`,
        () => collection.createIndex({ expires_at: 1 }, { name, expireAfterSeconds }),
        INIT_DEADLINE_MS,
      );
    } catch (err) {
      // IndexOptionsConflict / IndexKeySpecsConflict: the index exists with
      // another retention, so change it in place.
      const cause = err instanceof StoreUnavailableError ? null : err;
      if (cause instanceof MongoServerError && (cause.code === 85 || cause.code === 86)) {
        await runBounded(
          `collMod ${collectionName}.expires_at`,
          () =>
            this.db.command({
              collMod: collectionName,
              index: { keyPattern: { expires_at: 1 }, expireAfterSeconds },
            }),
          INIT_DEADLINE_MS,
        );
        return;
      }
      throw err;
    }
  }

  private startSweeper(): void {
    this.mode = 'sweeper';
    this.sweeper.start();
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
