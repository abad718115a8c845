import { z } from 'zod';
import { KEY_SET_MAX_AGE_SECONDS } from '../keys/keystore.js';
import * as requests from './schemas/requests.js';
import * as answers from './schemas/responses.js';
import { examples } from './schemas/responses.js';

export { examples };

/**
 * The OpenAPI 3.1 description of every endpoint, served at `/openapi.json`
 * and rendered at `/docs`. Its schemas are generated (`z.toJSONSchema`) from
 * the zod schemas of ./schemas/, which the routes parse requests with; paths,
 * descriptions, security and examples are written here. Tests check that
 * every example matches its schema, that the document's request schemas
 * accept and refuse the same bodies as the parsers, and that real answers
 * match the document.
 */

type Json = Record<string, unknown>;

/** The document's name for each schema: listed schemas become components, and `$ref`s where nested in one another. */
export const componentSchemas = {
  ReasonCode: answers.reasonCode,
  OAuthError: answers.oauthError,
  IntrospectionRequest: requests.introspectionForm,
  RevocationRequest: requests.revocationForm,
  ActiveIntrospection: answers.activeIntrospection,
  InactiveIntrospection: answers.inactiveIntrospection,
  IntrospectionResponse: answers.introspectionResponse,
  SignedIntrospectionResponse: answers.signedIntrospection,
  ValidationRequest: requests.validationBody,
  ValidationResponse: answers.validationResponse,
  ServerMetadata: answers.serverMetadata,
  JwkSet: answers.jwkSet,
  Health: answers.health,
  Readiness: answers.readiness,
  NewClient: requests.newClientBody,
  ClientView: answers.clientView,
  NewClientResponse: answers.clientRegistration,
  ClientList: answers.clientList,
  CustomerUpsert: requests.customerBody,
  Customer: answers.customerView,
  NewToken: requests.newTokenBody,
  IssuedToken: answers.issuedToken,
  RevokeToken: requests.revokeBody,
  RevokedCount: answers.revokedCount,
  OpenApiDocument: answers.openApiObject,
} satisfies Record<string, z.ZodType>;

type ComponentName = keyof typeof componentSchemas;

/** Without the `$schema` and `$id` a standalone JSON Schema carries: in the document, the dialect is OpenAPI 3.1's. */
function embedded(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/**
 * JSON Schemas of the components. `io: 'input'` describes what the parsers
 * accept: optional members are not required, and members a `z.object` does
 * not name are allowed (it drops them). Answers are strict or loose objects,
 * which read the same either way.
 */
function generatedComponents(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(componentSchemas)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, embedded(schema as Json)]));
}

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const json = (schema: Json, example?: unknown) => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const form = (schema: Json) => ({ 'application/x-www-form-urlencoded': { schema } });
const requestIdHeader = { 'X-Request-Id': headerRef('X-Request-Id') };

const ok = (description: string, content?: Json) => ({ description, headers: requestIdHeader, ...(content ? { content } : {}) });

