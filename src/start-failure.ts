import type { Config } from './config/index.js';
import { KeyFileError } from './keys/keystore.js';
import { StoreUnavailableError } from './store/types.js';

/**
 * Why the server could not start, as one sentence that names the setting to
 * change: what an operator reads in a supervisor's log. Never a stack trace,
 * never a connection string (it may hold a password).
 */
export function describeStartFailure(error: unknown, config: Pick<Config, 'port' | 'host' | 'keysDir'>): string {
  const e = error as NodeJS.ErrnoException | null;
  const where = `port ${config.port} on ${config.host}`;
  if (e?.syscall === 'listen' || e?.syscall === 'bind' || e?.syscall === 'getaddrinfo') {
    switch (e.code) {
      case 'EADDRINUSE':
        return `${where} is already in use (set PORT)`;
      case 'EACCES':
        return `${where} needs privileges this process does not have (set PORT to 1024 or above)`;
      case 'EADDRNOTAVAIL':
        return `address ${config.host} is not an address of this machine (set HOST)`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `host name ${config.host} cannot be resolved (set HOST)`;
      default:
        return `cannot listen on ${where} (${e.code ?? 'error'}) (check PORT and HOST)`;
    }
  }
  if (error instanceof KeyFileError) return `signing keys: ${error.message} (check KEYS_DIR)`;
  if (error instanceof StoreUnavailableError) return `${error.message} (check MONGODB_URI and that the database is up)`;
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    // A file-system call at start-up: the key directory is the only path the server writes.
    return `cannot use ${e.path} (${e.code} on ${e.syscall ?? 'access'}) (check KEYS_DIR, now ${config.keysDir})`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
