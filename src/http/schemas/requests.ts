import { z } from 'zod';
import { clientAuthMethods } from '../../clients/client-auth.js';
import { ID_PATTERN, ID_RULE } from '../../core/ids.js';
import { MAX_RESOURCE_LENGTH, MAX_RESOURCES, normalResourceUri, RESOURCE_RULE, RESOURCE_URI_PATTERN, RESOURCES_RULE } from '../../lib/resource-indicators.js';

/**
 * Request bodies. The routes parse with these schemas and the OpenAPI
 * document (../openapi.ts) is generated from them, so the docs page and the
 * parsers cannot disagree. `.meta()` carries what only the document shows
 * (descriptions, defaults); it changes no parsing. A refinement JSON Schema
 * cannot express is restated in `.meta()` as JSON Schema, and a test
 * (test/docs/openapi-schemas.test.ts) checks that the document's schema and
 * the parser accept and refuse the same bodies.
 */

/** Identifiers from the platform (src/core/ids.ts). */
export const id = z.string().regex(ID_PATTERN, ID_RULE);

/** `POST /admin/clients`: RFC 7591 names where one exists. */
export const newClientBody = z
  .object({
    name: z.string().min(1).max(200).optional(),
    client_name: z.string().min(1).max(200).optional(),
    token_endpoint_auth_method: z
      .enum(clientAuthMethods as [string, ...string[]])
      .optional()
      .meta({ default: 'client_secret_basic' }),
    reason_codes: z.boolean().optional().meta({ default: true }),
    customer_profile: z.boolean().optional().meta({
      default: false,
      description:
        'Whether active answers carry the customer\'s profile (personal data): `username` in introspection, a `customer` object in validation.',
    }),
    site_ids: z.array(id).max(1000).nullable().optional().meta({ description: '`null` or absent: all sites.' }),
    // RFC 7591 §2 / RFC 9701 §6 metadata; checked in depth by buildClient.
    jwks: z
      .unknown()
      .optional()
      .meta({ description: '`private_key_jwt`: the client\'s public keys, an RFC 7517 JWK Set object (RFC 7591 `jwks`). Checked when the client is registered; `null`: absent.' }),
    jwks_uri: z
      .unknown()
      .optional()
      .meta({ description: '`private_key_jwt`: an https URL of a public host where its keys are (RFC 7591). Checked when the client is registered; `null`: absent.' }),
    introspection_signed_response_alg: z
      .unknown()
      .optional()
      .meta({ description: 'RFC 9701 §6: signed answers, with the algorithm of the server\'s signing key. Checked when the client is registered; `null`: absent.' }),
  })
  .refine((b) => b.name !== undefined || b.client_name !== undefined, 'name (or client_name) is required')
  .meta({
    description: 'RFC 7591 names where one exists. `name` or `client_name` is required.',
    // The refinement above, for the document.
    anyOf: [{ required: ['name'] }, { required: ['client_name'] }],
  });

/** `PUT /admin/customers/{id}`. */
export const customerBody = z.object({
  status: z.enum(['active', 'disabled']).optional(),
  username: z
    .string()
    .min(1)
    .max(255)
    .nullable()
    .optional()
    .meta({ description: 'RFC 7662 §2.2 `username`, shown only to clients registered with `customer_profile: true`; `null` clears it.' }),
  email: z.string().max(320).nullable().optional(),
  first_name: z.string().max(200).nullable().optional(),
  last_name: z.string().max(200).nullable().optional(),
});

/** RFC 8707 §2 resource indicator: an absolute URI without a fragment (the pattern says both). */
const resourceUri = z
  .string({ error: RESOURCES_RULE })
  .max(MAX_RESOURCE_LENGTH, RESOURCES_RULE)
  .regex(new RegExp(RESOURCE_URI_PATTERN), RESOURCES_RULE)
  .meta({ description: `RFC 8707 §2: ${RESOURCE_RULE}.`, examples: ['https://api.energy-intel.example/'] });

/** One URI, or a list of different ones; every refusal in the same plain words (never the value). */
const audience = z
  .union(
    [
      resourceUri,
      z
        .array(resourceUri)
        .min(1, RESOURCES_RULE)
        .max(MAX_RESOURCES, RESOURCES_RULE)
        // Different as resources (RFC 3986 §6.2.2): two spellings of one URI are one URI twice.
        .refine((l) => new Set(l.map(normalResourceUri)).size === l.length, RESOURCES_RULE)
        // The refinement above, for the document.
        .meta({ uniqueItems: true }),
    ],
    { error: RESOURCES_RULE },
  )
  .meta({
    description:
      'The token\'s audience, its `aud` (RFC 8707 resource indicators): one URI or a list. Default: the site\'s entry in ' +
      '`SITE_AUDIENCES`, else `TOKEN_AUDIENCE`, else the issuer.',
  });

