import { hash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import type { ApiClient, ClientAuthMethod, ClientStore, Store } from '../store/types.js';
import { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE, ClientAssertionVerifier } from './client-assertion.js';
import { InvalidClient, InvalidRequest } from './errors.js';

export { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE } from './client-assertion.js';

/** What a request presented to authenticate its client. */
export type PresentedCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string }
  /** RFC 7521 §4.2: `client_id` is optional; when sent it must name the assertion's client. */
  | { method: 'jwt_assertion'; clientId: string | undefined; assertion: string };

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

function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match) throw new InvalidClient('malformed Basic authorization header');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new InvalidClient('malformed Basic authorization header');
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new InvalidClient('malformed Basic authorization header');
  }
}

/** The client parameters of a request body (form or JSON). */
type ClientParameters = { client_id?: unknown; client_secret?: unknown; client_assertion?: unknown; client_assertion_type?: unknown };

/**
 * RFC 6749 §3.2 (and §3.1): "Parameters sent without a value MUST be treated
 * as if they were omitted from the request." Forms that send every field
 * (the docs page's "Try it out") would otherwise look like a second method.
 */
function withoutEmptyValues(body: ClientParameters): ClientParameters {
  const given = (value: unknown) => (value === '' ? undefined : value);
  return {
    client_id: given(body.client_id),
    client_secret: given(body.client_secret),
    client_assertion: given(body.client_assertion),
    client_assertion_type: given(body.client_assertion_type),
  };
}

/**
 * Finds the credentials in a request: the Authorization header
 * (`client_secret_basic`), body parameters (`client_secret_post`), or a JWT
 * assertion in the body (`private_key_jwt`, `client_secret_jwt`: RFC 7523
 * §2.2). Empty parameters count as omitted (RFC 6749 §3.2). Using more than
 * one method at once is refused (RFC 6749 §2.3).
 */
export function presentedCredentials(authorization: string | undefined, requestBody: ClientParameters): PresentedCredentials {
  const body = withoutEmptyValues(requestBody);
  const inBody = body.client_secret !== undefined;
  const assertion = body.client_assertion !== undefined || body.client_assertion_type !== undefined;
  if ([Boolean(authorization), inBody, assertion].filter(Boolean).length > 1) {
    throw new InvalidRequest('use one client authentication method, not several');
  }
  if (assertion) return presentedAssertion(body);
  if (authorization) {
    if (!/^basic /i.test(authorization)) throw new InvalidClient('unsupported authorization scheme');
    const basic = parseBasic(authorization);
    if (body.client_id !== undefined && body.client_id !== basic.clientId) throw new InvalidClient('client_id does not match the credentials');
    return { method: 'client_secret_basic', ...basic };
  }
  if (inBody) {
    if (typeof body.client_id !== 'string' || typeof body.client_secret !== 'string') {
      throw new InvalidClient('client_id and client_secret are required');
    }
    return { method: 'client_secret_post', clientId: body.client_id, clientSecret: body.client_secret };
  }
  throw new InvalidClient('client authentication is required');
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
function presentedAssertion(body: ClientParameters): PresentedCredentials {
  const { client_assertion: assertion, client_assertion_type: type, client_id: clientId } = body;
  if (typeof type !== 'string') throw new InvalidRequest('parameter client_assertion_type is required with client_assertion');
  if (typeof assertion !== 'string') throw new InvalidRequest('parameter client_assertion is required with client_assertion_type');
  if (type !== CLIENT_ASSERTION_TYPE) throw new InvalidClient('unsupported client_assertion_type');
  if (clientId !== undefined && typeof clientId !== 'string') throw new InvalidClient('client_id must be a non-empty string');
  return { method: 'jwt_assertion', clientId: clientId as string | undefined, assertion };
}

/**
 * Authenticates a client. Secrets are 256-bit random values, so one SHA-256
 * and a constant-time comparison suffice (a slow password hash would only add
 * latency to every call). The comparison runs even for unknown clients.
 */
export async function authenticateClient(presented: PresentedCredentials, clients: ClientStore): Promise<ApiClient> {
  if (presented.method === 'jwt_assertion') throw new InvalidClient('client assertions need a ClientAuthenticator');
  const client = presented.clientId.length <= 256 ? await clients.findById(presented.clientId) : null;
  // Assertion clients have no hash: the comparison still runs, and fails.
  const expected = Buffer.from(client?.secretHash ?? UNKNOWN_CLIENT_HASH, 'base64url');
  const actual = hash('sha256', presented.clientSecret, 'buffer');
  const secretOk = expected.length === actual.length && timingSafeEqual(expected, actual) && typeof client?.secretHash === 'string';
  if (!client || !secretOk) throw new InvalidClient();
  // A client uses the method it registered (RFC 7591 §2), nothing weaker or different.
  if (client.authMethod !== presented.method) throw new InvalidClient(`client is registered for ${client.authMethod}`);
  return client;
}

export interface ClientAuthenticatorDeps {
  config: Pick<Config, 'issuer' | 'clockSkewSeconds' | 'clientSecretKey'>;
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

  /** `endpointUrl` is the URL being called: an accepted assertion audience besides the issuer. */
  async authenticate(presented: PresentedCredentials, endpointUrl: string): Promise<ApiClient> {
    if (presented.method === 'jwt_assertion') return this.#assertions.verify(presented.assertion, presented.clientId, endpointUrl);
    return authenticateClient(presented, this.#deps.store.clients);
  }
}
