import { createCaches } from '../src/cache/index.js';
import type { Config } from '../src/config/index.js';
import { systemClock } from '../src/core/clock.js';
import { createApp, type HttpApp } from '../src/http/app.js';
import { generateKeyRecord, KeyStore } from '../src/keys/keystore.js';
import type { WindowCounter } from '../src/http/rate-limit.js';
import type { Logger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { MemoryStore } from '../src/store/memory.js';
import { makeSeed, type Seed } from './seed.js';

/**
 * This server's app on the embedded store, wired as src/server.ts wires it
 * (same config, caches and app), with a fresh signing key and `tokens` tokens
 * of each format seeded in-process: the embedded store cannot be written from
 * outside.
 */
export async function embeddedBenchApp(
  config: Config,
  logger: Logger,
  tokens: number,
  options: { rateLimitCounter?: WindowCounter } = {},
): Promise<{ app: HttpApp; seed: Seed }> {
  const clock = systemClock;
  const keys = await KeyStore.fromRecords([await generateKeyRecord(config.signingAlg, clock.now())], {
    legacyHs256Secret: null,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
    clock,
  });
  const inner = new MemoryStore({ logger });
  await inner.init();
  const seed = await makeSeed({ keys, issuer: config.issuer, count: tokens, formats: ['jwt', 'opaque'] });
  await inner.clients.insert(seed.client);
  for (const c of seed.customers) await inner.customers.upsert(c);
  for (const g of seed.grants) await inner.grants.insert(g);
  const metrics = new Metrics();
  const caches = await createCaches({ config, logger, metrics, store: inner, clock });
  const app = createApp({
    config,
    logger,
    metrics,
    store: caches.store,
    keys,
    clock,
    ...(caches.verifiedTokens ? { verifiedTokens: caches.verifiedTokens } : {}),
    ...(options.rateLimitCounter ? { rateLimitCounter: options.rateLimitCounter } : {}),
  });
  return { app, seed };
}
