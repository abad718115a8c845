import { z } from 'zod';
import { reasonCodes } from '../../core/reasons.js';
import { clientAuthMethods } from '../../clients/client-auth.js';

/**
 * Answer bodies, as the routes send them. The OpenAPI document is generated
 * from these (../openapi.ts), and tests check real answers against it. An
 * object whose members are exactly known is strict (`z.strictObject`): an
 * unexpected member, such as a secret, breaks the contract. One that may
 * grow by standard (RFC 7662 §2.2, RFC 8414 §2) is loose.
 */

const authMethod = z.enum(clientAuthMethods as [string, ...string[]]);
const numericDate = z.number().int().meta({ description: 'NumericDate: seconds since 1970-01-01T00:00:00Z (RFC 7519 §2).' });
/** RFC 3339, as `Date.prototype.toISOString` writes it. */
const dateTime = z.iso.datetime();

export const reasonCode = z
  .enum(reasonCodes)
  .meta({ description: 'Why a token is not active. Stable: codes are added, never renamed (README "Reason codes").' });

/** RFC 6749 §5.2. */
export const oauthError = z
  .strictObject({
    error: z.enum(['invalid_request', 'invalid_client', 'invalid_token', 'not_found', 'temporarily_unavailable', 'too_many_requests', 'server_error']),
    error_description: z.string(),
  })
  .meta({ description: 'RFC 6749 §5.2. The description never repeats a parameter\'s value.' });

export const activeIntrospection = z
  .looseObject({
    active: z.literal(true),
    sub: z.string().meta({ description: 'The customer id.' }),
    client_id: z.string().meta({ description: 'The client the token was issued to.' }),
    token_type: z.literal('Bearer'),
    exp: numericDate.meta({ description: 'The earlier of the token\'s `exp` and its grant\'s `expires_at`.' }),
    iat: numericDate,
    nbf: numericDate.optional(),
    iss: z.string(),
    aud: z
      .union([z.string(), z.array(z.string())])
      .meta({ description: 'The token\'s audience (RFC 8707 resource indicators): a string for one, an array for several.' }),
    jti: z.string().meta({ description: 'The grant id.' }),
    site_id: z.string().nullable().optional(),
    username: z.string().optional().meta({
      description: 'The customer\'s username, else their email (RFC 7662 §2.2); only for clients registered with `customer_profile: true`.',
    }),
  })
  .meta({ description: 'RFC 7662 §2.2 for an active token.' });

export const inactiveIntrospection = z
  .strictObject({ active: z.literal(false), reason: reasonCode.optional() })
  .meta({ description: 'Exactly `{"active": false}`, plus `reason` for clients registered with `reason_codes: true`.' });

/** RFC 7662 §2.2. */
export const introspectionResponse = z.union([activeIntrospection, inactiveIntrospection]);

/** RFC 9701: the answer to `Accept: application/token-introspection+jwt`, for clients registered with `introspection_signed_response_alg`. */
export const signedIntrospection = z
  .string()
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  .meta({
    description:
      'RFC 9701 §5: a JWS (`typ: token-introspection+jwt`) whose claims are `iss`, `aud` (the client), `iat` and ' +
      '`token_introspection` holding the JSON answer above.',
  });

/** The customer's profile in a validation answer, for clients registered with `customer_profile: true`. */
const customerProfile = z.strictObject({
  email: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  login_time: dateTime.meta({ description: 'When this token\'s grant was issued (this login).' }),
  previous_login: dateTime.nullable().meta({ description: 'When the customer\'s grant before this one was issued; `null`: none kept.' }),
});

