import type { RequestListener } from 'node:http';
import Koa from 'koa';
import { AppServices } from '../app/services.js';
import { requestLog } from './access-log.js';
import { clientAddressOf } from './client-address.js';
import type { AppDeps } from './deps.js';
import { introspectionEndpoint, revocationEndpoint, validationEndpoint } from './endpoints.js';
import { errorHandler } from './errors.js';
import { noStore, type AppState } from './middleware.js';
import { clientEndpointPipeline } from './pipeline.js';
import { RateLimits } from './rate-limit.js';
import { CLIENT_ENDPOINTS, clientEndpointOf, type ClientEndpointName } from './route-table.js';
import { adminRoutes } from './routes/admin.js';
import { docsRoutes } from './routes/docs.js';
import { metaRoutes } from './routes/meta.js';
import { metricsMiddleware, metricsRoutes, withMetrics } from './routes/metrics.js';
import { pathOf, toOriginForm } from './routing.js';

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
 * The client-authenticated endpoints (route-table.ts) are served by one
 * pipeline on node:http (pipeline.ts); every other endpoint by Koa.
 */
export function createApp(appDeps: AppDeps): HttpApp {
  const deps = withMetrics(appDeps);
  const services = new AppServices(deps);
  const clientAddress = clientAddressOf(deps.config.trustProxy);
  const limits = new RateLimits({ config: deps.config, clock: deps.clock, logger: deps.logger, metrics: deps.metrics, counter: deps.rateLimitCounter });

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
  const routers = [metaRoutes(deps)];
  if (deps.config.adminToken) routers.push(adminRoutes(services, deps, deps.config.adminToken, limits));
  routers.push(metricsRoutes(deps.metrics, deps.config.metricsToken, limits), docsRoutes(deps));
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }

  const pipelineDeps = { services, limits, config: deps.config, logger: deps.logger, metrics: deps.metrics, clientAddress };
  const clientEndpoints: Record<ClientEndpointName, RequestListener> = {
    introspect: clientEndpointPipeline(introspectionEndpoint(services, deps), pipelineDeps),
    revoke: clientEndpointPipeline(revocationEndpoint(services), pipelineDeps),
    validate: clientEndpointPipeline(validationEndpoint(services, deps.clock), pipelineDeps),
  };
  const rest = app.callback();
  const listener: RequestListener = (req, res) => {
    toOriginForm(req);
    const endpoint = clientEndpointOf(pathOf(req.url ?? ''));
    if (endpoint) clientEndpoints[endpoint](req, res);
    else rest(req, res);
  };
  const routes = Object.values(CLIENT_ENDPOINTS).map((path) => `POST ${path}`);
  for (const router of routers) {
    for (const layer of router.stack) for (const method of layer.methods) if (method !== 'HEAD') routes.push(`${method} ${layer.path}`);
  }
  return { callback: () => listener, routes: () => [...routes] };
}
