import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiClient, ClientAuthMethod, ClientStore } from '../store/types.js';
import { InvalidClient, InvalidRequest } from './errors.js';

/** What a request presented to authenticate its client. */
export interface PresentedCredentials {
  method: ClientAuthMethod;
  clientId: string;
  clientSecret: string;
}

export const clientAuthMethods: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];

/** SHA-256 (base64url) of a client secret: the stored form. */
export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Compared when the client does not exist, so that case costs the same. */
const UNKNOWN_CLIENT_HASH = hashClientSecret('unknown client: no secret matches this');

/** RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding. */
function formDecode(value: string): string {
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

/**
 * Finds the credentials in a request: the Authorization header
 * (`client_secret_basic`) or body parameters (`client_secret_post`). Using
 * more than one method at once is refused (RFC 6749 §2.3).
 */
export function presentedCredentials(
  authorization: string | undefined,
  body: { client_id?: unknown; client_secret?: unknown },
): PresentedCredentials {
  const inBody = body.client_secret !== undefined;
  if (authorization) {
    if (inBody) throw new InvalidRequest('use one client authentication method, not several');
    if (!/^basic /i.test(authorization)) throw new InvalidClient('unsupported authorization scheme');
    const basic = parseBasic(authorization);
    if (body.client_id !== undefined && body.client_id !== basic.clientId) throw new InvalidClient('client_id does not match the credentials');
    return { method: 'client_secret_basic', ...basic };
  }
  if (inBody) {
    if (typeof body.client_id !== 'string' || typeof body.client_secret !== 'string' || body.client_id === '') {
      throw new InvalidClient('client_id and client_secret are required');
    }
    return { method: 'client_secret_post', clientId: body.client_id, clientSecret: body.client_secret };
  }
  throw new InvalidClient('client authentication is required');
}

/**
 * Authenticates a client. Secrets are 256-bit random values, so one SHA-256
 * and a constant-time comparison suffice (a slow password hash would only add
 * latency to every call). The comparison runs even for unknown clients.
 */
export async function authenticateClient(presented: PresentedCredentials, clients: ClientStore): Promise<ApiClient> {
  const client = presented.clientId.length <= 256 ? await clients.findById(presented.clientId) : null;
  const expected = Buffer.from(client?.secretHash ?? UNKNOWN_CLIENT_HASH, 'base64url');
  const actual = Buffer.from(hashClientSecret(presented.clientSecret), 'base64url');
  const secretOk = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (!client || !secretOk) throw new InvalidClient();
  // A client uses the method it registered (RFC 7591 §2), nothing weaker or different.
  if (client.authMethod !== presented.method) throw new InvalidClient(`client is registered for ${client.authMethod}`);
  return client;
}