/** The platform's validation answer: RFC 3339 times and a message for people. */
export const validationResponse = z.union([
  z
    .strictObject({
      valid: z.literal(true),
      reason: z.null(),
      customer_id: z.string(),
      site_id: z.string().nullable(),
      audience: z.array(z.string()).min(1).meta({ description: 'The token\'s audience (its `aud`, RFC 8707 resource indicators), always as a list.' }),
      expires_at: dateTime,
      expires_in: z.number().int().meta({ description: 'Seconds from now.' }),
      customer: customerProfile.optional().meta({ description: 'Only for clients registered with `customer_profile: true`.' }),
    })
    .meta({ title: 'valid' }),
  z
    .strictObject({
      valid: z.literal(false),
      reason: reasonCode,
      message: z.string().meta({ description: 'For people; never echoes the token.' }),
      expires_at: dateTime.optional().meta({ description: 'Once the token is known to be genuine.' }),
      expires_in: z.number().int().optional().meta({ description: 'Negative once expired.' }),
    })
    .meta({ title: 'not valid, with a reason' }),
  z.strictObject({ valid: z.literal(false) }).meta({ title: 'not valid (client without reason codes)' }),
]);

/** RFC 8414 §2. */
export const serverMetadata = z
  .looseObject({
    issuer: z.url(),
    jwks_uri: z.url(),
    introspection_endpoint: z.url(),
    introspection_endpoint_auth_methods_supported: z.array(authMethod),
    introspection_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
    introspection_signing_alg_values_supported: z.array(z.string()).optional().meta({ description: 'RFC 9701 §7.' }),
    revocation_endpoint: z.url(),
    revocation_endpoint_auth_methods_supported: z.array(authMethod),
    revocation_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
    response_types_supported: z.array(z.string()).max(0).meta({ description: 'Empty: no authorization endpoint.' }),
    open_login_validation_endpoint: z.url().optional(),
  })
  .meta({ description: 'RFC 8414 §2.' });

/** Members only a private or symmetric key has; never in a published key set. */
const privateKeyMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const publicJwk = z
  .looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') })
  .refine((jwk) => !privateKeyMembers.some((m) => m in jwk), 'a private or symmetric key member')
  // The refinement above, for the document.
  .meta({ not: { anyOf: privateKeyMembers.map((m) => ({ required: [m] })) } });

/** RFC 7517 §5. */
export const jwkSet = z.strictObject({ keys: z.array(publicJwk) }).meta({ description: 'RFC 7517 §5; public members only.' });

export const health = z.strictObject({ status: z.literal('ok') });

export const readiness = z.strictObject({
  status: z.enum(['ready', 'unavailable']),
  store: z.string().meta({ examples: ['memory', 'mongodb'] }),
});

/** A registered client as listed: RFC 7591 metadata, never a secret, hash or sealed secret. */
export const clientView = z
  .strictObject({
    client_id: z.string(),
    client_name: z.string(),
    token_endpoint_auth_method: authMethod,
    reason_codes: z.boolean(),
    customer_profile: z.literal(true).optional().meta({ description: 'Present when the client sees customers\' profiles.' }),
    site_ids: z.array(z.string()).nullable().meta({ description: '`null`: all sites.' }),
    client_id_issued_at: numericDate,
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.string())) }).optional(),
    jwks_uri: z.string().optional(),
    introspection_signed_response_alg: z.string().optional(),
  })
  .meta({ description: 'A client as listed: RFC 7591 metadata, never a secret.' });

/** RFC 7591 §3.2.1: the secret is shown once (none for `private_key_jwt`). */
export const clientRegistration = clientView
  .extend({
    client_secret: z.string().optional().meta({ description: 'Absent for `private_key_jwt` clients.' }),
    client_secret_expires_at: z.literal(0).optional().meta({ description: '0: does not expire. Sent with `client_secret`.' }),
  })
  .meta({ description: 'The client, with its secret shown this once (RFC 7591 §3.2.1).' });

export const clientList = z.strictObject({ clients: z.array(clientView) });

export const customerView = z.strictObject({
  id: z.string(),
  status: z.enum(['active', 'disabled']),
  username: z.string().nullable(),
  email: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  updated_at: dateTime,
});

export const issuedToken = z.strictObject({
  auth_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: dateTime,
  jti: z.string(),
});

