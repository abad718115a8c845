import { reasonCodes } from '../core/reasons.js';

/**
 * The OpenAPI 3.1 description of every endpoint, served at `/openapi.json`
 * and rendered at `/docs`. Examples are the README's; a test checks that
 * each one appears there verbatim and that real answers match the schemas.
 */

type Json = Record<string, unknown>;

/**
 * Parts of the contract that are landing now (PRODUCT.md): client
 * authentication by JWT assertion (RFC 7523), signed introspection answers
 * (RFC 9701) and rate limits (429). Kept together so they are easy to adjust.
 */
const landing = {
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
  /** RFC 7523 §2.2 body parameters of the two JWT methods. */
  assertionParameters: {
    client_assertion_type: {
      type: 'string',
      const: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      description: '`private_key_jwt` and `client_secret_jwt` (RFC 7523 §2.2).',
    },
    client_assertion: {
      type: 'string',
      description: 'A JWT signed with the client\'s private key (`private_key_jwt`) or its secret (`client_secret_jwt`), `aud` = this server.',
    },
  },
  /** RFC 9701: `Accept: application/token-introspection+jwt`, for clients registered with `introspection_signed_response_alg`. */
  signedIntrospection: {
    'application/token-introspection+jwt': {
      schema: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
        description:
          'RFC 9701 §5: a JWS (`typ: token-introspection+jwt`) whose claims are `iss`, `aud` (the client), `iat` and ' +
          '`token_introspection` holding the JSON answer above.',
      },
    },
  },
  rateLimited: {
    description:
      'Too many requests (RFC 6585 §4): failed authentications from one address, or requests of one client, over ' +
      'the configured budget.',
    headers: {
      'Retry-After': { $ref: '#/components/headers/Retry-After' },
      RateLimit: { description: 'draft-ietf-httpapi-ratelimit-headers: `"name";r=<remaining>;t=<seconds>`', schema: { type: 'string' } },
      'RateLimit-Policy': { description: 'draft-ietf-httpapi-ratelimit-headers: `"name";q=<quota>;w=<window>`', schema: { type: 'string' } },
    },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
  },
};

