import type { RequestListener } from 'node:http';
import Koa from 'koa';
import { ClientAuthenticator } from './client-auth.js';
import { clientAddressOf } from './client-address.js';
import { INTROSPECTION_ROUTE, introspectionEndpoint } from './introspection-endpoint.js';
import type { AppDeps } from './deps.js';
import { errorHandler, noStore, requestLog, type AppState } from './middleware.js';
import { adminRoutes } from './routes/admin.js';
import { docsRoutes } from './routes/docs.js';
import { metaRoutes } from './routes/meta.js';
import { oauthRoutes } from './routes/oauth.js';
import { metricsMiddleware, metricsRoutes, withMetrics } from './routes/metrics.js';
import { RateLimits } from './rate-limit.js';
import { pathMatches, pathOf, toOriginForm } from './routing.js';

export type { AppDeps } from './deps.js';

/** The HTTP application: a node:http request listener. */
export interface HttpApp {
  callback(): RequestListener;
  /** Every method and path template served (`GET /admin/clients/:id`); HEAD is implied by GET. */
  routes(): string[];
}

/**
 * Builds the HTTP application from its dependencies. Nothing is read from
 * the environment here, so tests and benchmarks build exactly what they need.
 *
 * `POST /introspect` is served on node:http directly (introspection-endpoint.ts);
 * every other endpoint by Koa.
 */
export function createApp(appDeps: AppDeps): HttpApp {
  const deps = withMetrics(appDeps);
  const clientAddress = clientAddressOf(deps.config.trustProxy);
  const app = new Koa<AppState>();
  // Errors are rendered by errorHandler; Koa's own printer would log bodies of errors we expect.
  app.silent = true;
  app.use(async (ctx, next) => {
    // One notion of the caller's address for every endpoint (client-address.ts), not Koa's leftmost X-Forwarded-For.
    ctx.request.ip = clientAddress(ctx.req);
    await next();
  });
  app.use(requestLog(deps.logger, deps.config.logRequests));
  app.use(metricsMiddleware(deps.metrics, () => routers));
  app.use(noStore);
  app.use(errorHandler(deps.logger));
  const limits = new RateLimits({ config: deps.config, clock: deps.clock, logger: deps.logger, metrics: deps.metrics, counter: deps.rateLimitCounter });

  const authenticator = new ClientAuthenticator(deps);
  const routers = [oauthRoutes(deps, limits, authenticator), metaRoutes(deps)];
  if (deps.config.adminToken) routers.push(adminRoutes(deps, deps.config.adminToken, limits));
  routers.push(metricsRoutes(deps.metrics, deps.config.metricsToken, limits), docsRoutes(deps));
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  const introspection = introspectionEndpoint(deps, limits, authenticator, clientAddress);
  const rest = app.callback();
  const listener: RequestListener = (req, res) => {
    toOriginForm(req);
    if (pathMatches(pathOf(req.url ?? ''), INTROSPECTION_ROUTE)) introspection(req, res);
    else rest(req, res);
  };
  const routes = [`POST ${INTROSPECTION_ROUTE}`];
  for (const router of routers) {
    for (const layer of router.stack) for (const method of layer.methods) if (method !== 'HEAD') routes.push(`${method} ${layer.path}`);
  }
  return { callback: () => listener, routes: () => [...routes] };
}
