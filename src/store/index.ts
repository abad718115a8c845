import type { Logger } from '../log.js';
import { MemoryStore } from './memory.js';
import { MongoStore, type LookupMode } from './mongo.js';
import type { Store } from './types.js';

export * from './types.js';
export { MemoryStore } from './memory.js';
export { MongoStore, type ExpiryMode, type LookupMode, type MongoStoreOptions, type TokenHashUniqueness } from './mongo.js';

export interface CreateStoreOptions {
  /** Unset or null selects the embedded in-memory store (development only). */
  mongodbUri: string | null;
  mongodbDb?: string;
  logger: Logger;
  timeoutMs?: number;
  grantRetentionSeconds?: number;
  /** MongoDB only: how lookups reach the server (see `LookupMode`); `auto` asks the server. */
  lookups?: LookupMode | 'auto';
  /** MongoDB only: told the number of distinct keys of each batched lookup. */
  onLookupBatch?: (operation: string, keys: number) => void;
}

export function createStore(options: CreateStoreOptions): Store {
  if (options.mongodbUri) {
    return new MongoStore({
      uri: options.mongodbUri,
      dbName: options.mongodbDb,
      logger: options.logger,
      timeoutMs: options.timeoutMs,
      grantRetentionSeconds: options.grantRetentionSeconds,
      lookups: options.lookups ?? 'auto',
      ...(options.onLookupBatch ? { onLookupBatch: options.onLookupBatch } : {}),
    });
  }
  return new MemoryStore({ logger: options.logger });
}
