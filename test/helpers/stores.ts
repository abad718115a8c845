import type { Store } from '../../src/store/types.js';

/** A store part whose every method call is recorded in `calls` as `name.method`, then made. */
function recording<T extends object>(part: T, name: string, calls: string[]): T {
  return new Proxy(part, {
    get: (target, key) => {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(key)}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The store with every call to its grants, customers and clients recorded (peeks included), in order. */
export function countingStore(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const counted: Store = {
    kind: store.kind,
    init: () => store.init(),
    ping: () => store.ping(),
    close: () => store.close(),
    grants: recording(store.grants, 'grants', calls),
    customers: recording(store.customers, 'customers', calls),
    clients: recording(store.clients, 'clients', calls),
    replays: store.replays,
  };
  return { store: counted, calls };
}

/** The same store without its synchronous reads: every grant and customer arrives by `find`. */
export function withoutPeeks(store: Store): Store {
  const strip = <T extends object>(part: T): T =>
    new Proxy(part, {
      get: (target, key) => {
        if (typeof key === 'string' && key.startsWith('peek')) return undefined;
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { ...store, kind: store.kind, grants: strip(store.grants), customers: strip(store.customers), clients: store.clients, replays: store.replays } as Store;
}
