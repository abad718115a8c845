import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { VerifiedTokenCache } from '../core/tokens/verified-cache.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import type { WindowCounter } from './rate-limit.js';

/** Everything the HTTP layer needs, passed in: no module-level singletons. */
export interface AppDeps {
  config: Config;
  store: Store;
  keys: KeyStore;
  clock: Clock;
  logger: Logger;
  /**
   * Prometheus metrics (`src/metrics.ts`). Absent: createApp makes a registry and times the store.
   * Passed in: the caller wraps the database store with `instrumentStore` itself (below any cache).
   */
  metrics?: Metrics;
  /** Cache of verified JWTs (see src/core/tokens/verified-cache.ts); absent: none. */
  verifiedTokens?: VerifiedTokenCache;
  /** Where rate-limit counts live; absent: this process alone (cluster workers share theirs, rate-limit-cluster.ts). */
  rateLimitCounter?: WindowCounter;
  /** The bus state changes are published on (the server subscribes the worker relay); absent: one of the app's own. */
  events?: EventBus;
}
