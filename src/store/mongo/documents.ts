/** MongoDB documents: their stored shape, and mapping to and from the store port's records. */
import { audienceClaim, resourceList } from '../../lib/resource-indicators.js';
import type {
  ApiClient,
  ClientAuthMethod,
  Customer,
  CustomerStatus,
  Grant,
  TokenFormat,
} from '../types.js';

/**
 * Documents as stored. The field names are a public schema: the login service
 * may write grants and customers itself, so they stay snake_case and stable.
 */
export interface GrantDocument {
  _id: string;
  customer_id: string;
  site_id: string | null;
  client_id: string;
  format: TokenFormat;
  token_hash: string | null;
  /** RFC 8707 resource indicators: one absolute URI, or a list of up to 5; absent on older grants. */
  audience?: string | string[];
  issued_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  /** When the customer's previous grant was issued (null: none); absent reads as null. */
  previous_login_at?: Date | null;
}

export interface CustomerDocument {
  _id: string;
  status: CustomerStatus;
  username?: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  updated_at: Date;
}

export interface ClientDocument {
  _id: string;
  name: string;
  /** null for clients that authenticate by JWT assertion. */
  secret_hash: string | null;
  token_endpoint_auth_method: ClientAuthMethod;
  /** client_secret_jwt: the secret sealed under CLIENT_SECRET_KEY. */
  secret_encrypted?: string | null;
  /** private_key_jwt: RFC 7591 `jwks` or `jwks_uri`. */
  jwks?: { keys: Record<string, unknown>[] } | null;
  jwks_uri?: string | null;
  introspection_signed_response_alg?: string | null;
  reason_codes: boolean;
  /** Written only when true: the client sees customers' profiles. */
  customer_profile?: boolean;
  site_ids: string[] | null;
  created_at: Date;
}

/** A used JWT assertion id (RFC 7523 §3): `_id` is JSON `[client_id, jti]`. */
export interface ReplayDocument {
  _id: string;
  client_id: string;
  jti: string;
  expires_at: Date;
}

/** The collection of used JWT assertion ids. */
export const REPLAYS_COLLECTION = 'used_jtis';

// ---------------------------------------------------------------------------
// Mapping to and from the port's records

const TOKEN_FORMATS = { jwt: true, opaque: true } satisfies Record<TokenFormat, true>;
const CUSTOMER_STATUSES = { active: true, disabled: true } satisfies Record<CustomerStatus, true>;
const AUTH_METHODS = {
  client_secret_basic: true,
  client_secret_post: true,
  private_key_jwt: true,
  client_secret_jwt: true,
} satisfies Record<ClientAuthMethod, true>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function validDate(value: unknown): Date | undefined {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;
}

/** A nullable field: absent or null reads as null; a wrong type reads as `undefined` (malformed). */
function nullable<T>(value: unknown, check: (v: unknown) => T | undefined): T | null | undefined {
  if (value === undefined || value === null) return null;
  return check(value);
}

const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((item) => typeof item === 'string') ? [...v] : undefined;
}

function key(value: unknown, allowed: Record<string, true>): string | undefined {
  return typeof value === 'string' && Object.hasOwn(allowed, value) ? value : undefined;
}

export function grantToDocument(grant: Grant): GrantDocument {
  return {
    _id: grant.id,
    customer_id: grant.customerId,
    site_id: grant.siteId,
    client_id: grant.clientId,
    format: grant.format,
    token_hash: grant.tokenHash,
    // Written as the token's `aud` is: a string for one, an array for several.
    ...(grant.audience ? { audience: audienceClaim(grant.audience) } : {}),
    issued_at: grant.issuedAt,
    expires_at: grant.expiresAt,
    revoked_at: grant.revokedAt,
    ...(grant.previousLoginAt !== undefined ? { previous_login_at: grant.previousLoginAt } : {}),
  };
}

/** Returns null when the document lacks a required field or has a wrong type. */
export function grantFromDocument(doc: unknown): Grant | null {
  if (!isRecord(doc)) return null;
  const id = asString(doc._id);
  const customerId = asString(doc.customer_id);
  const clientId = asString(doc.client_id);
  const issuedAt = validDate(doc.issued_at);
  const expiresAt = validDate(doc.expires_at);
  const siteId = nullable(doc.site_id, asString);
  const tokenHash = nullable(doc.token_hash, asString);
  const revokedAt = nullable(doc.revoked_at, validDate);
  const previousLoginAt = nullable(doc.previous_login_at, validDate);
  // Absent or null: a grant from before audiences were recorded. Present but not
  // RFC 8707 resource indicators (or one resource twice): malformed, never read
  // as "no audience". Kept as written, not in normal form: the login service
  // signs its JWT's `aud` from the same value, and they are compared as written.
  const audience = nullable(doc.audience, (v) => (resourceList(v).ok ? (typeof v === 'string' ? [v] : [...(v as string[])]) : undefined));
  if (
    id === undefined ||
    customerId === undefined ||
    clientId === undefined ||
    issuedAt === undefined ||
    expiresAt === undefined ||
    siteId === undefined ||
    tokenHash === undefined ||
    revokedAt === undefined ||
    audience === undefined ||
    previousLoginAt === undefined
  ) {
    return null;
  }
  const format = (key(doc.format, TOKEN_FORMATS) as TokenFormat | undefined) ?? (tokenHash === null ? 'jwt' : 'opaque');
  return {
    id,
    customerId,
    siteId,
    clientId,
    format,
    tokenHash,
    ...(audience !== null ? { audience } : {}),
    issuedAt,
    expiresAt,
    revokedAt,
    // `null` (no login before) is kept apart from a document that does not say.
    ...(doc.previous_login_at !== undefined ? { previousLoginAt } : {}),
  };
}

