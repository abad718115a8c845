/**
 * The steps of `MongoStore.init()`: connect, create the indexes, and find out
 * what the server can do. Where it lacks something (FerretDB 1.x: partial
 * unique indexes, TTL indexes, `$in` answered from indexes), the step falls
 * back to a way that works there and says so in a log line.
 */
import { MongoServerError, type Collection, type Db, type MongoClient } from 'mongodb';
import type { Logger } from '../../log.js';
import { StoreUnavailableError } from '../types.js';
import { REPLAYS_COLLECTION, type GrantDocument, type ReplayDocument } from './documents.js';
import { describe } from './errors.js';
import { MAX_LOOKUP_BATCH, type LookupMode } from './lookups.js';

/** How expired grants (and used assertion ids) are removed once their retention has passed. */
export type ExpiryMode = 'ttl-index' | 'sweeper';

/**
 * How opaque token hashes are kept unique: a partial unique index where the
 * server supports one, otherwise a plain index plus a lookup before insert.
 */
export type TokenHashUniqueness = 'unique-index' | 'app-check';

/** What the bootstrap steps work with. */
export interface BootstrapContext {
  readonly client: MongoClient;
  readonly db: Db;
  readonly logger: Logger;
  /** The store kind named in log lines. */
  readonly store: string;
  /** The deadline of a request-sized command (`buildInfo`). */
  readonly deadlineMs: number;
  /** Runs one operation under the given deadline, with its errors made store errors. */
  run<T>(operation: string, fn: () => Promise<T>, deadlineMs: number): Promise<T>;
}

const INDEX_TOKEN_HASH_UNIQUE = 'grants_token_hash_unique';
const INDEX_TOKEN_HASH_PLAIN = 'grants_token_hash';
const INDEX_CUSTOMER_ID = 'grants_customer_id';
const INDEX_EXPIRES_AT_TTL = 'grants_expires_at_ttl';
const INDEX_REPLAYS_EXPIRES_AT_TTL = 'used_jtis_expires_at_ttl';

/** Index builds on an existing collection can legitimately take longer than a request. */
const INIT_DEADLINE_MS = 30_000;

/** Connects and logs what answered. Returns whether the server is FerretDB. */
export async function connect(ctx: BootstrapContext, dbName: string): Promise<{ ferretdb: boolean }> {
  await ctx.run('connect', () => ctx.client.connect(), INIT_DEADLINE_MS);
  const info = await ctx.run(
    'buildInfo',
    () => ctx.client.db('admin').command({ buildInfo: 1 }),
    ctx.deadlineMs,
  );
  const ferretdbVersion = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : null;
  const version = typeof info.version === 'string' ? info.version : 'unknown';
  ctx.logger.info(
    { store: ctx.store, db: dbName, serverVersion: version, ferretdbVersion },
    'connected to MongoDB',
  );
  return { ferretdb: ferretdbVersion !== null };
}

export async function ensureCustomerIdIndex(ctx: BootstrapContext, grants: Collection<GrantDocument>): Promise<void> {
  await ctx.run('createIndex grants.customer_id', () =>
    grants.createIndex({ customer_id: 1 }, { name: INDEX_CUSTOMER_ID }), INIT_DEADLINE_MS);
}

/**
 * Batched lookups pay only where the server answers `$in` from its indexes.
 * The query plan says: FerretDB marks a filter it cannot hand to its
 * backend with `filterPushdown: false` (it then reads every document: 350 ms
 * among 5,000 grants, fifty times a single lookup), MongoDB plans an index
 * scan.
 */
export async function chooseLookups(ctx: BootstrapContext, choice: LookupMode | 'auto'): Promise<LookupMode> {
  const fields = { store: ctx.store };
  if (choice !== 'auto') {
    ctx.logger.info({ ...fields, lookups: choice }, 'lookup mode set by configuration');
    return choice;
  }
  let mode: LookupMode;
  try {
    const plan = await ctx.run(
      'explain grants.find $in',
      () =>
        ctx.db.command({
          explain: { find: 'grants', filter: { _id: { $in: ['lookup-probe-1', 'lookup-probe-2'] } } },
          verbosity: 'queryPlanner',
        }),
      INIT_DEADLINE_MS,
    );
    mode = plan.filterPushdown === false ? 'single' : 'batched';
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    ctx.logger.warn({ ...fields, error: describe(err) }, 'could not read the query plan of $in; lookups go one by one');
    return 'single';
  }
  if (mode === 'batched') {
    ctx.logger.info({ ...fields, lookups: 'batched', maxBatch: MAX_LOOKUP_BATCH }, 'concurrent lookups by id and token hash share one $in query');
  } else {
    ctx.logger.info(
      { ...fields, lookups: 'single' },
      'this server evaluates $in without its indexes (FerretDB); lookups by id and token hash go one by one',
    );
  }
  return mode;
}

