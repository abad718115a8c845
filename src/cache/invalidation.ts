import type { DomainEvent, DomainEventHandler } from '../core/events.js';

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

/** What caches must forget after a domain event; null: nothing (the event changed no cached record). */
export function invalidationOf(event: DomainEvent): Invalidation | null {
  switch (event.type) {
    case 'token.revoked':
      return { kind: 'grant', id: event.grantId };
    case 'customer.tokens_revoked':
      return { kind: 'customer-grants', customerId: event.customerId };
    case 'customer.upserted':
      return { kind: 'customer', id: event.customerId };
    case 'client.created':
      return { kind: 'client', id: event.clientId };
    case 'token.issued':
    case 'token.revocation_refused':
      // Absent records are never cached, so a new grant needs no invalidation.
      return null;
  }
}

/**
 * The worker relay: a subscriber of the domain event bus that tells the
 * other workers' caches what to forget, and resolves once they have (or at
 * the bus's time limit), so the answer to the change is sent after every
 * worker applied it. This process's own cache forgot it when the write went
 * through it (CachedStore).
 */
export function relayToWorkers(bus: InvalidationBus): DomainEventHandler {
  return (event) => {
    const invalidation = invalidationOf(event);
    return invalidation ? bus.publish(invalidation) : undefined;
  };
}
