import { pino } from 'pino';
import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../log.js';
import { openRuntime } from '../runtime.js';
import { runCli, type CliRuntime } from './commands.js';


async function main(): Promise<number> {
  const config = loadConfigOrExit();
  // stdout carries only the command's JSON, so logs go to stderr, written synchronously so none is lost on exit.
  const logger = createLogger({ level: config.logLevel, destination: pino.destination({ dest: 2, sync: true }) });
  const open = async (): Promise<CliRuntime> => {
    const runtime = await openRuntime(config, logger, { generateDevKey: false });
    return { config, ...runtime, close: () => runtime.store.close() };
  };
  return runCli(
    process.argv.slice(2),
    { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) },
    { config, open, logger, ...(process.env.OPEN_LOGIN_URL ? { url: process.env.OPEN_LOGIN_URL } : {}) },
  );
}

main().then(
  (code) => {
    // Exit explicitly: a store that failed half-way through connecting may still hold the event loop open.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
