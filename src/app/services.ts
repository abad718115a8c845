import type { Config } from '../config/index.js';
import { auditLog } from './audit.js';
import { ClientAuthenticator, type PresentedCredentials } from '../clients/client-auth.js';
import { buildClient, registrationDeps, type ClientRegistration } from '../clients/client-registration.js';
import type { Clock } from '../core/clock.js';
import { applyCustomerChanges, type CustomerChanges } from '../core/customers.js';
import { InvalidInput, NotFoundError, RevocationRefused } from '../core/errors.js';
import { EventBus, type Actor } from '../core/events.js';
import { ID_RULE, isId } from '../core/ids.js';
import { introspect, type Caller, type IntrospectionDeps, type Verdict } from '../core/introspect.js';
import type { TokenKeys } from '../core/ports.js';
import { decideRevocation } from '../core/revocation.js';
import { issueToken, type IssuedToken } from '../core/tokens/issue.js';
import type { VerifiedTokenCache } from '../core/tokens/verified-cache.js';
import { resourceList } from '../lib/resource-indicators.js';
import type { Logger } from '../log.js';
import type { ApiClient, Customer, Store, TokenFormat } from '../store/types.js';

/** What the services are built from: no module-level singletons. */
export interface ServiceDeps {
  config: Config;
  store: Store;
  keys: TokenKeys;
  clock: Clock;
  logger: Logger;
  /** Cache of verified JWTs; absent: every introspection verifies. */
  verifiedTokens?: VerifiedTokenCache;
  /** Where state changes are published; absent: a bus of this app's own. */
  events?: EventBus;
}

/** A token to issue, as the operator asks for it; absent fields take the configured defaults. */
export interface TokenRequest {
  customerId: string;
  siteId?: string | null;
  clientId?: string;
  expiresInSeconds?: number;
  format?: TokenFormat;
  /**
   * RFC 8707 resource indicators: one absolute URI or a list, as given
   * (checked here). Absent: the site's entry in `SITE_AUDIENCES`, else
   * `TOKEN_AUDIENCE`, else the issuer.
   */
  audience?: unknown;
}

/** One token to revoke, named by the token itself or by its `jti`. */
export type TokenToRevoke = { token: string } | { jti: string };

/**
 * The application services: every operation the HTTP API (OAuth endpoints
 * and admin API) and the CLI offer, each written once here. Adapters parse
 * their own input form (form, JSON, argv) and render their own output; the
 * rules and the order of steps are here: which checks come first, what is
 * written, which event is published.
 */
