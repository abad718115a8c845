import Router from '@koa/router';
import { z } from 'zod';
import { applyCustomerChanges } from '../../core/customers.js';
import { introspect } from '../../core/introspect.js';
import { issueToken } from '../../tokens/issue.js';
import type { ApiClient, ClientAuthMethod, Customer } from '../../store/types.js';
import { clientAuthMethods } from '../client-auth.js';
import { buildClient, ClientRegistrationError, clientMetadata, registrationDeps, registrationResponse } from '../client-registration.js';
import { introspectionDeps, type AppDeps } from '../deps.js';
import { InvalidAdminToken, InvalidRequest, NotFound } from '../errors.js';
import { bearerSecretCheck, jsonBody, type AppMiddleware, type AppState } from '../middleware.js';
import type { RateLimits } from '../rate-limit.js';
import { ROUTER_OPTIONS } from '../routing.js';

/** Identifiers from the platform: printable, short, no operators or paths. */
export const idPattern = /^[A-Za-z0-9._:@-]{1,128}$/;
const id = z.string().regex(idPattern, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');

const newClientBody = z
  .object({
    name: z.string().min(1).max(200).optional(),
    client_name: z.string().min(1).max(200).optional(),
    token_endpoint_auth_method: z.enum(clientAuthMethods as [string, ...string[]]).optional(),
    reason_codes: z.boolean().optional(),
    site_ids: z.array(id).max(1000).nullable().optional(),
    // RFC 7591 §2 / RFC 9701 §6 metadata; checked in depth by buildClient.
    jwks: z.unknown().optional(),
    jwks_uri: z.unknown().optional(),
    introspection_signed_response_alg: z.unknown().optional(),
  })
  .refine((b) => b.name !== undefined || b.client_name !== undefined, 'name (or client_name) is required');

const customerBody = z.object({
  status: z.enum(['active', 'disabled']).optional(),
  email: z.string().max(320).nullable().optional(),
  first_name: z.string().max(200).nullable().optional(),
  last_name: z.string().max(200).nullable().optional(),
});

const newTokenBody = z.object({
  customer_id: id,
  site_id: id.nullable().optional(),
  client_id: id.optional(),
  expires_in: z.number().int().positive().optional(),
  format: z.enum(['jwt', 'opaque']).optional(),
});

const revokeBody = z.union([z.object({ auth_token: z.string().min(1) }), z.object({ jti: z.string().min(1).max(256) })]);

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new InvalidRequest(`${where}${issue?.message ?? 'invalid body'}`);
  }
  return result.data;
}

/**
 * Bearer ADMIN_TOKEN, compared in constant time, as one attempt under the
 * failed-login limit; every failure leaves an audit line.
 */
function adminAuthentication(deps: AppDeps, adminToken: string, limits: RateLimits): AppMiddleware {
  const isAdmin = bearerSecretCheck(adminToken);
  return async (ctx, next) => {
    await limits.attempt(ctx.ip, ctx.state.requestId, async () => {
      if (isAdmin(ctx.get('Authorization'))) return;
      deps.logger.warn({ event: 'admin.auth_failed', req_id: ctx.state.requestId, ip: ctx.ip }, 'audit');
      throw new InvalidAdminToken();
    });
    await next();
  };
}

/** A client as listed: RFC 7591 metadata, never a secret, hash or sealed secret. */
export function clientView(client: ApiClient): Record<string, unknown> {
  return clientMetadata(client);
}

export function customerView(c: Customer): Record<string, unknown> {
  return { id: c.id, status: c.status, email: c.email, first_name: c.firstName, last_name: c.lastName, updated_at: c.updatedAt.toISOString() };
}