/**
 * Real MongoDB: a unique index over string hashes only, so the many JWT
 * grants with a null hash do not collide. FerretDB 1.x rejects
 * partialFilterExpression and silently ignores `sparse`, and its unique
 * index treats explicit nulls as equal, so there the index is plain and the
 * insert path checks for an existing hash first (not atomic, but hashes of
 * random tokens do not collide in practice; the check catches replays).
 */
export async function ensureTokenHashIndex(
  ctx: BootstrapContext,
  grants: Collection<GrantDocument>,
  ferretdb: boolean,
): Promise<TokenHashUniqueness> {
  if (!ferretdb) {
    try {
      await ctx.run(
        'createIndex grants.token_hash',
        () =>
          grants.createIndex(
            { token_hash: 1 },
            { name: INDEX_TOKEN_HASH_UNIQUE, unique: true, partialFilterExpression: { token_hash: { $type: 'string' } } },
          ),
        INIT_DEADLINE_MS,
      );
      return 'unique-index';
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      ctx.logger.warn(
        { store: ctx.store, error: describe(err) },
        'partial unique index on grants.token_hash unavailable; checking token hash uniqueness before insert instead',
      );
    }
  }
  await ctx.run(
    'createIndex grants.token_hash',
    () => grants.createIndex({ token_hash: 1 }, { name: INDEX_TOKEN_HASH_PLAIN }),
    INIT_DEADLINE_MS,
  );
  return 'app-check';
}

export interface ExpirySettings {
  ferretdb: boolean;
  retentionSeconds: number;
  /** Named in the log line when the sweeper is chosen. */
  sweepIntervalMs: number;
  /** Called when TTL indexes are unavailable, before the log line says so. */
  startSweeper: () => void;
}

/** TTL indexes where the server has them, otherwise the in-process sweeper. */
export async function ensureExpiry(
  ctx: BootstrapContext,
  grants: Collection<GrantDocument>,
  settings: ExpirySettings,
): Promise<ExpiryMode> {
  const { ferretdb, retentionSeconds, sweepIntervalMs, startSweeper } = settings;
  const fields = { store: ctx.store, retentionSeconds };
  if (ferretdb) {
    startSweeper();
    ctx.logger.info(
      { ...fields, sweepIntervalMs },
      'TTL indexes are unavailable on this server (FerretDB); an in-process sweeper deletes expired grants instead',
    );
    return 'sweeper';
  }
  try {
    await ensureTtlIndex(ctx, grants, INDEX_EXPIRES_AT_TTL, retentionSeconds);
    // Used assertion ids need keeping only until the assertion expires (RFC 7523 §3 item 7).
    await ensureTtlIndex(ctx, ctx.db.collection<ReplayDocument>(REPLAYS_COLLECTION), INDEX_REPLAYS_EXPIRES_AT_TTL, 0);
    ctx.logger.info(fields, 'expired grants and used assertion ids are deleted by TTL indexes on expires_at');
    return 'ttl-index';
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    startSweeper();
    ctx.logger.warn(
      { ...fields, sweepIntervalMs, error: describe(err) },
      'TTL indexes are unavailable on this server; an in-process sweeper deletes expired grants instead',
    );
    return 'sweeper';
  }
}

/** A TTL index on `expires_at` of one collection (grants, used assertion ids). */
async function ensureTtlIndex(
  ctx: BootstrapContext,
  collection: Collection<GrantDocument> | Collection<ReplayDocument>,
  name: string,
  expireAfterSeconds: number,
): Promise<void> {
  const collectionName = collection.collectionName;
  try {
    await ctx.run(
      `createIndex ${collectionName}.expires_at`,
      () => collection.createIndex({ expires_at: 1 }, { name, expireAfterSeconds }),
      INIT_DEADLINE_MS,
    );
  } catch (err) {
    // IndexOptionsConflict / IndexKeySpecsConflict: the index exists with
    // another retention, so change it in place.
    const cause = err instanceof StoreUnavailableError ? null : err;
    if (cause instanceof MongoServerError && (cause.code === 85 || cause.code === 86)) {
      await ctx.run(
        `collMod ${collectionName}.expires_at`,
        () =>
          ctx.db.command({
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