/** Examples shared with the README (the test `readme examples are the OpenAPI examples` keeps them equal). */
export const examples = {
  introspectionActive: {
    active: true, sub: 'c42', client_id: 'open-login', token_type: 'Bearer', exp: 1795361552,
    iat: 1795357952, iss: 'http://localhost:3000', aud: 'http://localhost:3000',
    jti: 'qau6uoUy1UplKQfVCYv1kw', site_id: 'energy-intel',
  },
  introspectionInactive: { active: false, reason: 'expired' },
  validationValid: {
    valid: true, reason: null, customer_id: 'c42', site_id: 'energy-intel',
    expires_at: '2026-11-22T15:32:32.000Z', expires_in: 3599,
  },
  validationExpired: {
    valid: false, reason: 'expired', message: 'Token expired 33 minutes ago',
    expires_at: '2026-11-22T15:32:32.000Z', expires_in: -1980,
  },
  validationMalformed: { valid: false, reason: 'malformed', message: 'Token is not a well-formed Open Login token' },
  error: { error: 'invalid_request', error_description: 'parameter token is required' },
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
  },
  newClient: {
    client_id: 'd73c7h5YysBITof_VvzvmQ', client_name: 'Energy Intel', token_endpoint_auth_method: 'client_secret_basic',
    reason_codes: true, site_ids: null, client_id_issued_at: 1795357950,
    client_secret: '6uYHdgXZx94Os6BpbrvqCDjONqIyPgq54LKvYpcecM4', client_secret_expires_at: 0,
  },
  issuedToken: {
    auth_token: 'eyJhbGciOiJFUzI1NiIs...', token_type: 'Bearer', expires_in: 3600,
    expires_at: '2026-11-22T15:32:32.000Z', jti: 'qau6uoUy1UplKQfVCYv1kw',
  },
  customer: {
    id: 'c42', status: 'disabled', email: 'ada@example.com', first_name: null, last_name: null,
    updated_at: '2026-11-22T14:40:02.114Z',
  },
  revokedCount: { revoked: 2 },
} as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, example?: unknown) => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const nullable = (schema: Json) => ({ anyOf: [schema, { type: 'null' }] });
const idString = { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' };
const numericDate = { type: 'integer', description: 'NumericDate: seconds since 1970-01-01T00:00:00Z (RFC 7519 §2).' };
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** Client credentials in the body (`client_secret_post`, or the RFC 7523 assertion methods). */
const bodyClientCredentials = {
  client_id: { type: 'string', description: '`client_secret_post`, and optionally with the assertion methods.' },
  client_secret: { type: 'string', description: '`client_secret_post` only (RFC 6749 §2.3.1).' },
  ...landing.assertionParameters,
};

const schemas: Json = {
  ReasonCode: {
    type: 'string',
    enum: [...reasonCodes],
    description: 'Why a token is not active. Stable: codes are added, never renamed (README "Reason codes").',
  },
  OAuthError: {
    type: 'object',
    description: 'RFC 6749 §5.2. The description never repeats a parameter\'s value.',
    required: ['error', 'error_description'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'string',
        enum: ['invalid_request', 'invalid_client', 'invalid_token', 'not_found', 'temporarily_unavailable', 'too_many_requests', 'server_error'],
      },
      error_description: { type: 'string' },
    },
    example: examples.error,
  },
  IntrospectionRequest: {
    type: 'object',
    required: ['token'],
    properties: {
      token: { type: 'string', minLength: 1, maxLength: 4096, description: 'The token (RFC 7662 §2.1). Never in the URL.' },
      token_type_hint: { type: 'string', description: 'Optional; unknown hints are ignored (RFC 7662 §2.1).' },
      ...bodyClientCredentials,
    },
  },
  RevocationRequest: {
    type: 'object',
    required: ['token'],
    properties: {
      token: { type: 'string', minLength: 1, description: 'RFC 7009 §2.1.' },
      token_type_hint: { type: 'string' },
      ...bodyClientCredentials,
    },
  },
  ActiveIntrospection: {
    type: 'object',
    description: 'RFC 7662 §2.2 for an active token.',
    required: ['active', 'sub', 'client_id', 'token_type', 'exp', 'iat', 'iss', 'aud', 'jti'],
    properties: {
      active: { const: true },
      sub: { type: 'string', description: 'The customer id.' },
      client_id: { type: 'string', description: 'The client the token was issued to.' },
      token_type: { const: 'Bearer' },
      exp: { ...numericDate, description: 'The earlier of the token\'s `exp` and its grant\'s `expires_at`.' },
      iat: numericDate,
      nbf: numericDate,
      iss: { type: 'string' },
      aud: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      jti: { type: 'string', description: 'The grant id.' },
      site_id: nullable({ type: 'string' }),
    },
  },
  InactiveIntrospection: {
    type: 'object',
    description: 'Exactly `{"active": false}`, plus `reason` for clients registered with `reason_codes: true`.',
    required: ['active'],
    additionalProperties: false,
    properties: { active: { const: false }, reason: ref('ReasonCode') },
  },
  IntrospectionResponse: { oneOf: [ref('ActiveIntrospection'), ref('InactiveIntrospection')] },
  ValidationRequest: {
    type: 'object',
    required: ['auth_token'],
    properties: { auth_token: { type: 'string', minLength: 1 }, ...bodyClientCredentials },
  },
  ValidationResponse: {
    oneOf: [
      {
        type: 'object',
        title: 'valid',
        required: ['valid', 'reason', 'customer_id', 'site_id', 'expires_at', 'expires_in'],
        additionalProperties: false,
        properties: {
          valid: { const: true },
          reason: { type: 'null' },
          customer_id: { type: 'string' },
          site_id: nullable({ type: 'string' }),
          expires_at: { type: 'string', format: 'date-time' },
          expires_in: { type: 'integer', description: 'Seconds from now.' },
        },
      },
      {
        type: 'object',
        title: 'not valid, with a reason',
        required: ['valid', 'reason', 'message'],
        additionalProperties: false,
        properties: {
          valid: { const: false },
          reason: ref('ReasonCode'),
          message: { type: 'string', description: 'For people; never echoes the token.' },
          expires_at: { type: 'string', format: 'date-time', description: 'Once the token is known to be genuine.' },
          expires_in: { type: 'integer', description: 'Negative once expired.' },
        },
      },
      {
        type: 'object',
        title: 'not valid (client without reason codes)',
        required: ['valid'],
        additionalProperties: false,
        properties: { valid: { const: false } },
      },
    ],
  },
  ServerMetadata: {
    type: 'object',
    description: 'RFC 8414 §2.',
    required: [
      'issuer', 'jwks_uri', 'introspection_endpoint', 'introspection_endpoint_auth_methods_supported',
      'revocation_endpoint', 'revocation_endpoint_auth_methods_supported', 'response_types_supported',
    ],
    properties: {
      issuer: { type: 'string', format: 'uri' },
      jwks_uri: { type: 'string', format: 'uri' },
      introspection_endpoint: { type: 'string', format: 'uri' },
      introspection_endpoint_auth_methods_supported: { type: 'array', items: { enum: landing.clientAuthMethods } },
      introspection_endpoint_auth_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
      introspection_signing_alg_values_supported: { type: 'array', items: { type: 'string' }, description: 'RFC 9701 §7.' },
      revocation_endpoint: { type: 'string', format: 'uri' },
      revocation_endpoint_auth_methods_supported: { type: 'array', items: { enum: landing.clientAuthMethods } },
      revocation_endpoint_auth_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
      response_types_supported: { type: 'array', maxItems: 0, description: 'Empty: no authorization endpoint.' },
      open_login_validation_endpoint: { type: 'string', format: 'uri' },
    },
  },
  JwkSet: {
    type: 'object',
    description: 'RFC 7517 §5; public members only.',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kty', 'kid', 'alg', 'use'],
          properties: { kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { const: 'sig' } },
          not: { anyOf: ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].map((m) => ({ required: [m] })) },
        },
      },
    },
  },
  Health: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { const: 'ok' } } },
  Readiness: {
    type: 'object',
    required: ['status', 'store'],
    additionalProperties: false,
    properties: { status: { enum: ['ready', 'unavailable'] }, store: { type: 'string', examples: ['memory', 'mongodb'] } },
  },
  NewClient: {
    type: 'object',
    description: 'RFC 7591 names where one exists. `name` or `client_name` is required.',
    anyOf: [{ required: ['name'] }, { required: ['client_name'] }],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      client_name: { type: 'string', minLength: 1, maxLength: 200 },
      token_endpoint_auth_method: { enum: landing.clientAuthMethods, default: 'client_secret_basic' },
      reason_codes: { type: 'boolean', default: true },
      site_ids: { ...nullable({ type: 'array', items: idString, maxItems: 1000 }), description: '`null` or absent: all sites.' },
      jwks: { type: 'object', description: '`private_key_jwt`: the client\'s public keys (RFC 7591 `jwks`).' },
      jwks_uri: { type: 'string', format: 'uri', description: '`private_key_jwt`: where its keys are (RFC 7591).' },
      introspection_signed_response_alg: { type: 'string', description: 'RFC 9701 §6: signed answers with this algorithm.' },
    },
    example: { name: 'Energy Intel' },
  },
  Client: {
    type: 'object',
    required: ['client_id', 'client_name', 'token_endpoint_auth_method', 'reason_codes', 'site_ids', 'client_id_issued_at'],
    properties: {
      client_id: { type: 'string' },
      client_name: { type: 'string' },
      token_endpoint_auth_method: { enum: landing.clientAuthMethods },
      reason_codes: { type: 'boolean' },
      site_ids: nullable({ type: 'array', items: { type: 'string' } }),
      client_id_issued_at: numericDate,
      jwks: nullable({ type: 'object' }),
      jwks_uri: nullable({ type: 'string' }),
      introspection_signed_response_alg: nullable({ type: 'string' }),
    },
  },
  /** A client as listed: never a secret, nor its stored forms. */
  ClientView: {
    allOf: [ref('Client'), { not: { anyOf: ['client_secret', 'secret_hash', 'secret_encrypted'].map((m) => ({ required: [m] })) } }],
  },
  NewClientResponse: {
    description: 'The client, with its secret shown this once (RFC 7591 §3.2.1).',
    allOf: [
      { ...ref('Client') },
      {
        type: 'object',
        properties: {
          client_secret: { type: 'string', description: 'Absent for `private_key_jwt` clients.' },
          client_secret_expires_at: { const: 0, description: '0: does not expire.' },
        },
      },
    ],
  },
  ClientList: { type: 'object', required: ['clients'], properties: { clients: { type: 'array', items: ref('ClientView') } } },
  CustomerUpsert: {
    type: 'object',
    properties: {
      status: { enum: ['active', 'disabled'] },
      email: nullable({ type: 'string', maxLength: 320 }),
      first_name: nullable({ type: 'string', maxLength: 200 }),
      last_name: nullable({ type: 'string', maxLength: 200 }),
    },
    example: { status: 'active', email: 'ada@example.com' },
  },
  Customer: {
    type: 'object',
    required: ['id', 'status', 'email', 'first_name', 'last_name', 'updated_at'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      status: { enum: ['active', 'disabled'] },
      email: nullable({ type: 'string' }),
      first_name: nullable({ type: 'string' }),
      last_name: nullable({ type: 'string' }),
      updated_at: { type: 'string', format: 'date-time' },
    },
  },
  NewToken: {
    type: 'object',
    required: ['customer_id'],
    properties: {
      customer_id: idString,
      site_id: nullable(idString),
      client_id: idString,
      expires_in: { type: 'integer', minimum: 1, description: 'Seconds; at most `MAX_TOKEN_TTL_SECONDS`. Default `DEFAULT_TOKEN_TTL_SECONDS`.' },
      format: { enum: ['jwt', 'opaque'], default: 'jwt' },
    },
    example: { customer_id: 'c42', site_id: 'energy-intel' },
  },
  IssuedToken: {
    type: 'object',
    required: ['auth_token', 'token_type', 'expires_in', 'expires_at', 'jti'],
    additionalProperties: false,
    properties: {
      auth_token: { type: 'string' },
      token_type: { const: 'Bearer' },
      expires_in: { type: 'integer' },
      expires_at: { type: 'string', format: 'date-time' },
      jti: { type: 'string' },
    },
  },
  RevokeToken: {
    oneOf: [
      { type: 'object', required: ['auth_token'], properties: { auth_token: { type: 'string', minLength: 1 } } },
      { type: 'object', required: ['jti'], properties: { jti: { type: 'string', minLength: 1, maxLength: 256 } } },
    ],
  },
  RevokedCount: {
    type: 'object',
    required: ['revoked'],
    additionalProperties: false,
    properties: { revoked: { type: 'integer', minimum: 0 } },
  },
};

