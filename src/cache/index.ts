import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import { VerifiedTokenCache } from '../core/tokens/verified-cache.js';
import { openChangeFeed, type ChangeFeed } from './change-feed.js';
import { localBus, type InvalidationBus } from './invalidation.js';
import { CachedStore } from './store.js';

export { CachedStore } from './store.js';
export type { Invalidation, InvalidationBus } from './invalidation.js';

export interface Caches {
  /** The store to serve from: cached, or the given one when caching is off. */
  store: Store;
  verifiedTokens?: VerifiedTokenCache;
  changeFeed: ChangeFeed | null;
  /** Stops the change feed; the store is closed by its owner. */
  close(): Promise<void>;
}

/**
 * The server's caches, from the configuration: `CACHE_TTL_SECONDS=0` turns
 * them all off. On MongoDB, a change stream (where the server has them)
 * invalidates at once what others change; the bus carries this process's own
 * writes to the other workers.
 */
export async function createCaches(options: {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  bus?: InvalidationBus;
  /**
   * The MongoDB database whose change stream invalidates the caches (the
   * server passes it for a MongoDB store); absent: writes made elsewhere
   * are seen within the cache TTL.
   */
  changeStream?: { uri: string; dbName: string };
  /** Hit and miss counters (the app's Metrics). */
  metrics?: { cacheHit(kind: string): void; cacheMiss(kind: string): void };
}): Promise<Caches> {
  const { config, store, clock, logger, metrics } = options;
  const count = (kind: string, hit: boolean) => (hit ? metrics?.cacheHit(kind) : metrics?.cacheMiss(kind));
  if (config.cacheTtlSeconds === 0) {
    logger.info('caching is off (CACHE_TTL_SECONDS=0): every request reads the store and verifies signatures');
    return { store, changeFeed: null, close: async () => undefined };
  }
  // The embedded store is a Map in this process already: a cache in front would only copy it twice.
  const cached = store.kind === 'memory' ? null : new CachedStore(store, {
    ttlSeconds: config.cacheTtlSeconds,
    maxEntries: config.cacheMaxEntries,
    clock,
    bus: options.bus ?? localBus,
    ...(metrics ? { onLookup: count } : {}),
  });
  let changeFeed: ChangeFeed | null = null;
  if (cached && options.changeStream) {
    changeFeed = await openChangeFeed({
      uri: options.changeStream.uri,
      dbName: options.changeStream.dbName,
      logger,
      ttlSeconds: config.cacheTtlSeconds,
      onInvalidation: (event) => cached.invalidate(event),
    });
  }
  return {
    store: cached ?? store,
    verifiedTokens: new VerifiedTokenCache(config.cacheMaxEntries, metrics ? { onLookup: (hit) => count('verified_tokens', hit) } : {}),
    changeFeed,
    close: async () => {
      await changeFeed?.close();
    },
  };
}
