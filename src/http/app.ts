import Koa from 'koa';
import type { AppDeps } from './deps.js';
import { errorHandler, noStore, requestLog, type AppState } from './middleware.js';
import { adminRoutes } from './routes/admin.js';
import { docsRoutes } from './routes/docs.js';
import { metaRoutes } from './routes/meta.js';
import { oauthRoutes } from './routes/oauth.js';
import { metricsMiddleware, metricsRoutes, withMetrics } from './routes/metrics.js';
import { RateLimits } from './rate-limit.js';

export type { AppDeps } from './deps.js';

/**
 * Builds the HTTP application from its dependencies. Nothing is read from
 * the environment here, so tests and benchmarks build exactly what they need.
 */
export function createApp(appDeps: AppDeps): Koa<AppState> {
  const deps = withMetrics(appDeps);
  const app = new Koa<AppState>({ proxy: deps.config.trustProxy });
  // Errors are rendered by errorHandler; Koa's own printer would log bodies of errors we expect.
  app.silent = true;
  app.use(requestLog(deps.logger));
  app.use(metricsMiddleware(deps.metrics, () => routers));
  app.use(noStore);
  app.use(errorHandler(deps.logger));
  const limits = new RateLimits({ config: deps.config, clock: deps.clock, logger: deps.logger, metrics: deps.metrics });
  app.use(limits.authFailureGuard());

  const routers = [oauthRoutes(deps, limits), metaRoutes(deps)];
  if (deps.config.adminToken) routers.push(adminRoutes(deps, deps.config.adminToken));
  routers.push(metricsRoutes(deps.metrics, deps.config.metricsToken), docsRoutes(deps));
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