const headers: Json = {
  'X-Request-Id': {
    description: 'On every answer: the incoming `X-Request-Id` when well-formed (1-128 of `A-Za-z0-9._:-`), else a new UUID.',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
  'WWW-Authenticate': { description: 'The scheme to authenticate with (RFC 6749 §5.2, RFC 6750 §3).', schema: { type: 'string' } },
};

const errorResponse = (description: string, extraHeaders: Json = {}) => ({
  description,
  headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' }, ...extraHeaders },
  content: json(ref('OAuthError')),
});

const responses: Json = {
  BadRequest: errorResponse('`invalid_request`: a parameter missing, repeated or in the URL, a wrong content type or body.'),
  InvalidClient: errorResponse('`invalid_client`: client authentication failed.', {
    'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' },
  }),
  InvalidToken: errorResponse('`invalid_token`: the bearer credential is missing or wrong.', {
    'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' },
  }),
  NotFound: errorResponse('`not_found`: no such resource (or endpoint).'),
  MethodNotAllowed: errorResponse('`invalid_request`: the path exists but not with this method.'),
  PayloadTooLarge: errorResponse('`invalid_request`: the body is over `BODY_LIMIT_BYTES`.'),
  TooManyRequests: landing.rateLimited,
  Unavailable: errorResponse('`temporarily_unavailable`: the store did not answer in time. Never a verdict.', {
    'Retry-After': { $ref: '#/components/headers/Retry-After' },
  }),
};

