import Router from '@koa/router';
import { CLIENT_REGISTRATION_MEMBERS, CUSTOMER_CHANGES_MEMBERS, fromMembers, TOKEN_REQUEST_MEMBERS } from '../../app/admin-members.js';
import type { AppServices } from '../../app/services.js';
import { clientView, customerView, issuedTokenView } from '../../app/views.js';
import { registrationResponse } from '../../clients/client-registration.js';
import type { ClientAuthMethod } from '../../store/types.js';
import { jsonBody } from '../body.js';
import type { AppDeps } from '../deps.js';
import { InvalidAdminToken } from '../errors.js';
import { bearerSecretCheck, type AppMiddleware, type AppState } from '../middleware.js';
import type { RateLimits } from '../rate-limit.js';
import { ROUTER_OPTIONS } from '../routing.js';
import { parseOrRefuse as parse } from '../schemas/plain-words.js';
import { customerBody, id, newClientBody, newTokenBody, revokeBody } from '../schemas/requests.js';

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

/**
 * Admin API, mounted only when ADMIN_TOKEN is set: JSON in, one application
 * service call, JSON out. The rules are the services' (src/app/services.ts).
 */
export function adminRoutes(services: AppServices, deps: AppDeps, adminToken: string, limits: RateLimits): Router<AppState> {
  // The guard is the first step of every route below, not a prefix middleware:
  // a request that reaches a handler has passed it, however the path was spelled.
  const guard = adminAuthentication(deps, adminToken, limits);
  const admin = new Router<AppState>({ ...ROUTER_OPTIONS, prefix: '/admin' });
  const router = {
    get: (path: string, ...steps: AppMiddleware[]) => admin.get(path, guard, ...steps),
    post: (path: string, ...steps: AppMiddleware[]) => admin.post(path, guard, ...steps),
    put: (path: string, ...steps: AppMiddleware[]) => admin.put(path, guard, ...steps),
  };
  const body = jsonBody(deps.config.bodyLimitBytes);

  router.post('/clients', body, async (ctx) => {
    const b = parse(newClientBody, ctx.state.json);
    // RFC 7591 §3.2.2 has its own codes; this API keeps RFC 6749 invalid_request like its other calls.
    const { client, secret } = await services.registerClient(
      {
        ...fromMembers(b, CLIENT_REGISTRATION_MEMBERS),
        // RFC 7591 §2 `client_name`, or the shorter `name` (the schema requires one).
        name: (b.name ?? b.client_name)!,
        authMethod: b.token_endpoint_auth_method as ClientAuthMethod | undefined,
      },
      'admin',
    );
    ctx.status = 201;
    // RFC 7591 §3.2.1: a secret is shown once (none for private_key_jwt).
    ctx.body = registrationResponse(client, secret);
  });

  router.get('/clients', async (ctx) => {
    ctx.body = { clients: (await services.listClients()).map(clientView) };
  });

  router.get('/clients/:id', async (ctx) => {
    ctx.body = clientView(await services.getClient(ctx.params.id!));
  });

  router.put('/customers/:id', body, async (ctx) => {
    const customerId = parse(id, ctx.params.id, 'the customer id');
    const b = parse(customerBody, ctx.state.json);
    const { customer, created } = await services.upsertCustomer(customerId, fromMembers(b, CUSTOMER_CHANGES_MEMBERS), 'admin');
    ctx.status = created ? 201 : 200;
    ctx.body = customerView(customer);
  });

  router.get('/customers/:id', async (ctx) => {
    ctx.body = customerView(await services.getCustomer(ctx.params.id!));
  });

  // Unlike PUT with status "disabled", an unknown id is 404: a mistyped id must not look like success.
  router.post('/customers/:id/disable', async (ctx) => {
    ctx.body = customerView(await services.disableCustomer(parse(id, ctx.params.id, 'the customer id'), 'admin'));
  });

  router.post('/customers/:id/revoke-tokens', async (ctx) => {
    ctx.body = { revoked: await services.revokeCustomerTokens(parse(id, ctx.params.id, 'the customer id'), 'admin') };
  });

  router.post('/tokens', body, async (ctx) => {
    const b = parse(newTokenBody, ctx.state.json);
    const issued = await services.issueToken({ ...fromMembers(b, TOKEN_REQUEST_MEMBERS), siteId: b.site_id ?? null }, 'admin');
    ctx.status = 201;
    ctx.body = issuedTokenView(issued);
  });

  router.post('/tokens/revoke', body, async (ctx) => {
    const b = parse(revokeBody, ctx.state.json);
    ctx.body = { revoked: await services.revokeToken('jti' in b ? { jti: b.jti } : { token: b.auth_token }, 'admin') };
  });

  return admin;
}
