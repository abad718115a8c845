import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { IntrospectionDeps } from '../core/introspect.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';

/** Everything the HTTP layer needs, passed in: no module-level singletons. */
export interface AppDeps {
  config: Config;
  store: Store;
  keys: KeyStore;
  clock: Clock;
  logger: Logger;
}

export function introspectionDeps(deps: AppDeps): IntrospectionDeps {
  const { config, store, keys, clock } = deps;
  return {
    store,
    keys,
    clock,
    issuer: config.issuer,
    audience: config.audience,
    clockSkewSeconds: config.clockSkewSeconds,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
  };
}
