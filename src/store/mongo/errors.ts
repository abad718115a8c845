/** The one place MongoDB driver errors become store errors, and how they are described in log lines. */
import {
  MongoClientClosedError,
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoStalePrimaryError,
  MongoTopologyClosedError,
} from 'mongodb';
import { DuplicateKeyError, StoreUnavailableError } from '../types.js';

/** Server error codes that mean "could not answer now", not "wrong request". */
const UNAVAILABLE_CODES = new Set<number>([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const UNAVAILABLE_LABELS = [
  MongoErrorLabel.RetryableWriteError,
  MongoErrorLabel.ResetPool,
  MongoErrorLabel.HandshakeError,
  MongoErrorLabel.SystemOverloadedError,
];

/**
 * Driver-internal error classes that are not exported but mean the pool could
 * not serve us. Their `name` carries a `Mongo` prefix (driver 6+), e.g. a
 * checkout that waited `waitQueueTimeoutMS` behind connections stuck on a
 * server that stopped answering.
 */
const UNAVAILABLE_NAMES = new Set([
  'MongoWaitQueueTimeoutError',
  'MongoPoolClosedError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'WaitQueueTimeoutError',
  'PoolClosedError',
  'PoolClearedError',
]);

function isDuplicateKey(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && (err.code === 11000 || err.code === 11001);
}

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof MongoError)) return false;
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoOperationTimeoutError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoClientClosedError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoStalePrimaryError
  ) {
    return true;
  }
  if (UNAVAILABLE_NAMES.has(err.name)) return true;
  if (UNAVAILABLE_LABELS.some((label) => err.hasErrorLabel(label))) return true;
  return typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code);
}

/**
 * The one place driver errors become store errors. Duplicate-key messages are
 * rewritten because the driver's text echoes the key value (a token hash).
 */
export function toStoreError(err: unknown, operation: string): Error {
  if (err instanceof StoreUnavailableError || err instanceof DuplicateKeyError) return err;
  if (isDuplicateKey(err)) {
    const field = Object.keys(err.keyPattern ?? {})[0] ?? '_id';
    return new DuplicateKeyError(`${operation}: duplicate ${field === '_id' ? 'id' : field}`);
  }
  if (isUnavailable(err)) {
    return new StoreUnavailableError(`MongoDB could not answer (${operation})`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** A short, credential-free description of an error for log lines. */
export function describe(err: unknown): string {
  if (err instanceof MongoError) return `${err.name}${err.code === undefined ? '' : ` ${String(err.code)}`}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
