import Router from '@koa/router';
import { supportedAssertionAlgorithms, supportedAuthMethods } from '../../clients/client-auth.js';
import { KEY_SET_MAX_AGE_SECONDS } from '../../keys/keystore.js';
import type { AppDeps } from '../deps.js';
import type { AppMiddleware, AppState } from '../middleware.js';
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
    // RFC 9701 §7: signed answers use the server's current key; a next key's
    // algorithm too, since this document may be cached past its activation.
    introspection_signing_alg_values_supported: signingAlgorithms(deps),
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    // REQUIRED by RFC 8414; empty because this server has no authorization endpoint.
    response_types_supported: [],
    open_login_validation_endpoint: `${issuer}/api/v1/auth/token/validate`,
  };
}

function signingAlgorithms(deps: AppDeps): string[] {
  const { alg } = deps.keys.current;
  const next = deps.keys.next;
  return next && next.alg !== alg ? [alg, next.alg] : [alg];
}

/**
 * Only public documents that change on a key rotation are cacheable, for
 * `KEY_SET_MAX_AGE_SECONDS` (kept with the keys: it also sets how long a
 * rotated key waits, published, before it signs). A retired key keeps
 * verifying for MAX_TOKEN_TTL_SECONDS (days), far longer than this, so a
 * cached key set never drops a key that still verifies; a next key is listed
 * from its publication, so a cached key set never lacks the key that signs.
 * Every other answer stays `no-store`.
 */
const cacheable: AppMiddleware = async (ctx, next) => {
  await next();
  if (ctx.status !== 200) return;
  ctx.set('Cache-Control', `public, max-age=${KEY_SET_MAX_AGE_SECONDS}`);
  ctx.remove('Pragma');
};

export function metaRoutes(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>(ROUTER_OPTIONS);

  router.get('/.well-known/oauth-authorization-server', cacheable, (ctx) => {
    ctx.body = serverMetadata(deps);
  });

  router.get('/jwks.json', cacheable, (ctx) => {
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
