import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createCaches } from './cache/index.js';
import { relayInvalidations, workerBus } from './cache/cluster-bus.js';
import { ClusterWindowCounter, relayRateLimits } from './http/rate-limit-cluster.js';
import { localBus, relayToWorkers } from './cache/invalidation.js';
import { EventBus } from './core/events.js';
import { loadConfigOrExit, type Config } from './config/index.js';
import { createApp } from './http/app.js';
import { createHttpServer } from './http/listen.js';
import { KeyFileError, loadOrCreateKeyRecords } from './keys/keystore.js';
import { KeyFileReloader } from './keys/reload.js';
import { createLogger, type Logger } from './log.js';
import { instrumentStore, Metrics } from './metrics.js';
import { MongoStore } from './store/mongo.js';
import { openRuntime } from './runtime.js';

const fatal = (logger: Logger, error: unknown): never => {
  const message = error instanceof KeyFileError || error instanceof Error ? error.message : String(error);
  logger.fatal({ err_name: (error as Error)?.name }, `start-up failed: ${message}`);
  process.exit(1);
};

/**
 * How many worker processes: `WORKERS`, else one per core. The embedded
 * store lives inside one process, so without MongoDB there is only one.
 */
function workerCount(config: Config, logger: Logger): number {
  const wanted = config.workers ?? (config.mongodbUri ? availableParallelism() : 1);
  if (wanted > 1 && !config.mongodbUri) {
    logger.warn({ workers: 1, requested: wanted }, 'running 1 worker: the embedded in-memory store cannot be shared between processes (set MONGODB_URI for more)');
    return 1;
  }
  return wanted;
}

/** The primary of a cluster: forks the workers, relays cache invalidations, restarts crashed workers. */
async function runPrimary(config: Config, logger: Logger, workers: number): Promise<void> {
  // Made once here, so that workers do not race to generate a development key.
  try {
    const { records, generated } = await loadOrCreateKeyRecords(config.keysDir, config.signingAlg, new Date());
    if (generated) logger.warn({ keys_dir: config.keysDir, kid: records[0]!.kid }, 'no signing key found: generated a development key; manage keys with the CLI in production');
  } catch (error) {
    fatal(logger, error);
  }
  relayInvalidations(cluster);
  relayRateLimits(cluster);
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // Exit code 1 or 2 at start-up means a configuration or key problem: restarting would loop.
    if (code === 1 || code === 2) {
      logger.fatal({ worker: worker.id, code }, 'a worker failed to start: stopping');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'worker exited: starting another');
    cluster.fork();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  logger.info({ workers, port: config.port }, 'cluster started');

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 12_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Key reload: every worker reloads its own keys.
  process.on('SIGHUP', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  });
}

/** One server process: the whole app on the port (shared by the cluster when there is one). */
async function runServer(config: Config, logger: Logger): Promise<void> {
  let runtime;
  let caches;
  // Made here so the caches report their hits to the same registry the app exposes.
  const metrics = new Metrics();
  // State changes are published here; in a cluster the worker relay tells the other workers' caches.
  const events = new EventBus((error, event) => logger.error({ err_name: (error as Error)?.name, event: event.type }, 'event subscriber failed'));
  const bus = cluster.isWorker ? workerBus() : localBus;
  events.subscribe(relayToWorkers(bus));
  try {
    runtime = await openRuntime(config, logger, { onLookupBatch: (operation, keys) => metrics.lookupBatch(operation, keys) });
    const changeStream = runtime.store instanceof MongoStore && config.mongodbUri ? { uri: config.mongodbUri, dbName: runtime.store.dbName } : undefined;
    // Database calls are timed below the caches, so store metrics count round trips only (docs/operations.md, "Metrics");
    // the embedded store is this process's memory, with no round trip to time.
    const timedStore = runtime.store.kind === 'memory' ? runtime.store : instrumentStore(runtime.store, metrics);
    caches = await createCaches({ config, logger, metrics, store: timedStore, clock: runtime.clock, bus, ...(changeStream ? { changeStream } : {}) });
  } catch (error) {
    return fatal(logger, error);
  }
  const store = caches.store;
  // A rotated key file is picked up without a restart: on SIGHUP, and when a periodic check sees it changed.
  const reloader = new KeyFileReloader({
    dir: config.keysDir,
    holder: runtime.keyHolder,
    keyOptions: { legacyHs256Secret: config.legacyHs256Secret, maxTokenTtlSeconds: config.maxTokenTtlSeconds, clock: runtime.clock },
    logger,
    intervalMs: config.keysReloadIntervalSeconds * 1000,
  });
  await reloader.start();
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  const app = createApp({
    config,
    logger,
    ...runtime,
    store,
    metrics,
    events,
    ...(caches.verifiedTokens ? { verifiedTokens: caches.verifiedTokens } : {}),
    // Workers count against one budget, not one each.
    ...(cluster.isWorker ? { rateLimitCounter: new ClusterWindowCounter() } : {}),
  });
  // Slow clients must not hold sockets forever (the limits are in listen.ts).
  const server = createHttpServer(app.callback());
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      { port, issuer: config.issuer, store: store.kind, admin_api: config.adminToken !== null, cache_ttl_seconds: config.cacheTtlSeconds },
      'listening',
    );
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    reloader.stop();
    server.close(() => {
      void caches
        .close()
        .then(() => store.close())
        .finally(() => process.exit(0));
    });
    // A keep-alive connection turns idle only once its in-flight answer is sent,
    // so keep closing idle ones until server.close() completes.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const base = createLogger({ level: config.logLevel });
  // Each worker's lines say which worker wrote them.
  if (cluster.isWorker) return runServer(config, base.child({ worker: cluster.worker?.id }));
  const logger = base;
  const workers = workerCount(config, logger);
  return workers > 1 ? runPrimary(config, logger, workers) : runServer(config, logger);
}

void main();
