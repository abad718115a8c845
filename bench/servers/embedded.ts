import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createCaches } from '../../src/cache/index.js';
import { loadConfig } from '../../src/config/index.js';
import { systemClock } from '../../src/core/clock.js';
import { createApp } from '../../src/http/app.js';
import { generateKeyRecord, KeyStore } from '../../src/keys/keystore.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { makeSeed } from '../seed.js';

/**
 * This server on the embedded store, wired as src/server.ts wires it (same
 * config, caches and app), seeded in-process: the embedded store cannot be
 * written from outside. Logs go to stdout as in production.
 */
const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
const clock = systemClock;
const keys = await KeyStore.fromRecords([await generateKeyRecord(config.signingAlg, clock.now())], {
  legacyHs256Secret: null,
  maxTokenTtlSeconds: config.maxTokenTtlSeconds,
  clock,
});
const inner = new MemoryStore({ logger });
await inner.init();
const seed = await makeSeed({ keys, issuer: config.issuer, count: Number(process.env.BENCH_TOKENS_N ?? 1), formats: ['jwt', 'opaque'] });
await inner.clients.insert(seed.client);
for (const c of seed.customers) await inner.customers.upsert(c);
for (const g of seed.grants) await inner.grants.insert(g);
const metrics = new Metrics();
const caches = await createCaches({ config, logger, metrics, store: inner, clock });
const app = createApp({ config, logger, metrics, store: caches.store, keys, clock, ...(caches.verifiedTokens ? { verifiedTokens: caches.verifiedTokens } : {}) });
writeFileSync(process.env.BENCH_TOKENS_FILE!, JSON.stringify(seed.tokens));
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(config.port, '127.0.0.1');
// A clean exit, so that `node --cpu-prof` writes its profile.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)) && server.closeAllConnections());