export function customerToDocument(customer: Customer): CustomerDocument {
  return {
    _id: customer.id,
    status: customer.status,
    ...(customer.username !== undefined ? { username: customer.username } : {}),
    email: customer.email,
    first_name: customer.firstName,
    last_name: customer.lastName,
    updated_at: customer.updatedAt,
  };
}

export function customerFromDocument(doc: unknown): Customer | null {
  if (!isRecord(doc)) return null;
  const id = asString(doc._id);
  const status = key(doc.status, CUSTOMER_STATUSES) as CustomerStatus | undefined;
  if (id === undefined || status === undefined) return null;
  return {
    id,
    status,
    // Present only when the document has the field, as a customer saved without one reads back.
    ...(doc.username !== undefined ? { username: nullable(doc.username, asString) ?? null } : {}),
    email: nullable(doc.email, asString) ?? null,
    firstName: nullable(doc.first_name, asString) ?? null,
    lastName: nullable(doc.last_name, asString) ?? null,
    // Unknown update time reads as the epoch rather than making the customer disappear.
    updatedAt: validDate(doc.updated_at) ?? new Date(0),
  };
}

export function clientToDocument(client: ApiClient): ClientDocument {
  return {
    _id: client.id,
    name: client.name,
    secret_hash: client.secretHash,
    token_endpoint_auth_method: client.authMethod,
    // Members of the assertion methods and RFC 9701 are written only when set.
    ...(client.secretEncrypted ? { secret_encrypted: client.secretEncrypted } : {}),
    ...(client.jwks ? { jwks: structuredClone(client.jwks) } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    ...(client.introspectionSignedResponseAlg ? { introspection_signed_response_alg: client.introspectionSignedResponseAlg } : {}),
    reason_codes: client.reasonCodes,
    ...(client.customerProfile === true ? { customer_profile: true } : {}),
    site_ids: client.siteIds === null ? null : [...client.siteIds],
    created_at: client.createdAt,
  };
}

export function clientFromDocument(doc: unknown): ApiClient | null {
  if (!isRecord(doc)) return null;
  const id = asString(doc._id);
  const secretHash = nullable(doc.secret_hash, asString);
  const secretEncrypted = nullable(doc.secret_encrypted, asString);
  const jwks = nullable(doc.jwks, (v) => (isRecord(v) && Array.isArray(v.keys) && v.keys.every(isRecord) ? { keys: v.keys as Record<string, unknown>[] } : undefined));
  const jwksUri = nullable(doc.jwks_uri, asString);
  const signedResponseAlg = nullable(doc.introspection_signed_response_alg, asString);
  // RFC 7591 §2: an absent method means client_secret_basic. An unknown one is
  // malformed rather than silently downgraded.
  const authMethod =
    doc.token_endpoint_auth_method === undefined || doc.token_endpoint_auth_method === null
      ? 'client_secret_basic'
      : (key(doc.token_endpoint_auth_method, AUTH_METHODS) as ClientAuthMethod | undefined);
  // A broken site list must not widen into "all sites".
  const siteIds = nullable(doc.site_ids, stringArray);
  // A permission to see personal data: only a boolean counts; anything else is malformed, never a grant of it.
  const customerProfile = nullable(doc.customer_profile, (v) => (typeof v === 'boolean' ? v : undefined));
  if (
    id === undefined ||
    secretHash === undefined ||
    authMethod === undefined ||
    siteIds === undefined ||
    secretEncrypted === undefined ||
    jwks === undefined ||
    jwksUri === undefined ||
    signedResponseAlg === undefined ||
    customerProfile === undefined
  ) {
    return null;
  }
  return {
    id,
    name: asString(doc.name) ?? '',
    secretHash,
    authMethod,
    // Optional members are left out when unset, as a client registered without them reads back.
    ...(secretEncrypted !== null ? { secretEncrypted } : {}),
    ...(jwks !== null ? { jwks } : {}),
    ...(jwksUri !== null ? { jwksUri } : {}),
    ...(signedResponseAlg !== null ? { introspectionSignedResponseAlg: signedResponseAlg } : {}),
    reasonCodes: typeof doc.reason_codes === 'boolean' ? doc.reason_codes : true,
    ...(customerProfile === true ? { customerProfile } : {}),
    siteIds,
    createdAt: validDate(doc.created_at) ?? new Date(0),
  };
}
