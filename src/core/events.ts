import type { ClientAuthMethod, CustomerStatus, TokenFormat } from '../store/types.js';

/** Who made a change: the operator's admin API or CLI, or a client at the revocation endpoint. */
export type Actor = 'admin' | 'cli' | 'revocation_endpoint';

/**
 * What happened, after it happened: every state change the application
 * services make is published as one of these, once, on the one event bus.
 * The audit log, the caches of other workers (and, later, pushed revocation
 * events) subscribe; none of them is called by the code that made the change.
 *
 * Events carry ids only, never a token, token hash or secret, so every
 * subscriber may log them or pass them to another process.
 */
export type DomainEvent =
  /** `customerProfile`: the client sees customers' personal data. */
  | { type: 'client.created'; clientId: string; authMethod: ClientAuthMethod; customerProfile: boolean; via: Actor }
  | { type: 'customer.upserted'; customerId: string; status: CustomerStatus; via: Actor }
  | { type: 'token.issued'; grantId: string; customerId: string; siteId: string | null; format: TokenFormat; via: Actor }
  /** `clientId`: the client that asked, for revocations at the revocation endpoint. */
  | { type: 'token.revoked'; grantId: string; clientId?: string; via: Actor }
  | { type: 'customer.tokens_revoked'; customerId: string; revoked: number; via: Actor }
  /** Not a change: a client asked to revoke a live token not issued to it (RFC 7009 §2.1). */
  | { type: 'token.revocation_refused'; grantId: string; clientId: string; via: Actor };

export type DomainEventHandler = (event: DomainEvent) => void | Promise<void>;

/**
 * The in-process event bus. `publish` resolves once every subscriber has
 * handled the event (a subscriber that relays it to other workers resolves
 * when they have applied it), so an answer sent after it reflects the change
 * everywhere. A failing subscriber never fails the change, which is already
 * made: its error goes to `onError`.
 */
export class EventBus {
  readonly #handlers: DomainEventHandler[] = [];
  readonly #onError: (error: unknown, event: DomainEvent) => void;

  constructor(onError: (error: unknown, event: DomainEvent) => void = () => undefined) {
    this.#onError = onError;
  }

  /** Returns the unsubscribe function. */
  subscribe(handler: DomainEventHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  async publish(event: DomainEvent): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const handler of [...this.#handlers]) {
      try {
        const result = handler(event);
        if (result) pending.push(result.catch((error: unknown) => this.#onError(error, event)));
      } catch (error) {
        this.#onError(error, event);
      }
    }
    if (pending.length > 0) await Promise.all(pending);
  }
}
