import Koa from 'koa';
import type { AppDeps } from './deps.js';
import { errorHandler, noStore, requestLog, type AppState } from './middleware.js';
import { adminRoutes } from './routes/admin.js';
import { metaRoutes } from './routes/meta.js';
import { oauthRoutes } from './routes/oauth.js';

export type { AppDeps } from './deps.js';

/**
 * Builds the HTTP application from its dependencies. Nothing is read from
 * the environment here, so tests and benchmarks build exactly what they need.
 */
export function createApp(deps: AppDeps): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: deps.config.trustProxy });
  // Errors are rendered by errorHandler; Koa's own printer would log bodies of errors we expect.
  app.silent = true;
  app.use(requestLog(deps.logger));
  app.use(noStore);
  app.use(errorHandler(deps.logger));

  const routers = [oauthRoutes(deps), metaRoutes(deps)];
  if (deps.config.adminToken) routers.push(adminRoutes(deps, deps.config.adminToken));
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
