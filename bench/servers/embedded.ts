import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { embeddedBenchApp } from '../embedded-app.js';

/**
 * This server on the embedded store, wired as src/server.ts wires it (same
 * config, caches and app), seeded in-process: the embedded store cannot be
 * written from outside. Logs go to stdout as in production.
 */
const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
const { app, seed } = await embeddedBenchApp(config, logger, Number(process.env.BENCH_TOKENS_N ?? 1));
writeFileSync(process.env.BENCH_TOKENS_FILE!, JSON.stringify(seed.tokens));
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(config.port, '127.0.0.1');
// A clean exit, so that `node --cpu-prof` writes its profile.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)) && server.closeAllConnections());