/** The responses every client-authenticated endpoint can give besides 200. */
const clientEndpointErrors = {
  400: responseRef('BadRequest'),
  401: responseRef('InvalidClient'),
  405: responseRef('MethodNotAllowed'),
  413: responseRef('PayloadTooLarge'),
  429: responseRef('TooManyRequests'),
  503: responseRef('Unavailable'),
};
const adminErrors = { 400: responseRef('BadRequest'), 401: responseRef('InvalidToken'), 429: responseRef('TooManyRequests') };

const clientSecurity = [{ client_secret_basic: [] }, {}];
const clientSecurityNote =
  'Client authentication with the method the client registered: `client_secret_basic` (the Authorization header), ' +
  'or credentials in the body: `client_secret_post` (`client_id`, `client_secret`), `private_key_jwt` and ' +
  '`client_secret_jwt` (`client_assertion_type`, `client_assertion`, RFC 7523). OpenAPI has no security scheme for ' +
  'body credentials, so they are listed in the request schema and in `x-client-authentication-methods`.';

const ok = (description: string, content?: Json, extra: Json = {}) => ({
  description,
  headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } },
  ...(content ? { content } : {}),
  ...extra,
});

const paths: Json = {
  '/introspect': {
    post: {
      operationId: 'introspect',
      tags: ['OAuth'],
      summary: 'Token introspection (RFC 7662)',
      description: `${clientSecurityNote}\n\nParameters are read from the body only; a \`token\` in the URL is refused.`,
      security: clientSecurity,
      requestBody: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: ref('IntrospectionRequest') } },
      },
      responses: {
        200: ok('The verdict. `Cache-Control: no-store`.', {
          'application/json': {
            schema: ref('IntrospectionResponse'),
            examples: {
              active: { value: examples.introspectionActive },
              inactive: { summary: 'Client with reason codes', value: examples.introspectionInactive },
              inactiveBare: { summary: 'Client without reason codes', value: { active: false } },
            },
          },
          ...landing.signedIntrospection,
        }),
        ...clientEndpointErrors,
      },
    },
  },
  '/api/v1/auth/token/validate': {
    post: {
      operationId: 'validateToken',
      tags: ['Platform'],
      summary: 'Validate a token (JSON)',
      description: `For platform API clients that are not OAuth-aware. ${clientSecurityNote}`,
      security: clientSecurity,
      requestBody: { required: true, content: json(ref('ValidationRequest'), { auth_token: 'eyJhbGciOiJFUzI1NiIs...' }) },
      responses: {
        200: ok('The verdict.', {
          'application/json': {
            schema: ref('ValidationResponse'),
            examples: {
              valid: { value: examples.validationValid },
              expired: { value: examples.validationExpired },
              malformed: { value: examples.validationMalformed },
            },
          },
        }),
        ...clientEndpointErrors,
      },
    },
  },
  '/revoke': {
    post: {
      operationId: 'revoke',
      tags: ['OAuth'],
      summary: 'Token revocation (RFC 7009)',
      description: `200 also for unknown tokens and for tokens of sites the client may not see (RFC 7009 §2.2). A live token is revoked only when it was issued to the calling client (its client_id, or one of the sites the client is limited to); any other is refused with 400 invalid_request (RFC 7009 §2.1). Takes effect on the next introspection. ${clientSecurityNote}`,
      security: clientSecurity,
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: ref('RevocationRequest') } } },
      responses: { 200: ok('Revoked, or not known (empty body).'), ...clientEndpointErrors },
    },
  },
  '/.well-known/oauth-authorization-server': {
    get: {
      operationId: 'serverMetadata',
      tags: ['Discovery'],
      summary: 'Authorization server metadata (RFC 8414)',
      security: [],
      responses: { 200: ok('Metadata.', json(ref('ServerMetadata'), examples.metadata)) },
    },
  },
  '/jwks.json': {
    get: {
      operationId: 'jwks',
      tags: ['Discovery'],
      summary: 'Public signing keys (RFC 7517 JWK Set)',
      security: [],
      responses: { 200: ok('Current key and retired keys still verifying unexpired tokens.', { 'application/jwk-set+json': { schema: ref('JwkSet') } }) },
    },
  },
  '/healthz': {
    get: {
      operationId: 'liveness',
      tags: ['Operations'],
      summary: 'Liveness',
      security: [],
      responses: { 200: ok('The process answers.', json(ref('Health'), { status: 'ok' })) },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readiness',
      tags: ['Operations'],
      summary: 'Readiness: the store answers',
      security: [],
      responses: {
        200: ok('Ready.', json(ref('Readiness'), { status: 'ready', store: 'mongodb' })),
        503: {
          description: 'The store does not answer.',
          headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
          content: json(ref('Readiness'), { status: 'unavailable', store: 'mongodb' }),
        },
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      tags: ['Operations'],
      summary: 'Prometheus metrics',
      description: 'Text exposition format. Needs `Authorization: Bearer $METRICS_TOKEN` when `METRICS_TOKEN` is set.',
      security: [{ metrics_bearer: [] }, {}],
      responses: {
        200: ok('Metrics.', { 'text/plain': { schema: { type: 'string' } } }),
        401: responseRef('InvalidToken'),
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      tags: ['Operations'],
      summary: 'This document',
      security: [],
      responses: { 200: ok('OpenAPI 3.1.', json({ type: 'object', required: ['openapi', 'paths'] })) },
    },
  },
  '/docs': {
    get: {
      operationId: 'docs',
      tags: ['Operations'],
      summary: 'This document, rendered (Swagger UI)',
      security: [],
      responses: { 200: ok('HTML page.', { 'text/html': { schema: { type: 'string' } } }) },
    },
  },
  '/docs/assets/{name}': {
    parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      operationId: 'docsAsset',
      tags: ['Operations'],
      summary: 'Files of the docs page (Swagger UI, served from this server)',
      security: [],
      responses: {
        200: ok('The file.', {
          'text/css': { schema: { type: 'string' } },
          'text/javascript': { schema: { type: 'string' } },
          'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
        }),
        404: responseRef('NotFound'),
      },
    },
  },
  '/admin/clients': {
    post: {
      operationId: 'createClient',
      tags: ['Admin'],
      summary: 'Register an API client',
      requestBody: { required: true, content: json(ref('NewClient')) },
      responses: { 201: ok('The client, with its secret (shown once).', json(ref('NewClientResponse'), examples.newClient)), ...adminErrors },
    },
    get: {
      operationId: 'listClients',
      tags: ['Admin'],
      summary: 'List clients (never secrets)',
      responses: { 200: ok('Clients.', json(ref('ClientList'))), ...adminErrors },
    },
  },
  '/admin/clients/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      operationId: 'getClient',
      tags: ['Admin'],
      summary: 'One client (never its secret)',
      responses: { 200: ok('The client.', json(ref('ClientView'))), 404: responseRef('NotFound'), ...adminErrors },
    },
  },
  '/admin/customers/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: idString }],
    put: {
      operationId: 'upsertCustomer',
      tags: ['Admin'],
      summary: 'Create or update a customer',
      requestBody: { required: true, content: json(ref('CustomerUpsert')) },
      responses: {
        200: ok('Updated.', json(ref('Customer'), examples.customer)),
        201: ok('Created.', json(ref('Customer'))),
        ...adminErrors,
      },
    },
    get: {
      operationId: 'getCustomer',
      tags: ['Admin'],
      summary: 'One customer',
      responses: { 200: ok('The customer.', json(ref('Customer'))), 404: responseRef('NotFound'), ...adminErrors },
    },
  },
  '/admin/customers/{id}/revoke-tokens': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: idString }],
    post: {
      operationId: 'revokeCustomerTokens',
      tags: ['Admin'],
      summary: 'Revoke every token of a customer ("log out everywhere")',
      responses: { 200: ok('How many grants were revoked.', json(ref('RevokedCount'), examples.revokedCount)), ...adminErrors },
    },
  },
  '/admin/tokens': {
    post: {
      operationId: 'issueToken',
      tags: ['Admin'],
      summary: 'Issue a token for an active customer',
      requestBody: { required: true, content: json(ref('NewToken')) },
      responses: { 201: ok('The token.', json(ref('IssuedToken'), examples.issuedToken)), ...adminErrors },
    },
  },
  '/admin/tokens/revoke': {
    post: {
      operationId: 'adminRevokeToken',
      tags: ['Admin'],
      summary: 'Revoke one token, by value or by jti',
      requestBody: { required: true, content: json(ref('RevokeToken'), { jti: 'qau6uoUy1UplKQfVCYv1kw' }) },
      responses: { 200: ok('1 when a grant was revoked, else 0.', json(ref('RevokedCount'), { revoked: 1 })), ...adminErrors },
    },
  },
};

