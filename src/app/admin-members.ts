import type { ClientRegistration } from '../clients/client-registration.js';
import type { CustomerChanges } from '../core/customers.js';
import type { TokenRequest } from './services.js';

/**
 * The admin API's JSON member for each field of the services' inputs. One
 * table per input, read by the admin routes (a parsed body → the input) and
 * written by the CLI's admin API client (the input → a body), so the API and
 * `open-login --url` cannot disagree on a name. A field added to an input
 * type must be named here: the compiler requires it.
 */
export const CLIENT_REGISTRATION_MEMBERS = {
  name: 'name',
  authMethod: 'token_endpoint_auth_method',
  reasonCodes: 'reason_codes',
  siteIds: 'site_ids',
  jwks: 'jwks',
  jwksUri: 'jwks_uri',
  introspectionSignedResponseAlg: 'introspection_signed_response_alg',
  customerProfile: 'customer_profile',
} as const satisfies Record<keyof ClientRegistration, string>;

export const CUSTOMER_CHANGES_MEMBERS = {
  status: 'status',
  username: 'username',
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
} as const satisfies Record<keyof CustomerChanges, string>;

export const TOKEN_REQUEST_MEMBERS = {
  customerId: 'customer_id',
  siteId: 'site_id',
  clientId: 'client_id',
  expiresInSeconds: 'expires_in',
  format: 'format',
  audience: 'audience',
} as const satisfies Record<keyof TokenRequest, string>;

/**
 * The input's fields from a parsed body, each from its member; the values keep
 * the body's (schema's) types, and a member the body's schema does not have is
 * a compile error.
 */
export type FromMembers<M extends Record<string, string>, B> = { [K in keyof M]: M[K] extends keyof B ? B[M[K]] : never };

export function fromMembers<B extends object, M extends Record<string, keyof B & string>>(body: B, members: M): FromMembers<M, B> {
  const input: Record<string, unknown> = {};
  for (const [field, member] of Object.entries(members)) input[field] = (body as Record<string, unknown>)[member];
  return input as FromMembers<M, B>;
}

/** The body for an input: each field under its member, absent fields left out. */
export function toMembers<T extends object>(input: T, members: Record<keyof T, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of Object.keys(members) as Array<keyof T>) if (input[field] !== undefined) body[members[field]] = input[field];
  return body;
}
