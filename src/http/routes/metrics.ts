import Router from '@koa/router';
import { instrumentStore, Metrics, UNMATCHED_ROUTE } from '../../metrics.js';
import type { Store } from '../../store/types.js';
import { OAuthError } from '../errors.js';
import { bearerSecretCheck, type AppMiddleware, type AppState } from '../middleware.js';
import type { RateLimits } from '../rate-limit.js';
import { ROUTER_OPTIONS } from '../routing.js';

/**
 * Counts every request Koa serves by route template (never the raw path)
 * and status. Mounted outside the error renderer, so it sees the final
 * status of failed requests too. The client endpoints, which render
 * verdicts, are counted by their pipeline (../pipeline.ts).
 */
export function metricsMiddleware(metrics: Metrics, routers: () => Router<AppState>[] = () => []): AppMiddleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // A request refused before routing (a rate limit) has no matched layers: match its path here.
      const matched = (ctx.matched as Layer[] | undefined) ?? routers().flatMap((r) => r.match(ctx.path, ctx.method).path as Layer[]);
      const route = (ctx.state.route = routeTemplate(matched));
      metrics.httpRequest(route, ctx.method, ctx.status, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}

type Layer = { path: string; methods: string[] };

/**
 * The template of the route the path matched (`/admin/clients/:id`), also
 * when a middleware refused the request before the route ran, or the method
 * was wrong (405). Router-level `use` layers have no methods and are skipped.
 */
function routeTemplate(layers: Layer[]): string {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i]!.methods.length > 0) return layers[i]!.path;
  return UNMATCHED_ROUTE;
}

/** `GET /metrics`: Prometheus text format; behind `Bearer METRICS_TOKEN` when one is set. */
export function metricsRoutes(metrics: Metrics, metricsToken: string | null, limits: RateLimits): Router<AppState> {
  const router = new Router<AppState>(ROUTER_OPTIONS);
  const isScraper = metricsToken === null ? null : bearerSecretCheck(metricsToken);
  router.get('/metrics', async (ctx) => {
    if (isScraper) {
      await limits.attempt(ctx.ip, ctx.state.requestId, async () => {
        if (isScraper(ctx.get('Authorization'))) return;
        throw new OAuthError('invalid_token', 'a valid metrics bearer token is required', 401, {
          'WWW-Authenticate': 'Bearer realm="open-login-metrics", error="invalid_token"',
        });
      });
    }
    const { contentType, body } = await metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}

/**
 * Gives the app its metrics. Without `deps.metrics`, a new registry and a
 * store whose calls are timed. A caller that passes its own `metrics` owns
 * store instrumentation: it wraps the database store with `instrumentStore`
 * below any cache, so store metrics count real database calls, and the
 * cache reports `cacheHit`/`cacheMiss` to the same object.
 */
export function withMetrics<D extends { metrics?: Metrics; store: Store }>(deps: D): D & { metrics: Metrics } {
  if (deps.metrics) return { ...deps, metrics: deps.metrics };
  const metrics = new Metrics();
  return { ...deps, metrics, store: instrumentStore(deps.store, metrics) };
}
