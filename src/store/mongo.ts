import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import type { Logger } from '../log.js';
import {
  StoreUnavailableError,
  type ClientStore,
  type CustomerStore,
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
import { MongoClientStore, MongoCustomerStore, MongoGrantStore, MongoReplayStore } from './mongo/collections.js';
import {
  REPLAYS_COLLECTION,
  type ClientDocument,
  type CustomerDocument,
  type GrantDocument,
  type ReplayDocument,
} from './mongo/documents.js';
import type { LookupMode, LookupRunner } from './mongo/lookups.js';
import { runBounded } from './mongo/runner.js';
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
