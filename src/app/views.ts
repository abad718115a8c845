import { clientMetadata } from '../clients/client-registration.js';
import type { IssuedToken } from '../core/tokens/issue.js';
import type { ApiClient, Customer } from '../store/types.js';

/**
 * How records are shown to the operator: one form for the admin API's JSON
 * and the CLI's output, so the two never differ.
 */

/** A client as listed: RFC 7591 metadata, never a secret, hash or sealed secret. */
export function clientView(client: ApiClient): Record<string, unknown> {
  return clientMetadata(client);
}

export function customerView(c: Customer): Record<string, unknown> {
  return { id: c.id, status: c.status, username: c.username ?? null, email: c.email, first_name: c.firstName, last_name: c.lastName, updated_at: c.updatedAt.toISOString() };
}

/** An issued token, shown once (the server keeps only its grant). */
export function issuedTokenView(issued: IssuedToken & { expiresInSeconds: number }): Record<string, unknown> {
  return {
    auth_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresInSeconds,
    expires_at: issued.grant.expiresAt.toISOString(),
    jti: issued.grant.id,
  };
}