export const revokedCount = z.strictObject({ revoked: z.number().int().nonnegative() });

/** `GET /openapi.json`: an OpenAPI document. */
export const openApiObject = z.looseObject({ openapi: z.string(), paths: z.looseObject({}) }).meta({ description: 'OpenAPI 3.1.' });

/**
 * Examples of answers, shown in the document and in the README (the test
 * `the README examples are the OpenAPI examples` keeps them equal).
 */
export const examples = {
  introspectionActive: {
    active: true, sub: 'c42', client_id: 'open-login', token_type: 'Bearer', exp: 1795361552,
    iat: 1795357952, iss: 'http://localhost:3000', aud: 'http://localhost:3000',
    jti: 'qau6uoUy1UplKQfVCYv1kw', site_id: 'energy-intel',
  } satisfies z.input<typeof activeIntrospection>,
  introspectionInactive: { active: false, reason: 'expired' } satisfies z.input<typeof inactiveIntrospection>,
  validationValid: {
    valid: true, reason: null, customer_id: 'c42', site_id: 'energy-intel', audience: ['https://api.energy-intel.example/'],
    expires_at: '2026-11-22T15:32:32.000Z', expires_in: 3599,
  } satisfies z.input<typeof validationResponse>,
  validationWithProfile: {
    valid: true, reason: null, customer_id: 'c42', site_id: 'energy-intel', audience: ['https://api.energy-intel.example/'],
    expires_at: '2026-11-22T15:32:32.000Z', expires_in: 3599,
    customer: {
      email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace',
      login_time: '2026-11-22T14:32:32.000Z', previous_login: '2026-11-20T09:12:05.000Z',
    },
  } satisfies z.input<typeof validationResponse>,
  validationExpired: {
    valid: false, reason: 'expired', message: 'Token expired 33 minutes ago',
    expires_at: '2026-11-22T15:32:32.000Z', expires_in: -1980,
  } satisfies z.input<typeof validationResponse>,
  validationMalformed: {
    valid: false, reason: 'malformed', message: 'Token is not a well-formed Open Login token',
  } satisfies z.input<typeof validationResponse>,
  error: { error: 'invalid_request', error_description: 'parameter token is required' } satisfies z.input<typeof oauthError>,
  metadata: {
    issuer: 'http://localhost:3000', jwks_uri: 'http://localhost:3000/jwks.json',
    introspection_endpoint: 'http://localhost:3000/introspect',
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256', 'PS256', 'HS256'],
    introspection_signing_alg_values_supported: ['ES256'],
    revocation_endpoint: 'http://localhost:3000/revoke',
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
    revocation_endpoint_auth_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256', 'PS256', 'HS256'],
    response_types_supported: [],
    open_login_validation_endpoint: 'http://localhost:3000/api/v1/auth/token/validate',
  } satisfies z.input<typeof serverMetadata>,
  newClient: {
    client_id: 'd73c7h5YysBITof_VvzvmQ', client_name: 'Energy Intel', token_endpoint_auth_method: 'client_secret_basic',
    reason_codes: true, site_ids: null, client_id_issued_at: 1795357950,
    client_secret: '6uYHdgXZx94Os6BpbrvqCDjONqIyPgq54LKvYpcecM4', client_secret_expires_at: 0,
  } satisfies z.input<typeof clientRegistration>,
  issuedToken: {
    auth_token: 'eyJhbGciOiJFUzI1NiIs...', token_type: 'Bearer', expires_in: 3600,
    expires_at: '2026-11-22T15:32:32.000Z', jti: 'qau6uoUy1UplKQfVCYv1kw',
  } satisfies z.input<typeof issuedToken>,
  customer: {
    id: 'c42', status: 'disabled', username: null, email: 'ada@example.com', first_name: null, last_name: null,
    updated_at: '2026-11-22T14:40:02.114Z',
  } satisfies z.input<typeof customerView>,
  revokedCount: { revoked: 2 } satisfies z.input<typeof revokedCount>,
};