/** `POST /admin/tokens`. */
export const newTokenBody = z.object({
  customer_id: id,
  site_id: id.nullable().optional(),
  client_id: id.optional().meta({ description: 'Default `DEFAULT_TOKEN_CLIENT_ID`.' }),
  expires_in: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'Seconds; at most `MAX_TOKEN_TTL_SECONDS`. Default `DEFAULT_TOKEN_TTL_SECONDS`.' }),
  format: z.enum(['jwt', 'opaque']).optional().meta({ default: 'jwt' }),
  audience: audience.optional(),
});

/** `POST /admin/tokens/revoke`: the first alternative that parses wins. */
export const revokeBody = z
  .union([z.object({ auth_token: z.string().min(1) }), z.object({ jti: z.string().min(1).max(256) })], {
    error: 'must hold auth_token (the token) or jti (its grant id, 1-256 characters)',
  })
  .meta({ description: 'The token (`auth_token`) or its grant id (`jti`). With both, a non-empty `auth_token` is the one used.' });

/**
 * The example of an optional parameter that is usually left out. The docs
 * page's form (Swagger UI's "Try it out") starts each field at the first
 * example of its schema, or else at the word `string`: without an empty
 * example a request made there carries `client_id=string&client_secret=string`
 * and `client_assertion=string` next to the Basic credentials of the
 * Authorize dialog, which is several client authentication methods at once
 * (400, RFC 6749 §2.3). Sent empty, they count as omitted (RFC 6749 §3.2).
 */
const usuallyOmitted = { examples: [''] };

/**
 * Client credentials in the body: `client_secret_post` (RFC 6749 §2.3.1), or
 * the assertion methods (RFC 7523 §2.2). Empty values count as absent (RFC
 * 6749 §3.2); which method was meant is decided by client authentication.
 */
const bodyClientCredentials = {
  client_id: z.string().optional().meta({ description: '`client_secret_post`, and optionally with the assertion methods.', ...usuallyOmitted }),
  client_secret: z.string().optional().meta({ description: '`client_secret_post` only (RFC 6749 §2.3.1).', ...usuallyOmitted }),
  client_assertion: z.string().optional().meta({
    description: 'A JWT signed with the client\'s private key (`private_key_jwt`) or its secret (`client_secret_jwt`), `aud` = this server.',
    ...usuallyOmitted,
  }),
  client_assertion_type: z.string().optional().meta({
    ...usuallyOmitted,
    description:
      '`private_key_jwt` and `client_secret_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, ' +
      'the only type known; another fails client authentication (401).',
  }),
};

/** `POST /api/v1/auth/token/validate`. */
export const validationBody = z.object({
  auth_token: z.string().optional().meta({
    description:
      'The token; never in the URL. Required: checked after the client is authenticated, so a missing or empty one is ' +
      'a 400 `invalid_request` for an authenticated client.',
  }),
  ...bodyClientCredentials,
});

/** RFC 7662 §2.1 and RFC 7009 §2.1: `token` is required; values arrive as form strings. */
const token = z.string({ error: 'parameter token is required' }).min(1, 'parameter token is required');

/**
 * `POST /introspect` form parameters (RFC 7662 §2.1). Other parameters are
 * ignored; a repeated one, or more than 16, is refused.
 */
export const introspectionForm = z.object({
  token: token.meta({
    description: 'The token (RFC 7662 §2.1). Never in the URL. One longer than 4096 characters is answered `{"active": false}` (`malformed`).',
  }),
  token_type_hint: z.string().optional().meta({ description: 'Optional; unknown hints are ignored (RFC 7662 §2.1).', ...usuallyOmitted }),
  ...bodyClientCredentials,
});

/** `POST /revoke` form parameters (RFC 7009 §2.1). */
export const revocationForm = z.object({
  token: token.meta({ description: 'The token to revoke (RFC 7009 §2.1). Never in the URL.' }),
  token_type_hint: z.string().optional().meta({ description: 'Optional; unknown hints are ignored (RFC 7009 §2.1).', ...usuallyOmitted }),
  ...bodyClientCredentials,
});
