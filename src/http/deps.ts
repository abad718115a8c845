import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { IntrospectionDeps } from '../core/introspect.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import type { VerifiedTokenCache } from '../tokens/verified-cache.js';
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
  /** Cache of verified JWTs (see src/tokens/verified-cache.ts); absent: none. */
  verifiedTokens?: VerifiedTokenCache;
  /** Where rate-limit counts live; absent: this process alone (cluster workers share theirs, rate-limit-cluster.ts). */
  rateLimitCounter?: WindowCounter;
}

export function introspectionDeps(deps: AppDeps): IntrospectionDeps {
  const { config, store, keys, clock, verifiedTokens } = deps;
  return {
    store,
    keys,
    clock,
    issuer: config.issuer,
    audience: config.audience,
    clockSkewSeconds: config.clockSkewSeconds,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
    ...(verifiedTokens ? { verifiedTokens } : {}),
  };
}
