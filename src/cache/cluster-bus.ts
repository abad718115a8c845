import type { Cluster, Worker } from 'node:cluster';
import { isInvalidation, type Invalidation, type InvalidationBus } from './invalidation.js';

/**
 * Cache invalidation across node:cluster workers, relayed by the primary over
 * the IPC channel: worker -> primary -> every other worker -> acknowledgement
 * -> primary -> the worker that published. The publishing worker waits for
 * that answer (or `timeoutMs`), so when a revocation request is answered the
 * other workers have already forgotten the grant.
 */

const PUBLISH = 'open-login:cache:publish';
const APPLY = 'open-login:cache:apply';
const APPLIED = 'open-login:cache:applied';
const DONE = 'open-login:cache:done';

interface Message {
  type: string;
  seq: number;
  event?: Invalidation;
}

const isMessage = (m: unknown): m is Message =>
  m !== null && typeof m === 'object' && typeof (m as Message).type === 'string' && typeof (m as Message).seq === 'number';

/** The bus as seen from a worker process (`process.send` exists). */
export function workerBus(options: { timeoutMs?: number; proc?: NodeJS.Process } = {}): InvalidationBus {
  const proc = options.proc ?? process;
  const timeoutMs = options.timeoutMs ?? 1000;
  if (typeof proc.send !== 'function') throw new Error('workerBus needs an IPC channel (run as a cluster worker)');
  let seq = 0;
  const waiting = new Map<number, () => void>();
  const handlers = new Set<(event: Invalidation) => void>();

  proc.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === DONE) {
      waiting.get(message.seq)?.();
    } else if (message.type === APPLY && isInvalidation(message.event)) {
      for (const handler of handlers) handler(message.event);
      proc.send!({ type: APPLIED, seq: message.seq });
    }
  });

  return {
    publish(event) {
      return new Promise<void>((resolve) => {
        seq += 1;
        const id = seq;
        // A worker that died or hangs must not block writes: the staleness bound still holds for it.
        // The timer is left ref'd on purpose: the caller (a revocation request, say) is waiting
        // on this promise, and an unref'd timer lets the event loop end with it unsettled when
        // nothing else holds the loop open. It lives at most `timeoutMs` (1 s) and is cleared
        // as soon as the primary answers, so it never delays a process's exit by more.
        const timer = setTimeout(finish, timeoutMs);
        function finish() {
          clearTimeout(timer);
          waiting.delete(id);
          resolve();
        }
        waiting.set(id, finish);
        proc.send!({ type: PUBLISH, seq: id, event });
      });
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

/** The primary's part: relays each worker's invalidations to the others and reports back. */
export function relayInvalidations(cluster: Cluster): void {
  let relaySeq = 0;
  /** relay seq -> what is still awaited and whom to tell. */
  const pending = new Map<number, { origin: Worker; originSeq: number; awaiting: Set<number> }>();

  const settle = (relayId: number, workerId: number) => {
    const entry = pending.get(relayId);
    if (!entry) return;
    entry.awaiting.delete(workerId);
    if (entry.awaiting.size === 0) {
      pending.delete(relayId);
      if (entry.origin.isConnected()) entry.origin.send({ type: DONE, seq: entry.originSeq });
    }
  };

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === APPLIED) {
      settle(message.seq, worker.id);
      return;
    }
    if (message.type !== PUBLISH || !isInvalidation(message.event)) return;
    const others = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.id !== worker.id && w.isConnected());
    if (others.length === 0) {
      worker.send({ type: DONE, seq: message.seq });
      return;
    }
    relaySeq += 1;
    pending.set(relaySeq, { origin: worker, originSeq: message.seq, awaiting: new Set(others.map((w) => w.id)) });
    for (const other of others) other.send({ type: APPLY, seq: relaySeq, event: message.event });
  });

  // A worker that exits will never acknowledge: stop waiting for it.
  cluster.on('exit', (worker: Worker) => {
    for (const relayId of [...pending.keys()]) settle(relayId, worker.id);
  });
}
