import Router from '@koa/router';
import { supportedAssertionAlgorithms, supportedAuthMethods } from '../../clients/client-auth.js';
import type { AppDeps } from '../deps.js';
import type { AppState } from '../middleware.js';
import { ROUTER_OPTIONS } from '../routing.js';

/** RFC 8414 §2 authorization server metadata. */
export function serverMetadata(deps: AppDeps): Record<string, unknown> {
  const issuer = deps.config.issuer;
  // client_secret_jwt (and its HS256) only when CLIENT_SECRET_KEY lets the server keep such secrets.
  const methods = supportedAuthMethods(deps.config);
  const assertionAlgs = supportedAssertionAlgorithms(deps.config);
  return {
    issuer,
    jwks_uri: `${issuer}/jwks.json`,
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: methods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    // RFC 9701 §7: signed answers use the server's current key.
    introspection_signing_alg_values_supported: [deps.keys.current.alg],
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    // REQUIRED by RFC 8414; empty because this server has no authorization endpoint.
    response_types_supported: [],
    open_login_validation_endpoint: `${issuer}/api/v1/auth/token/validate`,
  };
}

export function metaRoutes(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>(ROUTER_OPTIONS);

  router.get('/.well-known/oauth-authorization-server', (ctx) => {
    ctx.body = serverMetadata(deps);
  });

  router.get('/jwks.json', (ctx) => {
    ctx.type = 'application/jwk-set+json';
    ctx.body = deps.keys.publicJwks();
  });

  // Liveness: the process answers. Readiness: the store answers too.
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    try {
      await deps.store.ping();
      ctx.body = { status: 'ready', store: deps.store.kind };
    } catch {
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      ctx.body = { status: 'unavailable', store: deps.store.kind };
    }
  });

  return router;
}
