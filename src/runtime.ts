import type { Config } from './config/index.js';
import { systemClock, type Clock } from './core/clock.js';
import { KeyStore, loadOrCreateKeyRecords } from './keys/keystore.js';
import type { Logger } from './log.js';
import { createStore } from './store/index.js';
import type { Store } from './store/types.js';

/**
 * Opens what the server and the CLI share: the store and the keys from the
 * configuration. The caller closes the store.
 */
export async function openRuntime(config: Config, logger: Logger, clock: Clock = systemClock): Promise<{ store: Store; keys: KeyStore; clock: Clock }> {
  const { records, generated } = await loadOrCreateKeyRecords(config.keysDir, config.signingAlg, clock.now());
  if (generated) {
    logger.warn({ keys_dir: config.keysDir, kid: records[0]!.kid }, 'no signing key found: generated a development key; manage keys with the CLI in production');
  }
  const keys = await KeyStore.fromRecords(records, {
    legacyHs256Secret: config.legacyHs256Secret,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
    clock,
  });
  const store = createStore({
    mongodbUri: config.mongodbUri,
    mongodbDb: config.mongodbDb,
    logger,
    timeoutMs: config.storeTimeoutMs,
    grantRetentionSeconds: config.grantRetentionSeconds,
  });
  await store.init();
  return { store, keys, clock };
}
