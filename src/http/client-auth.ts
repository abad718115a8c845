import { hash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import type { ApiClient, ClientAuthMethod, ClientStore, Store } from '../store/types.js';
import { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE, ClientAssertionVerifier } from './client-assertion.js';
import { ClientAuthFailure, type ClientAuthFailureReason } from './client-auth-failure.js';
import { InvalidRequest } from './errors.js';

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

/** RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding. */
function formDecode(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value;
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** The id and secret of a Basic header (RFC 7617 §2); null when malformed. */
function parseBasic(header: string): { clientId: string; clientSecret: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

const refused = (reason: ClientAuthFailureReason): PresentedCredentials => ({ method: 'none', reason });

/** The client parameters of a request body (form or JSON). */
type ClientParameters = { client_id?: unknown; client_secret?: unknown; client_assertion?: unknown; client_assertion_type?: unknown };

/**
 * RFC 6749 §3.2 (and §3.1): "Parameters sent without a value MUST be treated
 * as if they were omitted from the request." Forms that send every field
 * (the docs page's "Try it out") would otherwise look like a second method.
 */
const given = (value: unknown): unknown => (value === '' ? undefined : value);

/**
 * Finds the credentials in a request: the Authorization header
 * (`client_secret_basic`), body parameters (`client_secret_post`), or a JWT
 * assertion in the body (`private_key_jwt`, `client_secret_jwt`: RFC 7523
 * §2.2). Empty parameters count as omitted (RFC 6749 §3.2). Using more than
 * one method at once is a malformed request (RFC 6749 §2.3: 400); anything
 * else unusable is a failed authentication, answered by `authenticate`.
 */
export function presentedCredentials(authorization: string | undefined, body: ClientParameters): PresentedCredentials {
  const clientId = given(body.client_id);
  const clientSecret = given(body.client_secret);
  const assertionValue = given(body.client_assertion);
  const assertionType = given(body.client_assertion_type);
  const inBody = clientSecret !== undefined;
  const assertion = assertionValue !== undefined || assertionType !== undefined;
  if (Number(Boolean(authorization)) + Number(inBody) + Number(assertion) > 1) {
    throw new InvalidRequest('use one client authentication method, not several');
  }
  if (assertion) return presentedAssertion(clientId, assertionValue, assertionType);
  if (authorization) {
    if (!/^basic /i.test(authorization)) return refused('unsupported_authorization_scheme');
    const basic = parseBasic(authorization);
    if (!basic) return refused('malformed_authorization');
    if (clientId !== undefined && clientId !== basic.clientId) return refused('client_id_mismatch');
    return { method: 'client_secret_basic', clientId: basic.clientId, clientSecret: basic.clientSecret };
  }
  if (inBody) {
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string') return refused('client_id_missing');
    return { method: 'client_secret_post', clientId, clientSecret };
  }
  return refused('no_credentials');
}

/** `presentedCredentials` for a form-encoded request (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export function presentedFormCredentials(authorization: string | undefined, params: Map<string, string>): PresentedCredentials {
  return presentedCredentials(authorization, {
    client_id: params.get('client_id'),
    client_secret: params.get('client_secret'),
    client_assertion: params.get('client_assertion'),
    client_assertion_type: params.get('client_assertion_type'),
  });
}

/** RFC 7521 §4.2: both parameters are required; only the JWT bearer type is supported. */
function presentedAssertion(clientId: unknown, assertion: unknown, type: unknown): PresentedCredentials {
  if (typeof type !== 'string') throw new InvalidRequest('parameter client_assertion_type is required with client_assertion');
  if (typeof assertion !== 'string') throw new InvalidRequest('parameter client_assertion is required with client_assertion_type');
  if (type !== CLIENT_ASSERTION_TYPE) return refused('unsupported_assertion_type');
  if (clientId !== undefined && typeof clientId !== 'string') return refused('client_id_mismatch');
  return { method: 'jwt_assertion', clientId, assertion };
}

/**
 * Authenticates a client by shared secret. Secrets are 256-bit random values,
 * so one SHA-256 and a constant-time comparison suffice (a slow password hash
 * would only add latency to every call). The comparison runs even for
 * unknown clients. Throws `ClientAuthFailure`.
 */
export async function authenticateClient(presented: PresentedSecret, clients: ClientStore): Promise<ApiClient> {
  const client = presented.clientId.length <= 256 ? await clients.findById(presented.clientId) : null;
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
  async authenticate(presented: PresentedCredentials, endpointUrl: string, requestId?: string): Promise<ApiClient> {
    try {
      if (presented.method === 'none') throw new ClientAuthFailure(presented.reason);
      if (presented.method === 'jwt_assertion') return await this.#assertions.verify(presented.assertion, presented.clientId, endpointUrl);
      return await authenticateClient(presented, this.#deps.store.clients);
    } catch (error) {
      if (error instanceof ClientAuthFailure) this.#logFailure(error, presented.method, requestId);
      throw error;
    }
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
