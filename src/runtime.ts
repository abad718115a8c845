import type { Config } from './config/index.js';
import { systemClock, type Clock } from './core/clock.js';
import { KeyFileError, KeyStore, KeyStoreHolder, loadOrCreateKeyRecords, readKeyFile } from './keys/keystore.js';
import type { Logger } from './log.js';
import { createStore } from './store/index.js';
import type { Store } from './store/types.js';

/**
 * Opens what the server and the CLI share: the store and the keys from the
 * configuration. The caller closes the store. Only the server generates a
 * development key when none exists: a CLI issuing tokens with a key that no
 * running server knows would mint tokens nobody can verify.
 */
export async function openRuntime(
  config: Config,
  logger: Logger,
  options: { clock?: Clock; generateDevKey?: boolean; onLookupBatch?: (operation: string, keys: number) => void } = {},
): Promise<{ store: Store; keys: KeyStore; keyHolder: KeyStoreHolder; clock: Clock }> {
  const clock = options.clock ?? systemClock;
  const { records, generated } =
    options.generateDevKey === false
      ? { records: requireKeyFile(config.keysDir), generated: false }
      : await loadOrCreateKeyRecords(config.keysDir, config.signingAlg, clock.now());
  if (generated) {
    logger.warn({ keys_dir: config.keysDir, kid: records[0]!.kid }, 'no signing key found: generated a development key; manage keys with the CLI in production');
  }
  const initialKeys = await KeyStore.fromRecords(records, {
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
    lookups: config.mongodbLookups,
    ...(options.onLookupBatch ? { onLookupBatch: options.onLookupBatch } : {}),
  });
  await store.init();
  // `keys` follows the holder, so a reloaded key file reaches every reader (see KeyFileReloader).
  const keyHolder = new KeyStoreHolder(initialKeys);
  return { store, keys: keyHolder.view, keyHolder, clock };
}

function requireKeyFile(dir: string) {
  const records = readKeyFile(dir);
  if (!records) throw new KeyFileError(`no signing keys in ${dir}: run "keys generate" or start the server once`);
  return records;
}
