import { createServer } from 'node:http';
import { ConfigError, loadConfig } from './config/index.js';
import { createApp } from './http/app.js';
import { KeyFileError } from './keys/keystore.js';
import { createLogger } from './log.js';
import { openRuntime } from './runtime.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  let runtime;
  try {
    runtime = await openRuntime(config, logger);
  } catch (error) {
    const message = error instanceof KeyFileError || error instanceof Error ? error.message : String(error);
    logger.fatal({ err_name: (error as Error)?.name }, `start-up failed: ${message}`);
    process.exit(1);
  }
  const app = createApp({ config, logger, ...runtime });
  const server = createServer(app.callback());
  // Slow clients must not hold sockets forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port, issuer: config.issuer, store: runtime.store.kind, admin_api: config.adminToken !== null }, 'listening');
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      void runtime.store.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