/** Admin API: mounted only when ADMIN_TOKEN is set. */
export function adminRoutes(deps: AppDeps, adminToken: string, limits: RateLimits): Router<AppState> {
  // The guard is the first step of every route below, not a prefix middleware:
  // a request that reaches a handler has passed it, however the path was spelled.
  const guard = adminAuthentication(deps, adminToken, limits);
  const admin = new Router<AppState>({ ...ROUTER_OPTIONS, prefix: '/admin' });
  const router = {
    get: (path: string, ...steps: AppMiddleware[]) => admin.get(path, guard, ...steps),
    post: (path: string, ...steps: AppMiddleware[]) => admin.post(path, guard, ...steps),
    put: (path: string, ...steps: AppMiddleware[]) => admin.put(path, guard, ...steps),
  };
  const { store, clock, config, logger } = deps;
  const audit = (event: string, fields: Record<string, unknown>) => logger.info({ event, ...fields }, 'audit');
  const body = jsonBody(config.bodyLimitBytes);

  router.post('/clients', body, async (ctx) => {
    const b = parse(newClientBody, ctx.state.json);
    let registered;
    try {
      registered = await buildClient(
        {
          name: (b.name ?? b.client_name)!,
          authMethod: b.token_endpoint_auth_method as ClientAuthMethod | undefined,
          reasonCodes: b.reason_codes,
          siteIds: b.site_ids,
          jwks: b.jwks,
          jwksUri: b.jwks_uri,
          introspectionSignedResponseAlg: b.introspection_signed_response_alg,
        },
        registrationDeps(config, clock, deps.keys.current.alg),
      );
    } catch (error) {
      // RFC 7591 §3.2.2 has its own codes; this API keeps RFC 6749 invalid_request like its other calls.
      if (error instanceof ClientRegistrationError) throw new InvalidRequest(error.message);
      throw error;
    }
    const { client, secret } = registered;
    await store.clients.insert(client);
    audit('client.created', { client_id: client.id, token_endpoint_auth_method: client.authMethod });
    ctx.status = 201;
    // RFC 7591 §3.2.1: a secret is shown once (none for private_key_jwt).
    ctx.body = registrationResponse(client, secret);
  });

  router.get('/clients', async (ctx) => {
    ctx.body = { clients: (await store.clients.list()).map(clientView) };
  });

  router.get('/clients/:id', async (ctx) => {
    const client = idPattern.test(ctx.params.id!) ? await store.clients.findById(ctx.params.id!) : null;
    if (!client) throw new NotFound('no such client');
    ctx.body = clientView(client);
  });

  router.put('/customers/:id', body, async (ctx) => {
    const customerId = parse(id, ctx.params.id);
    const b = parse(customerBody, ctx.state.json);
    const existing = await store.customers.findById(customerId);
    const customer = applyCustomerChanges(
      customerId,
      existing,
      { status: b.status, email: b.email, firstName: b.first_name, lastName: b.last_name },
      clock.now(),
    );
    await store.customers.upsert(customer);
    audit('customer.upserted', { customer_id: customerId, status: customer.status });
    ctx.status = existing ? 200 : 201;
    ctx.body = customerView(customer);
  });

  router.get('/customers/:id', async (ctx) => {
    const customer = idPattern.test(ctx.params.id!) ? await store.customers.findById(ctx.params.id!) : null;
    if (!customer) throw new NotFound('no such customer');
    ctx.body = customerView(customer);
  });

  router.post('/customers/:id/revoke-tokens', async (ctx) => {
    const customerId = parse(id, ctx.params.id);
    const revoked = await store.grants.revokeByCustomer(customerId, clock.now());
    audit('customer.tokens_revoked', { customer_id: customerId, revoked });
    ctx.body = { revoked };
  });

  router.post('/tokens', body, async (ctx) => {
    const b = parse(newTokenBody, ctx.state.json);
    const expiresIn = b.expires_in ?? config.defaultTokenTtlSeconds;
    if (expiresIn > config.maxTokenTtlSeconds) throw new InvalidRequest(`expires_in: must be at most ${config.maxTokenTtlSeconds}`);
    const customer = await store.customers.findById(b.customer_id);
    if (!customer) throw new InvalidRequest('customer_id: no such customer');
    if (customer.status !== 'active') throw new InvalidRequest('customer_id: customer is disabled');
    const { token, grant } = await issueToken(
      { customerId: b.customer_id, siteId: b.site_id ?? null, clientId: b.client_id ?? config.defaultTokenClientId, expiresInSeconds: expiresIn, format: b.format ?? 'jwt' },
      { ...deps, issuer: config.issuer, audience: config.audience },
    );
    audit('token.issued', { jti: grant.id, customer_id: grant.customerId, site_id: grant.siteId, format: grant.format });
    ctx.status = 201;
    ctx.body = { auth_token: token, token_type: 'Bearer', expires_in: expiresIn, expires_at: grant.expiresAt.toISOString(), jti: grant.id };
  });

  router.post('/tokens/revoke', body, async (ctx) => {
    const b = parse(revokeBody, ctx.state.json);
    let grantId: string | undefined;
    if ('jti' in b) grantId = b.jti;
    else {
      const verdict = await introspect(b.auth_token, { siteIds: null }, introspectionDeps(deps));
      grantId = verdict.active ? verdict.grant.id : verdict.grantId;
    }
    const revoked = grantId !== undefined && (await store.grants.revoke(grantId, clock.now()));
    if (revoked) audit('token.revoked', { jti: grantId, via: 'admin' });
    ctx.body = { revoked: revoked ? 1 : 0 };
  });

  return admin;
}
