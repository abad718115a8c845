/**
 * What a cache must forget when the store changes. Events carry ids only,
 * never a token or a token hash, so they are safe to pass between processes.
 */
export type Invalidation =
  | { kind: 'grant'; id: string }
  | { kind: 'customer-grants'; customerId: string }
  | { kind: 'customer'; id: string }
  | { kind: 'client'; id: string }
  /** Everything: used when a change feed broke and events may have been missed. */
  | { kind: 'all' };

/**
 * Carries invalidations to the other processes that cache the same store
 * (cluster workers). `publish` resolves once they have applied the event, or
 * after the bus's own time limit, so a write made through one worker is seen
 * by all of them before its response is sent.
 */
export interface InvalidationBus {
  publish(event: Invalidation): Promise<void>;
  /** Events published by other processes. Returns an unsubscribe function. */
  subscribe(handler: (event: Invalidation) => void): () => void;
}

/** One process: there is nobody else to tell. */
export const localBus: InvalidationBus = {
  publish: async () => undefined,
  subscribe: () => () => undefined,
};

export function isInvalidation(value: unknown): value is Invalidation {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'grant':
    case 'customer':
    case 'client':
      return typeof v.id === 'string';
    case 'customer-grants':
      return typeof v.customerId === 'string';
    case 'all':
      return true;
    default:
      return false;
  }
}
