import { CLIENT_REGISTRATION_MEMBERS, CUSTOMER_CHANGES_MEMBERS, TOKEN_REQUEST_MEMBERS, toMembers } from '../app/admin-members.js';
import type { TokenRequest, TokenToRevoke } from '../app/services.js';
import type { ClientRegistration } from '../clients/client-registration.js';
import type { CustomerChanges } from '../core/customers.js';
import { InvalidInput, NotFoundError } from '../core/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import type { Operations, View } from './operations.js';
import { CommandFailed, UsageError } from './shared.js';

/**
 * The operations through a running server's admin API (`--url`), for a
 * server whose data the CLI cannot reach itself: the embedded store lives in
 * the server's memory. Plain `fetch`, no server code: the CLI stays an
 * adapter of its own. The server applies its own rules and defaults; its
 * RFC 6749 §5.2 error JSON is turned back into the errors the services throw,
 * so the CLI says the same thing, with the same exit status, either way.
 */

/** How long one admin call may take, connection included. */
const CALL_TIMEOUT_MS = 30_000;

/** `--url` / `OPEN_LOGIN_URL`: the server's base URL (its ISSUER, or wherever its port is reached). */
export function adminBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--url: must be an http(s) URL, such as http://localhost:3000');
  }
  if (!/^https?:$/.test(url.protocol)) throw new UsageError('--url: must be an http(s) URL, such as http://localhost:3000');
  // The credential is ADMIN_TOKEN, sent as a bearer token; one in the URL would end up in logs.
  if (url.username !== '' || url.password !== '') throw new UsageError('--url: must not hold a user name or password (ADMIN_TOKEN is the credential)');
  if (url.search !== '' || url.hash !== '') throw new UsageError('--url: must not have a query or fragment');
  return url;
}

export class AdminApiClient implements Operations {
  readonly #base: string;
  readonly #origin: string;
  readonly #authorization: string;
  readonly #fetch: typeof fetch;

  constructor(base: URL, adminToken: string, fetchImpl: typeof fetch = fetch) {
    this.#base = base.href.replace(/\/+$/, '');
    this.#origin = base.origin;
    this.#authorization = `Bearer ${adminToken}`;
    this.#fetch = fetchImpl;
  }

  async registerClient(registration: ClientRegistration): Promise<View> {
    return (await this.#call('POST', '/admin/clients', toMembers(registration, CLIENT_REGISTRATION_MEMBERS))).body;
  }

  async listClients(): Promise<View[]> {
    const { body } = await this.#call('GET', '/admin/clients');
    if (!Array.isArray(body.clients)) throw this.#notTheAdminApi(200);
    return body.clients as View[];
  }

  async getCustomer(id: string): Promise<View> {
    return (await this.#call('GET', `/admin/customers/${encodeURIComponent(id)}`)).body;
  }

  async upsertCustomer(id: string, changes: CustomerChanges): Promise<{ customer: View; created: boolean }> {
    const { status, body } = await this.#call('PUT', `/admin/customers/${encodeURIComponent(id)}`, toMembers(changes, CUSTOMER_CHANGES_MEMBERS));
    return { customer: body, created: status === 201 };
  }

  async disableCustomer(id: string): Promise<View> {
    return (await this.#call('POST', `/admin/customers/${encodeURIComponent(id)}/disable`)).body;
  }

  async issueToken(request: TokenRequest): Promise<View> {
    return (await this.#call('POST', '/admin/tokens', toMembers(request, TOKEN_REQUEST_MEMBERS))).body;
  }

  async revokeToken(which: TokenToRevoke): Promise<0 | 1> {
    const body = 'jti' in which ? { jti: which.jti } : { auth_token: which.token };
    return this.#count(await this.#call('POST', '/admin/tokens/revoke', body)) as 0 | 1;
  }

  async revokeCustomerTokens(customerId: string): Promise<number> {
    return this.#count(await this.#call('POST', `/admin/customers/${encodeURIComponent(customerId)}/revoke-tokens`));
  }

  #count({ body }: { body: View }): number {
    if (typeof body.revoked !== 'number') throw this.#notTheAdminApi(200);
    return body.revoked;
  }

  /** One admin call: its JSON answer on success, else the error the services would have thrown. */
  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; body: View }> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: { Authorization: this.#authorization, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        // A redirect would carry the admin token elsewhere.
        redirect: 'error',
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CommandFailed(`cannot reach the admin API at ${this.#origin} (${cause})`);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw this.#notTheAdminApi(response.status);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw this.#notTheAdminApi(response.status);
    const answer = json as View;
    if (response.ok) return { status: response.status, body: answer };
    throw this.#refusal(response.status, answer);
  }

  /** RFC 6749 §5.2 error JSON, as the error the services throw for the same refusal. */
  #refusal(status: number, answer: View): Error {
    const error = typeof answer.error === 'string' ? answer.error : '';
    const description = typeof answer.error_description === 'string' ? answer.error_description : '';
    if (status === 400 && error === 'invalid_request') {
      // The services word an input error as "field: problem" (InvalidInput), with the admin API's field names.
      const match = /^([a-z_]+(?:\.[0-9]+)?): (.+)$/s.exec(description);
      return match ? new InvalidInput(match[1]!, match[2]!) : new InvalidInput(null, description || 'the request was refused');
    }
    if (status === 404 && error === 'not_found') {
      const what = /^no such (client|customer)$/.exec(description)?.[1] as 'client' | 'customer' | undefined;
      if (what) return new NotFoundError(what);
      return new CommandFailed(`${this.#origin} serves no admin API: is ADMIN_TOKEN set on the server, and --url its base URL?`);
    }
    if (status === 401) return new CommandFailed(`the admin API at ${this.#origin} refused ADMIN_TOKEN (401 ${error || 'unauthorized'}): set it to the server's`);
    if (status === 503) return new StoreUnavailableError(description || 'the server\'s store is unavailable');
    return new CommandFailed(`the admin API answered ${status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}`);
  }

  #notTheAdminApi(status: number): CommandFailed {
    return new CommandFailed(`${this.#origin} did not answer as the admin API (status ${status}): is --url the server's base URL?`);
  }
}