// Every admin operation needs the admin bearer token.
for (const [path, item] of Object.entries(paths)) {
  if (!path.startsWith('/admin/')) continue;
  for (const op of Object.values(item as Json)) {
    if (op && typeof op === 'object' && 'responses' in op) (op as Json).security = [{ admin_bearer: [] }];
  }
}

/**
 * The document. `serverUrl` is the base the endpoints are served from (the
 * issuer); without one, endpoints are relative to where the document is.
 */
export function openApiDocument(options: { serverUrl?: string; version?: string } = {}): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Open Login token introspection',
      version: options.version ?? '0.1.0',
      description:
        'Tells API gateways, OAuth client libraries and platform API clients whether an Open Login `auth.token` is ' +
        'still good, and if not, why. Every answer is JSON with `Cache-Control: no-store`; errors follow RFC 6749 §5.2.',
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: [
      { name: 'OAuth', description: 'RFC 7662 introspection and RFC 7009 revocation' },
      { name: 'Platform', description: 'JSON validation for platform API clients' },
      { name: 'Discovery', description: 'RFC 8414 metadata and signing keys' },
      { name: 'Operations', description: 'Health, metrics and this document' },
      { name: 'Admin', description: 'Mounted only when ADMIN_TOKEN is set' },
    ],
    'x-client-authentication-methods': {
      client_secret_basic: 'RFC 6749 §2.3.1: `Authorization: Basic base64(form-encoded id:secret)`.',
      client_secret_post: 'RFC 6749 §2.3.1: `client_id` and `client_secret` in the body.',
      private_key_jwt: 'RFC 7523 §2.2 / OpenID Connect Core §9: a JWT signed with the client\'s registered key.',
      client_secret_jwt: 'RFC 7523 §2.2 / OpenID Connect Core §9: a JWT signed (HMAC) with the client secret.',
    },
    paths,
    components: {
      schemas,
      responses,
      headers,
      securitySchemes: {
        client_secret_basic: { type: 'http', scheme: 'basic', description: 'RFC 6749 §2.3.1; id and secret form-encoded first.' },
        admin_bearer: { type: 'http', scheme: 'bearer', description: '`ADMIN_TOKEN`.' },
        metrics_bearer: { type: 'http', scheme: 'bearer', description: '`METRICS_TOKEN`, when set.' },
      },
    },
  };
}
