import type { AppServices, TokenRequest, TokenToRevoke } from '../app/services.js';
import { clientView, customerView, issuedTokenView } from '../app/views.js';
import { registrationResponse, type ClientRegistration } from '../clients/client-registration.js';
import type { CustomerChanges } from '../core/customers.js';
import type { Actor } from '../core/events.js';

/** A record as the operator sees it: the admin API's JSON and the CLI's output (src/app/views.ts). */
export type View = Record<string, unknown>;

/**
 * What the client, customer and token commands ask for, whichever way the
 * CLI reaches the data: the application services on the database itself
 * (`ServiceOperations`), or a running server's admin API (`AdminApiClient`,
 * admin-api-client.ts). Each command is written once against this; the
 * rules stay in AppServices either way. Inputs are the services' own types;
 * answers are views, so both ways print the same JSON. Refusals are the
 * services' errors (`InvalidInput`, `NotFoundError`, `StoreUnavailableError`),
 * which the CLI turns into its messages and exit statuses in one place.
 */
export interface Operations {
  /** RFC 7591 registration response: the client's metadata and its secret, shown once. */
  registerClient(registration: ClientRegistration, via: Actor): Promise<View>;
  listClients(): Promise<View[]>;
  getCustomer(id: string): Promise<View>;
  upsertCustomer(id: string, changes: CustomerChanges, via: Actor): Promise<{ customer: View; created: boolean }>;
  disableCustomer(id: string, via: Actor): Promise<View>;
  issueToken(request: TokenRequest, via: Actor): Promise<View>;
  revokeToken(which: TokenToRevoke, via: Actor): Promise<0 | 1>;
  revokeCustomerTokens(customerId: string, via: Actor): Promise<number>;
}

/** The operations on the store itself, through the application services (MONGODB_URI). */
export class ServiceOperations implements Operations {
  constructor(private readonly services: AppServices) {}

  async registerClient(registration: ClientRegistration, via: Actor): Promise<View> {
    const { client, secret } = await this.services.registerClient(registration, via);
    return registrationResponse(client, secret);
  }

  async listClients(): Promise<View[]> {
    return (await this.services.listClients()).map(clientView);
  }

  async getCustomer(id: string): Promise<View> {
    return customerView(await this.services.getCustomer(id));
  }

  async upsertCustomer(id: string, changes: CustomerChanges, via: Actor): Promise<{ customer: View; created: boolean }> {
    const { customer, created } = await this.services.upsertCustomer(id, changes, via);
    return { customer: customerView(customer), created };
  }

  async disableCustomer(id: string, via: Actor): Promise<View> {
    return customerView(await this.services.disableCustomer(id, via));
  }

  async issueToken(request: TokenRequest, via: Actor): Promise<View> {
    return issuedTokenView(await this.services.issueToken(request, via));
  }

  revokeToken(which: TokenToRevoke, via: Actor): Promise<0 | 1> {
    return this.services.revokeToken(which, via);
  }

  revokeCustomerTokens(customerId: string, via: Actor): Promise<number> {
    return this.services.revokeCustomerTokens(customerId, via);
  }
}
