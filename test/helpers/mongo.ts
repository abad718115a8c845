import { randomBytes } from 'node:crypto';
import test, { type Implementation } from 'ava';
import { MongoClient } from 'mongodb';
import { silentLogger, type Logger } from '../../src/log.js';
import { MongoStore, type MongoStoreOptions } from '../../src/store/mongo.js';

/** The MongoDB-wire server the tests may use, if any. */
export function mongoTestUri(): string | null {
  return process.env.MONGODB_TEST_URI || process.env.MONGODB_URI || null;
}

/** In CI (or when asked) a missing or unreachable server fails the suite instead of skipping it. */
export function mongoRequired(): boolean {
  return process.env.CI === 'true' || process.env.REQUIRE_MONGO === '1';
}

/** Declares one test, as ava's `test` or `test.skip` do. */
export type DeclareTest = (title: string, implementation: Implementation<[]>) => void;

/**
 * How a test that needs MongoDB is declared: an ordinary test when a server
 * is configured or required (without one it then fails), otherwise ava's
 * `test.skip`, so the summary counts it as skipped and never as passed.
 */
export function mongoTest(): DeclareTest {
  return mongoTestUri() || mongoRequired() ? test : test.skip;
}

let counter = 0;

/** A database name no other test, file or concurrent run will use. */
export function uniqueDbName(): string {
  counter += 1;
  return `t_${process.pid}_${counter}_${randomBytes(4).toString('hex')}`;
}

/** Runs a raw driver callback against the test server, outside any store. */
export async function withRawClient<T>(fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const uri = requireUri();
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Checks that the server answers; resolves to an error message when it does not. */
export async function probeMongo(uri: string, timeoutMs = 3000): Promise<string | null> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.db('admin').command({ ping: 1 });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.close().catch(() => undefined);
  }
}

export interface MongoTestStore {
  store: MongoStore;
  dbName: string;
  cleanup: () => Promise<void>;
}

/** A fresh, initialised MongoStore on its own database; cleanup closes it and drops the database. */
export async function makeMongoTestStore(
  options: Partial<Omit<MongoStoreOptions, 'uri' | 'dbName'>> & { logger?: Logger } = {},
): Promise<MongoTestStore> {
  const uri = requireUri();
  const dbName = uniqueDbName();
  const store = new MongoStore({ uri, dbName, timeoutMs: 5000, ...options, logger: options.logger ?? silentLogger() });
  const cleanup = async () => {
    await store.close();
    await withRawClient((client) => client.db(dbName).dropDatabase());
  };
  try {
    await store.init();
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
  return { store, dbName, cleanup };
}

function requireUri(): string {
  const uri = mongoTestUri();
  if (!uri) throw new Error('MONGODB_TEST_URI is not set');
  return uri;
}
