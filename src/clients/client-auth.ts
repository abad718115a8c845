import { hash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { peeked, type ApiClient, type ClientAuthMethod, type ClientStore, type Store } from '../store/types.js';
import { ASSERTION_ALGORITHMS, ClientAssertionVerifier } from './client-assertion.js';
import { ClientAuthFailure, type ClientAuthFailureReason } from './client-auth-failure.js';

export { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE } from './client-assertion.js';
export { CLIENT_AUTH_FAILED, ClientAuthFailure, type ClientAuthFailureReason } from './client-auth-failure.js';

/** Credentials of the shared-secret methods (RFC 6749 §2.3.1). */
export type PresentedSecret = { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string };

/**
 * What a request presented to authenticate its client. `none`: nothing
 * usable; the failure is raised by `ClientAuthenticator.authenticate`, so
 * that it is answered and logged like every other.
 */
export type PresentedCredentials =
  | PresentedSecret
  /** RFC 7521 §4.2: `client_id` is optional; when sent it must name the assertion's client. */
  | { method: 'jwt_assertion'; clientId: string | undefined; assertion: string }
  | { method: 'none'; reason: ClientAuthFailureReason };

/** Every method a client can register. */
export const clientAuthMethods: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'];

/** The methods this server can serve now: `client_secret_jwt` needs `CLIENT_SECRET_KEY`. */
export function supportedAuthMethods(config: Pick<Config, 'clientSecretKey'>): ClientAuthMethod[] {
  return clientAuthMethods.filter((m) => m !== 'client_secret_jwt' || config.clientSecretKey !== null);
}

/** RFC 8414 `*_endpoint_auth_signing_alg_values_supported`. */
export function supportedAssertionAlgorithms(config: Pick<Config, 'clientSecretKey'>): string[] {
  return [...ASSERTION_ALGORITHMS.private_key_jwt, ...(config.clientSecretKey !== null ? ASSERTION_ALGORITHMS.client_secret_jwt : [])];
}

/** SHA-256 (base64url) of a client secret: the stored form. */
export function hashClientSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
}

/** Compared when the client does not exist, so that case costs the same. */
const UNKNOWN_CLIENT_HASH = hashClientSecret('unknown client: no secret matches this');

/**
 * Authenticates a client by shared secret. Secrets are 256-bit random values,
 * so one SHA-256 and a constant-time comparison suffice (a slow password hash
 * would only add latency to every call). The comparison runs even for
 * unknown clients. Throws `ClientAuthFailure`.
 */
export function authenticateClient(presented: PresentedSecret, clients: ClientStore): ApiClient | Promise<ApiClient> {
  if (presented.clientId.length > 256) return checkSecret(presented, null);
  // A client this process holds (the embedded store, the cache) is checked at once, without a promise.
  const known = peeked(clients.peekById?.(presented.clientId));
  if (known !== undefined) return checkSecret(presented, known);
  return clients.findById(presented.clientId).then((client) => checkSecret(presented, client));
}

/** The comparison runs for unknown clients too, against a hash no secret matches, so that case costs the same. */
function checkSecret(presented: PresentedSecret, client: ApiClient | null): ApiClient {
  // Assertion clients have no hash: the comparison still runs, and fails.
  const expected = Buffer.from(client?.secretHash ?? UNKNOWN_CLIENT_HASH, 'base64url');
  const actual = hash('sha256', presented.clientSecret, 'buffer');
  const secretOk = expected.length === actual.length && timingSafeEqual(expected, actual) && typeof client?.secretHash === 'string';
  if (!client) throw new ClientAuthFailure('unknown_client');
  // A client uses the method it registered (RFC 7591 §2), nothing weaker or different.
  if (client.authMethod !== presented.method) throw new ClientAuthFailure('method_not_registered', client.id);
  if (!secretOk) throw new ClientAuthFailure('wrong_secret', client.id);
  return client;
}

/** Failures an operator should look at; the rest are the callers' own mistakes (or probes). */
const OPERATOR_ATTENTION: Partial<Record<ClientAuthFailureReason, { level: 'warn' | 'error'; msg: string }>> = {
  jwks_unavailable: { level: 'warn', msg: "client authentication failed: the client's jwks_uri could not be fetched" },
  client_secret_key_unavailable: { level: 'error', msg: 'client authentication failed: CLIENT_SECRET_KEY is unset or the client has no sealed secret' },
  client_secret_unreadable: { level: 'error', msg: 'client authentication failed: the sealed client secret does not open (was CLIENT_SECRET_KEY changed?)' },
};

export interface ClientAuthenticatorDeps {
  config: Pick<Config, 'issuer' | 'clockSkewSeconds' | 'clientSecretKey' | 'jwksUriAllowLoopback'>;
  store: Pick<Store, 'clients' | 'replays'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Client authentication for one app: shared-secret methods, and JWT
 * assertions (with the app's cache of clients' remote key sets).
 */
export class ClientAuthenticator {
  readonly #deps: ClientAuthenticatorDeps;
  readonly #assertions: ClientAssertionVerifier;

  constructor(deps: ClientAuthenticatorDeps) {
    this.#deps = deps;
    this.#assertions = new ClientAssertionVerifier(deps);
  }

  /**
   * `endpointUrl` is the URL being called: an accepted assertion audience
   * besides the issuer. Every failure is the same `ClientAuthFailure` to the
   * caller, and one `client.auth_failed` line for the operator, with the
   * request's id so it can be found beside the request's own line.
   */
  authenticate(presented: PresentedCredentials, endpointUrl: string, requestId?: string): ApiClient | Promise<ApiClient> {
    // A client checked at once answers at once (no promise); a failure is logged and thrown either way.
    try {
      if (presented.method === 'none') throw new ClientAuthFailure(presented.reason);
      const verified =
        presented.method === 'jwt_assertion'
          ? this.#assertions.verify(presented.assertion, presented.clientId, endpointUrl)
          : authenticateClient(presented, this.#deps.store.clients);
      return verified instanceof Promise ? verified.catch((error: unknown) => this.#failed(error, presented.method, requestId)) : verified;
    } catch (error) {
      return this.#failed(error, presented.method, requestId);
    }
  }

  #failed(error: unknown, method: PresentedCredentials['method'], requestId: string | undefined): never {
    if (error instanceof ClientAuthFailure) this.#logFailure(error, method, requestId);
    throw error;
  }

  /** Never a secret, assertion or token: the reason code, the method, and the id of a registered client. */
  #logFailure(failure: ClientAuthFailure, method: PresentedCredentials['method'], requestId: string | undefined): void {
    // A failing jwks_uri in its cooldown was reported when it failed.
    const attention = failure.detail === 'cooling_down' ? undefined : OPERATOR_ATTENTION[failure.reason];
    const line = {
      event: 'client.auth_failed',
      ...(requestId !== undefined ? { req_id: requestId } : {}),
      reason: failure.reason,
      method,
      ...(failure.clientId !== undefined ? { client_id: failure.clientId } : {}),
      ...(failure.detail !== undefined ? { detail: failure.detail } : {}),
    };
    this.#deps.logger[attention?.level ?? 'info'](line, attention?.msg ?? 'client authentication failed');
  }
}