export class AppServices {
  readonly events: EventBus;
  readonly #deps: ServiceDeps;
  readonly #introspection: IntrospectionDeps;
  readonly #authenticator: ClientAuthenticator;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.events = deps.events ?? new EventBus();
    const { config, store, keys, clock, verifiedTokens } = deps;
    this.#introspection = {
      store,
      keys,
      clock,
      issuer: config.issuer,
      audience: config.audience,
      clockSkewSeconds: config.clockSkewSeconds,
      maxTokenTtlSeconds: config.maxTokenTtlSeconds,
      ...(verifiedTokens ? { verifiedTokens } : {}),
    };
    this.#authenticator = new ClientAuthenticator(deps);
    this.events.subscribe(auditLog(deps.logger));
  }

  // ---- the client-facing operations ----

  /**
   * Client authentication (RFC 6749 §2.3, RFC 7523 §3): throws
   * `ClientAuthFailure`. `endpointUrl` is an accepted assertion audience.
   */
  authenticateClient(presented: PresentedCredentials, endpointUrl: string, requestId?: string): ApiClient | Promise<ApiClient> {
    return this.#authenticator.authenticate(presented, endpointUrl, requestId);
  }

  /** The verdict on a token for a caller (RFC 7662 §2.2; the rules are src/core/introspect.ts). */
  introspect(token: string, caller: Caller): Verdict | Promise<Verdict> {
    return introspect(token, caller, this.#introspection);
  }

  /**
   * RFC 7009 §2.1 for an authenticated client: revokes the token if it was
   * issued to the client (src/core/revocation.ts decides), else refuses
   * with `RevocationRefused`. Unknown and already invalid tokens need
   * nothing (§2.2).
   */
  async revokeAsClient(token: string, client: ApiClient): Promise<void> {
    const decision = await decideRevocation(token, client, this.#introspection);
    if (decision.outcome === 'refused') {
      await this.events.publish({ type: 'token.revocation_refused', grantId: decision.grantId, clientId: client.id, via: 'revocation_endpoint' });
      throw new RevocationRefused();
    }
    if (decision.outcome === 'revoke') await this.#revokeGrant(decision.grantId, 'revocation_endpoint', client.id);
  }

  // ---- the operator's operations (admin API and CLI) ----

  /**
   * Revokes one token for the operator, whoever it was issued to. A token
   * is resolved to its grant by the same decision as introspection (so only
   * an authentic token names a grant). Returns how many grants were revoked.
   */
  async revokeToken(which: TokenToRevoke, via: Actor): Promise<0 | 1> {
    let grantId: string | undefined;
    if ('jti' in which) grantId = which.jti;
    else {
      const verdict = await this.introspect(which.token, { siteIds: null });
      grantId = verdict.active ? verdict.grant.id : verdict.grantId;
    }
    return grantId !== undefined && (await this.#revokeGrant(grantId, via)) ? 1 : 0;
  }

  /** "Log out everywhere": revokes every grant of a customer; returns how many. */
  async revokeCustomerTokens(customerId: string, via: Actor): Promise<number> {
    requireId('customer_id', customerId);
    const revoked = await this.#deps.store.grants.revokeByCustomer(customerId, this.#deps.clock.now());
    await this.events.publish({ type: 'customer.tokens_revoked', customerId, revoked, via });
    return revoked;
  }

  /**
   * Issues a token for an active customer: the grant is written first, so a
   * token never exists without its grant (src/core/tokens/issue.ts).
   */
  async issueToken(request: TokenRequest, via: Actor): Promise<IssuedToken & { expiresInSeconds: number }> {
    const { config, store } = this.#deps;
    requireId('customer_id', request.customerId);
    if (request.siteId != null) requireId('site_id', request.siteId);
    if (request.clientId !== undefined) requireId('client_id', request.clientId);
    const expiresInSeconds = request.expiresInSeconds ?? config.defaultTokenTtlSeconds;
    if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1) throw new InvalidInput('expires_in', 'must be a positive whole number of seconds');
    if (expiresInSeconds > config.maxTokenTtlSeconds) throw new InvalidInput('expires_in', `must be at most ${config.maxTokenTtlSeconds}`);
    const audience = this.#audienceOf(request);
    const customer = await store.customers.findById(request.customerId);
    if (!customer) throw new InvalidInput('customer_id', 'no such customer');
    if (customer.status !== 'active') throw new InvalidInput('customer_id', 'customer is disabled');
    // The customer's login before this one on the same site, recorded on the new grant
    // now so that answers read it from the grant they already have: no query per
    // introspection. Of the same site only: a client limited to one site must not
    // learn when the customer logged in on another (RFC 7662 §4), as it learns
    // nothing of that site's tokens. A grant issued later than now (a login service
    // whose clock is ahead) is no login before this one. Two logins issued at once
    // may both record the same previous one.
    const previousLoginAt = await store.grants.latestIssuedAt(request.customerId, request.siteId ?? null, this.#deps.clock.now());
    const issued = await issueToken(
      {
        customerId: request.customerId,
        siteId: request.siteId ?? null,
        clientId: request.clientId ?? config.defaultTokenClientId,
        expiresInSeconds,
        format: request.format ?? 'jwt',
        audience,
        previousLoginAt,
      },
      { ...this.#deps, issuer: config.issuer, audience: config.audience },
    );
    const { grant } = issued;
    await this.events.publish({ type: 'token.issued', grantId: grant.id, customerId: grant.customerId, siteId: grant.siteId, format: grant.format, via });
    return { ...issued, expiresInSeconds };
  }

  /** The audience a token is issued for: the one asked for, else the site's default, else `TOKEN_AUDIENCE` (the issuer when unset). */
  #audienceOf(request: TokenRequest): string[] {
    if (request.audience !== undefined) {
      const checked = resourceList(request.audience);
      if (!checked.ok) throw new InvalidInput('audience', checked.problem);
      return checked.uris;
    }
    const { siteAudiences, audience } = this.#deps.config;
    const siteDefault = request.siteId != null && siteAudiences !== null ? siteAudiences[request.siteId] : undefined;
    return siteDefault ? [...siteDefault] : [audience];
  }

  /** RFC 7591 registration; the secret is returned once (none for `private_key_jwt`). */
  async registerClient(registration: ClientRegistration, via: Actor): Promise<{ client: ApiClient; secret: string | null }> {
    const { config, clock, keys, store } = this.#deps;
    const registered = await buildClient(registration, registrationDeps(config, clock, keys.current.alg));
    await store.clients.insert(registered.client);
    const { id: clientId, authMethod, customerProfile } = registered.client;
    await this.events.publish({ type: 'client.created', clientId, authMethod, customerProfile: customerProfile === true, via });
    return registered;
  }

  listClients(): Promise<ApiClient[]> {
    return this.#deps.store.clients.list();
  }

  async getClient(id: string): Promise<ApiClient> {
    const client = isId(id) ? await this.#deps.store.clients.findById(id) : null;
    if (!client) throw new NotFoundError('client');
    return client;
  }

  async getCustomer(id: string): Promise<Customer> {
    const customer = isId(id) ? await this.#deps.store.customers.findById(id) : null;
    if (!customer) throw new NotFoundError('customer');
    return customer;
  }

  /** Creates or updates a customer (src/core/customers.ts); `created` tells which. */
  async upsertCustomer(id: string, changes: CustomerChanges, via: Actor): Promise<{ customer: Customer; created: boolean }> {
    requireId('customer_id', id);
    const existing = await this.#deps.store.customers.findById(id);
    return { customer: await this.#saveCustomer(applyCustomerChanges(id, existing, changes, this.#deps.clock.now()), via), created: existing === null };
  }

  /**
   * Disables an existing customer: none of its tokens is active any more.
   * Creating a disabled record for a mistyped id would look like success and
   * block nobody, so an unknown id is `NotFoundError`.
   */
  async disableCustomer(id: string, via: Actor): Promise<Customer> {
    const existing = await this.getCustomer(id);
    return this.#saveCustomer(applyCustomerChanges(id, existing, { status: 'disabled' }, this.#deps.clock.now()), via);
  }

  async #saveCustomer(customer: Customer, via: Actor): Promise<Customer> {
    await this.#deps.store.customers.upsert(customer);
    await this.events.publish({ type: 'customer.upserted', customerId: customer.id, status: customer.status, via });
    return customer;
  }

  async #revokeGrant(grantId: string, via: Actor, clientId?: string): Promise<boolean> {
    const revoked = await this.#deps.store.grants.revoke(grantId, this.#deps.clock.now());
    if (revoked) await this.events.publish({ type: 'token.revoked', grantId, ...(clientId !== undefined ? { clientId } : {}), via });
    return revoked;
  }
}

function requireId(field: string, value: string): void {
  if (!isId(value)) throw new InvalidInput(field, ID_RULE);
}
