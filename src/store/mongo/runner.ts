import type { Logger } from '../../log.js';
import { StoreUnavailableError } from '../types.js';
import { toStoreError } from './errors.js';

/** How the collection adapters send an operation: bounded, and with its errors made store errors. */
export interface Runner {
  run<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  readonly maxTimeMS: number;
  readonly logger: Logger;
}

/**
 * Runs one operation under a client-side deadline, for a server that accepts
 * requests but never replies, and turns whatever it throws into a store error.
 */
export async function runBounded<T>(operation: string, fn: () => Promise<T>, deadlineMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreUnavailableError(`MongoDB did not answer within ${deadlineMs} ms (${operation})`)),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([fn(), deadline]);
  } catch (err) {
    throw toStoreError(err, operation);
  } finally {
    clearTimeout(timer);
  }
}
