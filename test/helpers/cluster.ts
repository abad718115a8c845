import type { Cluster } from 'node:cluster';
import { EventEmitter } from 'node:events';

/**
 * node:cluster's primary and `count` workers, wired through in-process IPC
 * stand-ins (messages are delivered asynchronously and in order, as over a
 * real channel). `relays` are the primary's handlers (relayInvalidations,
 * relayRateLimits); the worker-side `process` objects are returned.
 */
export function fakeCluster(count: number, relays: Array<(cluster: Cluster) => void>): NodeJS.Process[] {
  const primary = new EventEmitter() as EventEmitter & { workers: Record<number, unknown> };
  primary.workers = {};
  const traffic = { inTransit: 0 };
  const deliver = (emit: () => void) => {
    traffic.inTransit += 1;
    setImmediate(() => {
      emit();
      traffic.inTransit -= 1;
    });
  };
  const procs: NodeJS.Process[] = [];
  for (let id = 1; id <= count; id++) {
    const proc = Object.assign(new EventEmitter(), { connected: true }) as unknown as NodeJS.Process & EventEmitter;
    const worker = Object.assign(new EventEmitter(), {
      id,
      isConnected: () => true,
      send: (message: unknown) => {
        deliver(() => proc.emit('message', message));
        return true;
      },
    });
    proc.send = ((message: unknown) => {
      deliver(() => primary.emit('message', worker, message));
      return true;
    }) as NodeJS.Process['send'];
    primary.workers[id] = worker;
    transit.set(proc, traffic);
    procs.push(proc);
  }
  for (const relay of relays) relay(primary as unknown as Cluster);
  return procs;
}

/** Each fake cluster's count of messages sent and not yet delivered, by its worker processes. */
const transit = new WeakMap<NodeJS.Process, { inTransit: number }>();

/** Messages sent in `proc`'s fake cluster, either way, that have not been delivered yet. */
export function messagesInTransit(proc: NodeJS.Process): number {
  const traffic = transit.get(proc);
  if (!traffic) throw new Error('not a process of a fake cluster');
  return traffic.inTransit;
}
