import type { DomainEvent, DomainEventHandler } from '../core/events.js';
import type { Logger } from '../log.js';

/** The audit line of each event: its name, the ids it names (snake_case, as the API names them) and who acted. */
function auditFields(e: DomainEvent): Record<string, unknown> {
  switch (e.type) {
    case 'client.created':
      return { client_id: e.clientId, token_endpoint_auth_method: e.authMethod, customer_profile: e.customerProfile };
    case 'customer.upserted':
      return { customer_id: e.customerId, status: e.status };
    case 'token.issued':
      return { jti: e.grantId, customer_id: e.customerId, site_id: e.siteId, format: e.format };
    case 'token.revoked':
      return { jti: e.grantId, ...(e.clientId !== undefined ? { client_id: e.clientId } : {}) };
    case 'customer.tokens_revoked':
      return { customer_id: e.customerId, revoked: e.revoked };
    case 'token.revocation_refused':
      return { jti: e.grantId, client_id: e.clientId };
  }
}

/**
 * The audit log: one `audit` line per domain event, whoever made the change
 * (admin API, CLI or revocation endpoint). Ids only, never a token or secret.
 */
export function auditLog(logger: Logger): DomainEventHandler {
  return (event) => {
    logger.info({ event: event.type, ...auditFields(event), via: event.via }, 'audit');
  };
}
