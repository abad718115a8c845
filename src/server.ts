import cluster from 'node:cluster';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { createCaches } from './cache/index.js';
import { relayInvalidations, workerBus } from './cache/cluster-bus.js';
import { ClusterWindowCounter, relayRateLimits } from './http/rate-limit-cluster.js';
import { localBus, relayToWorkers } from './cache/invalidation.js';
import { EventBus } from './core/events.js';
import { loadConfigOrExit, type Config } from './config/index.js';
import { createApp } from './http/app.js';
import { createHttpServer } from './http/listen.js';
import { loadOrCreateKeyRecords } from './keys/keystore.js';
import { KeyFileReloader } from './keys/reload.js';
import { createLogger, type Logger } from './log.js';
import { instrumentStore, Metrics } from './metrics.js';
import { MongoStore } from './store/mongo.js';
import { openRuntime } from './runtime.js';
import { describeStartFailure } from './start-failure.js';

/** What a worker that could not start tells the primary, which writes the one line about it. */
const START_FAILED = 'open-login:start-failed';
interface StartFailed {
  type: typeof START_FAILED;
  message: string;
}

function isStartFailed(message: unknown): message is StartFailed {
  return (message as StartFailed | null)?.type === START_FAILED && typeof (message as StartFailed).message === 'string';
}

/**
 * Ends a start that failed: one line saying why (naming the setting to
 * change, see start-failure.ts) and exit status 1, so a supervisor sees the
 * failure. A worker leaves the line to the primary: every worker fails the
 * same way, and one line per worker would say the same thing over and over.
 */
function failStart(logger: Logger, config: Config, error: unknown): void {
  const message = describeStartFailure(error, config);
  if (cluster.isWorker && process.send && process.connected) {
    process.send({ type: START_FAILED, message } satisfies StartFailed, () => process.exit(1));
    setTimeout(() => process.exit(1), 2000).unref();
    return;
  }
  logger.fatal({ err_name: (error as Error | null)?.name }, `start-up failed: ${message}`);
  process.exit(1);
}

/** Whether `port` on `host` can be listened on now; rejects with the listen error if not. */
function probePort(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

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

/**
 * The primary of a cluster: forks the workers, relays cache invalidations,
 * restarts workers that crash once serving. A worker that exits before it
 * listens failed to start (port, keys, database); the next one would fail
 * the same way, so the primary stops the cluster and exits 1 instead of
 * respawning in a loop.
 */
async function runPrimary(config: Config, logger: Logger, workers: number): Promise<void> {
  // Checked here first, so a port in use is one line before any worker or database connection exists.
  if (config.port !== 0) await probePort(config.port, config.host);
  // Made once here, so that workers do not race to generate a development key.
  const { records, generated } = await loadOrCreateKeyRecords(config.keysDir, config.signingAlg, new Date());
  if (generated) logger.warn({ keys_dir: config.keysDir, kid: records[0]!.kid }, 'no signing key found: generated a development key; manage keys with the CLI in production');
  relayInvalidations(cluster);
  relayRateLimits(cluster);
  let stopping = false;
  let exitCode = 0;
  const listening = new Set<number>();
  const stopAll = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  const exitWhenNoWorkers = () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  };
  const startFailed = (message: string) => {
    if (stopping) return;
    stopping = true;
    exitCode = 1;
    logger.fatal({ workers }, `start-up failed: ${message}`);
    stopAll();
    exitWhenNoWorkers();
  };
  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('message', (_worker, message: unknown) => {
    if (isStartFailed(message)) startFailed(message.message);
  });
  cluster.on('exit', (worker, code, signal) => {
    const served = listening.delete(worker.id);
    if (stopping) return exitWhenNoWorkers();
    if (!served) {
      // The worker's own reason may still be in the IPC pipe: give it a moment to arrive first.
      setTimeout(() => startFailed(`a worker exited before it was listening (${signal ?? `exit code ${code}`})`), 200);
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
    stopAll();
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
  // Made here so the caches report their hits to the same registry the app exposes.
  const metrics = new Metrics();
  // State changes are published here; in a cluster the worker relay tells the other workers' caches.
  const events = new EventBus((error, event) => logger.error({ err_name: (error as Error)?.name, event: event.type }, 'event subscriber failed'));
  const bus = cluster.isWorker ? workerBus() : localBus;
  events.subscribe(relayToWorkers(bus));
  const runtime = await openRuntime(config, logger, { onLookupBatch: (operation, keys) => metrics.lookupBatch(operation, keys) });
  const changeStream = runtime.store instanceof MongoStore && config.mongodbUri ? { uri: config.mongodbUri, dbName: runtime.store.dbName } : undefined;
  // Database calls are timed below the caches, so store metrics count round trips only (docs/operations.md, "Metrics");
  // the embedded store is this process's memory, with no round trip to time.
  const timedStore = runtime.store.kind === 'memory' ? runtime.store : instrumentStore(runtime.store, metrics);
  const caches = await createCaches({ config, logger, metrics, store: timedStore, clock: runtime.clock, bus, ...(changeStream ? { changeStream } : {}) });
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
  // Resolves once listening; a port in use (or any listen error) rejects, and start-up fails with one line.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { port, issuer: config.issuer, store: store.kind, admin_api: config.adminToken !== null, cache_ttl_seconds: config.cacheTtlSeconds },
    'listening',
  );

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

function main(): void {
  const config = loadConfigOrExit();
  const base = createLogger({ level: config.logLevel });
  // Each worker's lines say which worker wrote them.
  const logger = cluster.isWorker ? base.child({ worker: cluster.worker?.id }) : base;
  const run = (): Promise<void> => {
    if (cluster.isWorker) return runServer(config, logger);
    const workers = workerCount(config, logger);
    return workers > 1 ? runPrimary(config, logger, workers) : runServer(config, logger);
  };
  run().catch((error: unknown) => failStart(logger, config, error));
}

main();
