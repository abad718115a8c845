import { CLIENT_ASSERTION_TYPE, type ClientAuthFailureReason, type PresentedCredentials } from '../clients/client-auth.js';
import { InvalidRequest } from './errors.js';

/**
 * Reading client credentials off an HTTP request (RFC 6749 §2.3, RFC 7523
 * §2.2). What is done with them is `ClientAuthenticator`'s (src/clients/).
 */

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

