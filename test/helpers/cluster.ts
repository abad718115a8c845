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
  const procs: NodeJS.Process[] = [];
  for (let id = 1; id <= count; id++) {
    const proc = Object.assign(new EventEmitter(), { connected: true }) as unknown as NodeJS.Process & EventEmitter;
    const worker = Object.assign(new EventEmitter(), {
      id,
      isConnected: () => true,
      send: (message: unknown) => setImmediate(() => proc.emit('message', message)),
    });
    proc.send = ((message: unknown) => {
      setImmediate(() => primary.emit('message', worker, message));
      return true;
    }) as NodeJS.Process['send'];
    primary.workers[id] = worker;
    procs.push(proc);
  }
  for (const relay of relays) relay(primary as unknown as Cluster);
  return procs;
}