const headers: Json = {
  'X-Request-Id': {
    description: 'On every answer: the incoming `X-Request-Id` when well-formed (1-128 of `A-Za-z0-9._:-`), else a new id (a random prefix per process and a counter).',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
  'WWW-Authenticate': { description: 'The scheme to authenticate with (RFC 6749 §5.2, RFC 6750 §3).', schema: { type: 'string' } },
};

const errorResponse = (description: string, extraHeaders: Json = {}, example?: unknown) => ({
  description,
  headers: { ...requestIdHeader, ...extraHeaders },
  content: json(ref('OAuthError'), example),
});

const responses: Json = {
  BadRequest: errorResponse('`invalid_request`: a parameter missing, repeated or in the URL, a wrong content type or body.', {}, examples.error),
  InvalidClient: errorResponse('`invalid_client`: client authentication failed.', { 'WWW-Authenticate': headerRef('WWW-Authenticate') }),
  InvalidToken: errorResponse('`invalid_token`: the bearer credential is missing or wrong.', { 'WWW-Authenticate': headerRef('WWW-Authenticate') }),
  NotFound: errorResponse('`not_found`: no such resource (or endpoint).'),
  MethodNotAllowed: errorResponse('`invalid_request`: the path exists but not with this method.'),
  PayloadTooLarge: errorResponse('`invalid_request`: the body is over `BODY_LIMIT_BYTES`.'),
  TooManyRequests: {
    description:
      'Too many requests (RFC 6585 §4): failed authentications from one address, or requests of one client, over ' +
      'the configured budget.',
    headers: {
      'Retry-After': headerRef('Retry-After'),
      RateLimit: { description: 'draft-ietf-httpapi-ratelimit-headers: `"name";r=<remaining>;t=<seconds>`', schema: { type: 'string' } },
      'RateLimit-Policy': { description: 'draft-ietf-httpapi-ratelimit-headers: `"name";q=<quota>;w=<window>`', schema: { type: 'string' } },
    },
    content: json(ref('OAuthError')),
  },
  Unavailable: errorResponse('`temporarily_unavailable`: the store did not answer in time. Never a verdict.', { 'Retry-After': headerRef('Retry-After') }),
};

/** The responses every client-authenticated endpoint can give besides 200. */
const clientEndpointErrors = {
  400: responseRef('BadRequest'), 401: responseRef('InvalidClient'), 405: responseRef('MethodNotAllowed'),
  413: responseRef('PayloadTooLarge'), 429: responseRef('TooManyRequests'), 503: responseRef('Unavailable'),
};
const adminErrors = { 400: responseRef('BadRequest'), 401: responseRef('InvalidToken'), 429: responseRef('TooManyRequests') };

const clientSecurity = [{ client_secret_basic: [] }, {}];
const clientSecurityNote =
  'Client authentication with the method the client registered: `client_secret_basic` (the Authorization header), ' +
  'or credentials in the body: `client_secret_post` (`client_id`, `client_secret`), `private_key_jwt` and ' +
  '`client_secret_jwt` (`client_assertion_type`, `client_assertion`, RFC 7523). OpenAPI has no security scheme for ' +
  'body credentials, so they are listed in the request schema and in `x-client-authentication-methods`.';

const idParameter = (schema: Json) => [{ name: 'id', in: 'path', required: true, schema }];
const platformId = embedded(z.toJSONSchema(requests.id, { io: 'input' }) as Json);

/** An operation. Admin operations get their security below; the others name theirs. */
const operation = (tag: string, operationId: string, summary: string, rest: Json) => ({ operationId, tags: [tag], summary, ...rest });
/** A GET anyone may call. */
const publicGet = (tag: string, operationId: string, summary: string, responses: Json) =>
  ({ get: operation(tag, operationId, summary, { security: [], responses }) });

const paths: Record<string, Json> = {
  '/introspect': {
    post: operation('OAuth', 'introspect', 'Token introspection (RFC 7662)', {
      description: `${clientSecurityNote}\n\nParameters are read from the body only; a \`token\` in the URL is refused.`,
      security: clientSecurity,
      requestBody: { required: true, content: form(ref('IntrospectionRequest')) },
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
          'application/token-introspection+jwt': { schema: ref('SignedIntrospectionResponse') },
        }),
        ...clientEndpointErrors,
      },
    }),
  },
  '/api/v1/auth/token/validate': {
    post: operation('Platform', 'validateToken', 'Validate a token (JSON)', {
      description: `For platform API clients that are not OAuth-aware. ${clientSecurityNote}`,
      security: clientSecurity,
      requestBody: { required: true, content: json(ref('ValidationRequest'), { auth_token: 'eyJhbGciOiJFUzI1NiIs...' }) },
      responses: {
        200: ok('The verdict.', {
          'application/json': {
            schema: ref('ValidationResponse'),
            examples: {
              valid: { value: examples.validationValid },
              'valid, for a client with customer_profile': { value: examples.validationWithProfile },
              expired: { value: examples.validationExpired },
              malformed: { value: examples.validationMalformed },
            },
          },
        }),
        ...clientEndpointErrors,
      },
    }),
  },
  '/revoke': {
    post: operation('OAuth', 'revoke', 'Token revocation (RFC 7009)', {
      description: `200 also for unknown tokens and for tokens of sites the client may not see (RFC 7009 §2.2). A live token is revoked only when it was issued to the calling client (its client_id, or one of the sites the client is limited to); any other is refused with 400 invalid_request (RFC 7009 §2.1). Takes effect on the next introspection. ${clientSecurityNote}`,
      security: clientSecurity,
      requestBody: { required: true, content: form(ref('RevocationRequest')) },
      responses: { 200: ok('Revoked, or not known (empty body).'), ...clientEndpointErrors },
    }),
  },
  '/.well-known/oauth-authorization-server': publicGet('Discovery', 'serverMetadata', 'Authorization server metadata (RFC 8414)', {
    200: ok(`Metadata. \`Cache-Control: public, max-age=${KEY_SET_MAX_AGE_SECONDS}\`.`, json(ref('ServerMetadata'), examples.metadata)),
  }),
  '/jwks.json': publicGet('Discovery', 'jwks', 'Public signing keys (RFC 7517 JWK Set)', {
    200: ok(`Current key, a next key published before it signs, and retired keys still verifying unexpired tokens. \`Cache-Control: public, max-age=${KEY_SET_MAX_AGE_SECONDS}\`: refetch on an unknown \`kid\`.`, { 'application/jwk-set+json': { schema: ref('JwkSet') } }),
  }),
  '/healthz': publicGet('Operations', 'liveness', 'Liveness', { 200: ok('The process answers.', json(ref('Health'), { status: 'ok' })) }),
  '/readyz': publicGet('Operations', 'readiness', 'Readiness: the store answers', {
    200: ok('Ready.', json(ref('Readiness'), { status: 'ready', store: 'mongodb' })),
    503: {
      description: 'The store does not answer.',
      headers: { 'Retry-After': headerRef('Retry-After') },
      content: json(ref('Readiness'), { status: 'unavailable', store: 'mongodb' }),
    },
  }),
  '/metrics': {
    get: operation('Operations', 'metrics', 'Prometheus metrics', {
      description: 'Text exposition format. Needs `Authorization: Bearer $METRICS_TOKEN` when `METRICS_TOKEN` is set.',
      security: [{ metrics_bearer: [] }, {}],
      responses: { 200: ok('Metrics.', { 'text/plain': { schema: { type: 'string' } } }), 401: responseRef('InvalidToken') },
    }),
  },
  '/openapi.json': publicGet('Operations', 'openapi', 'This document', { 200: ok('OpenAPI 3.1.', json(ref('OpenApiDocument'))) }),
  '/docs': publicGet('Operations', 'docs', 'This document, rendered (Swagger UI)', { 200: ok('HTML page.', { 'text/html': { schema: { type: 'string' } } }) }),
  '/docs/assets/{name}': {
    parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    ...publicGet('Operations', 'docsAsset', 'Files of the docs page (Swagger UI, served from this server)', {
      200: ok('The file.', {
        'text/css': { schema: { type: 'string' } },
        'text/javascript': { schema: { type: 'string' } },
        'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
      }),
      404: responseRef('NotFound'),
    }),
  },
  '/admin/clients': {
    post: operation('Admin', 'createClient', 'Register an API client', {
      requestBody: { required: true, content: json(ref('NewClient'), { name: 'Energy Intel' }) },
      responses: { 201: ok('The client, with its secret (shown once).', json(ref('NewClientResponse'), examples.newClient)), ...adminErrors },
    }),
    get: operation('Admin', 'listClients', 'List clients (never secrets)', { responses: { 200: ok('Clients.', json(ref('ClientList'))), ...adminErrors } }),
  },
  '/admin/clients/{id}': {
    parameters: idParameter({ type: 'string' }),
    get: operation('Admin', 'getClient', 'One client (never its secret)', {
      responses: { 200: ok('The client.', json(ref('ClientView'))), 404: responseRef('NotFound'), ...adminErrors },
    }),
  },
  '/admin/customers/{id}': {
    parameters: idParameter(platformId),
    put: operation('Admin', 'upsertCustomer', 'Create or update a customer', {
      requestBody: { required: true, content: json(ref('CustomerUpsert'), { status: 'active', email: 'ada@example.com' }) },
      responses: { 200: ok('Updated.', json(ref('Customer'), examples.customer)), 201: ok('Created.', json(ref('Customer'))), ...adminErrors },
    }),
    get: operation('Admin', 'getCustomer', 'One customer', {
      responses: { 200: ok('The customer.', json(ref('Customer'))), 404: responseRef('NotFound'), ...adminErrors },
    }),
  },
  '/admin/customers/{id}/disable': {
    parameters: idParameter(platformId),
    post: operation('Admin', 'disableCustomer', 'Disable an existing customer: none of its tokens is active any more', {
      responses: { 200: ok('The customer, disabled.', json(ref('Customer'))), 404: responseRef('NotFound'), ...adminErrors },
    }),
  },
  '/admin/customers/{id}/revoke-tokens': {
    parameters: idParameter(platformId),
    post: operation('Admin', 'revokeCustomerTokens', 'Revoke every token of a customer ("log out everywhere")', {
      responses: { 200: ok('How many grants were revoked.', json(ref('RevokedCount'), examples.revokedCount)), ...adminErrors },
    }),
  },
  '/admin/tokens': {
    post: operation('Admin', 'issueToken', 'Issue a token for an active customer', {
      requestBody: { required: true, content: json(ref('NewToken'), { customer_id: 'c42', site_id: 'energy-intel' }) },
      responses: { 201: ok('The token.', json(ref('IssuedToken'), examples.issuedToken)), ...adminErrors },
    }),
  },
  '/admin/tokens/revoke': {
    post: operation('Admin', 'adminRevokeToken', 'Revoke one token, by value or by jti', {
      requestBody: { required: true, content: json(ref('RevokeToken'), { jti: 'qau6uoUy1UplKQfVCYv1kw' }) },
      responses: { 200: ok('1 when a grant was revoked, else 0.', json(ref('RevokedCount'), { revoked: 1 })), ...adminErrors },
    }),
  },
};

// Every admin operation needs the admin bearer token.
for (const [path, item] of Object.entries(paths)) {
  if (!path.startsWith('/admin/')) continue;
  for (const [method, op] of Object.entries(item)) if (method !== 'parameters') (op as Json).security = [{ admin_bearer: [] }];
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
    paths: structuredClone(paths),
    components: {
      schemas: generatedComponents(),
      responses: structuredClone(responses),
      headers: structuredClone(headers),
      securitySchemes: {
        client_secret_basic: { type: 'http', scheme: 'basic', description: 'RFC 6749 §2.3.1; id and secret form-encoded first.' },
        admin_bearer: { type: 'http', scheme: 'bearer', description: '`ADMIN_TOKEN`.' },
        metrics_bearer: { type: 'http', scheme: 'bearer', description: '`METRICS_TOKEN`, when set.' },
      },
    },
  };
}
