import DataLoader from 'dataloader';
import type { Collection, Document, Filter } from 'mongodb';
import type { Runner } from './runner.js';

/**
 * `batched`: lookups made together share one `find` with `$in` (see
 * `batchedLookup`). `single`: one `findOne` each, for servers that evaluate
 * `$in` by reading the whole collection (FerretDB 1.x), where one batched
 * query costs more than many single ones.
 */
export type LookupMode = 'batched' | 'single';

/** The most keys one batched lookup sends in its `$in`. */
export const MAX_LOOKUP_BATCH = 100;

/** A runner that also knows how lookups go, and hears of each batch sent. */
export interface LookupRunner extends Runner {
  /** Called with each batched lookup's operation and number of distinct keys. */
  batchSent(operation: string, keys: number): void;
  /** The lookup mode in force (it is settled by `init()`). */
  lookups(): LookupMode;
}

/** One lookup by one field: batched with others, or alone. */
export async function lookup<D extends Document>(
  batch: DataLoader<string, D | null>,
  collection: Collection<D>,
  field: '_id' | 'token_hash',
  operation: string,
  runner: LookupRunner,
  key: string,
): Promise<D | null> {
  if (runner.lookups() === 'batched') return batch.load(key);
  const filter = { [field]: key } as Filter<D>;
  return (await runner.run(operation, () => collection.findOne(filter, { maxTimeMS: runner.maxTimeMS }))) as D | null;
}

/**
 * Lookups by one field, gathered: every lookup made while one turn of the
 * event loop runs (the requests whose bytes arrived together) goes to MongoDB
 * as one `find` with `$in`, dispatched before the loop waits for I/O again
 * (`setImmediate`). Under concurrent load each round trip, and the driver's
 * fixed cost per operation, then serves many requests; a lone request waits
 * for nothing. A failed or late batch fails every lookup in it, each with
 * the store error (503 at the edge); nothing is cached here.
 */
export function batchedLookup<D extends Document>(
  collection: Collection<D>,
  field: '_id' | 'token_hash',
  operation: string,
  runner: LookupRunner,
): DataLoader<string, D | null> {
  return new DataLoader<string, D | null>(
    async (keys) => {
      const distinct = [...new Set(keys)];
      runner.batchSent(operation, distinct.length);
      const filter = { [field]: { $in: distinct } } as Filter<D>;
      const docs = (await runner.run(operation, () => collection.find(filter, { maxTimeMS: runner.maxTimeMS }).toArray())) as D[];
      const byKey = new Map<unknown, D>();
      // Were a value ever held twice, the first found answers, as findOne would.
      for (const doc of docs) if (!byKey.has(doc[field])) byKey.set(doc[field], doc);
      return keys.map((key) => byKey.get(key) ?? null);
    },
    { cache: false, maxBatchSize: MAX_LOOKUP_BATCH, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
  );
}
