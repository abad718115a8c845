import { MongoClient, type ChangeStream, type ChangeStreamDocument, type Document } from 'mongodb';
import type { Logger } from '../log.js';
import type { Invalidation } from './invalidation.js';

/** Collections whose records the cache holds. */
const WATCHED: Record<string, (id: string) => Invalidation> = {
  grants: (id) => ({ kind: 'grant', id }),
  customers: (id) => ({ kind: 'customer', id }),
  clients: (id) => ({ kind: 'client', id }),
};

export interface ChangeFeed {
  /** false when the server has no change streams: only the staleness bound applies. */
  readonly active: boolean;
  close(): Promise<void>;
}

/**
 * Invalidates cached records as soon as anyone (another service, a shell)
 * changes them in MongoDB, through a change stream on the database. Inserts
 * are ignored (absent records are never cached). Servers without change
 * streams (FerretDB, a standalone mongod) are detected up front: one log line,
 * and the cache relies on its staleness bound. When a running stream breaks,
 * everything cached is dropped (events may have been missed) and the stream
 * is reopened.
 */
export async function openChangeFeed(options: {
  uri: string;
  dbName: string;
  logger: Logger;
  onInvalidation: (event: Invalidation) => void;
  ttlSeconds: number;
  retryMs?: number;
}): Promise<ChangeFeed> {
  const { logger, onInvalidation } = options;
  const retryMs = options.retryMs ?? 1000;
  const client = new MongoClient(options.uri, { serverSelectionTimeoutMS: 5000, appName: 'open-login-cache' });
  const db = client.db(options.dbName);
  const unavailable = async (reason: string): Promise<ChangeFeed> => {
    logger.warn(
      { cache_ttl_seconds: options.ttlSeconds, reason },
      `change streams are unavailable on this server: changes made outside this server are seen within the cache staleness bound (${options.ttlSeconds} s)`,
    );
    await client.close().catch(() => undefined);
    return { active: false, close: async () => undefined };
  };

  try {
    // Probe: an aggregate with $changeStream fails at once where streams are not supported.
    const probe = await db.command({ aggregate: 'grants', pipeline: [{ $changeStream: {} }], cursor: {} });
    const cursorId = (probe as { cursor?: { id?: unknown } }).cursor?.id;
    if (cursorId !== undefined) await db.command({ killCursors: 'grants', cursors: [cursorId] }).catch(() => undefined);
  } catch (error) {
    return unavailable(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
  }

  let closed = false;
  let stream: ChangeStream<Document, ChangeStreamDocument<Document>> | null = null;
  let retry: NodeJS.Timeout | null = null;

  const open = () => {
    if (closed) return;
    const s = db.watch(
      [{ $match: { 'ns.coll': { $in: Object.keys(WATCHED) }, operationType: { $in: ['update', 'replace', 'delete'] } } }],
      { fullDocument: 'default' },
    );
    stream = s;
    s.on('change', (change: ChangeStreamDocument<Document>) => {
      if (!('ns' in change) || !('documentKey' in change)) return;
      const make = WATCHED[(change.ns as { coll?: string }).coll ?? ''];
      const id = (change.documentKey as { _id?: unknown })._id;
      if (make && typeof id === 'string') onInvalidation(make(id));
    });
    s.on('error', (error: Error) => {
      if (closed) return;
      logger.warn({ err_name: error.name, err: error.message }, 'cache change stream failed: cache cleared, reopening');
      onInvalidation({ kind: 'all' });
      void s.close().catch(() => undefined);
      retry = setTimeout(() => {
        retry = null;
        // Events between the failure and now are lost: start from a clean cache.
        onInvalidation({ kind: 'all' });
        open();
      }, retryMs);
      retry.unref();
    });
  };
  open();
  logger.info({ db: options.dbName }, 'cache invalidation follows MongoDB change streams');

  return {
    active: true,
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      await (stream as ChangeStream | null)?.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}
