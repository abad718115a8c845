import { pathMatches } from './routing.js';

/**
 * Every route this server serves, in one table: the dispatcher (which stack
 * serves a request), the metrics and access log (which route a request
 * counts under), and the route test (test/http/routes.test.ts checks that
 * the routers serve exactly these, and the OpenAPI document documents them)
 * all read it. Path templates use the routers' `:name` form.
 *
 * The client-authenticated endpoints are served by one request pipeline on
 * node:http (pipeline.ts); the rest by Koa routers.
 */
export const CLIENT_ENDPOINTS = {
  /** RFC 7662 §2 */
  introspect: '/introspect',
  /** RFC 7009 §2 */
  revoke: '/revoke',
  /** The platform's JSON validation endpoint (PRODUCT.md) */
  validate: '/api/v1/auth/token/validate',
} as const;

export type ClientEndpointName = keyof typeof CLIENT_ENDPOINTS;

export type RouteEntry = { method: 'GET' | 'POST' | 'PUT'; path: string; served: 'pipeline' | 'koa'; when?: 'admin_token' };

export const ROUTE_TABLE: readonly RouteEntry[] = [
  { method: 'POST', path: CLIENT_ENDPOINTS.introspect, served: 'pipeline' },
  { method: 'POST', path: CLIENT_ENDPOINTS.revoke, served: 'pipeline' },
  { method: 'POST', path: CLIENT_ENDPOINTS.validate, served: 'pipeline' },
  { method: 'GET', path: '/.well-known/oauth-authorization-server', served: 'koa' },
  { method: 'GET', path: '/jwks.json', served: 'koa' },
  { method: 'GET', path: '/healthz', served: 'koa' },
  { method: 'GET', path: '/readyz', served: 'koa' },
  { method: 'GET', path: '/metrics', served: 'koa' },
  { method: 'GET', path: '/openapi.json', served: 'koa' },
  { method: 'GET', path: '/docs', served: 'koa' },
  { method: 'GET', path: '/docs/assets/:name', served: 'koa' },
  // Mounted only when ADMIN_TOKEN is set.
  { method: 'POST', path: '/admin/clients', served: 'koa', when: 'admin_token' },
  { method: 'GET', path: '/admin/clients', served: 'koa', when: 'admin_token' },
  { method: 'GET', path: '/admin/clients/:id', served: 'koa', when: 'admin_token' },
  { method: 'PUT', path: '/admin/customers/:id', served: 'koa', when: 'admin_token' },
  { method: 'GET', path: '/admin/customers/:id', served: 'koa', when: 'admin_token' },
  { method: 'POST', path: '/admin/customers/:id/disable', served: 'koa', when: 'admin_token' },
  { method: 'POST', path: '/admin/customers/:id/revoke-tokens', served: 'koa', when: 'admin_token' },
  { method: 'POST', path: '/admin/tokens', served: 'koa', when: 'admin_token' },
  { method: 'POST', path: '/admin/tokens/revoke', served: 'koa', when: 'admin_token' },
];

const CLIENT_ENDPOINT_NAMES = Object.keys(CLIENT_ENDPOINTS) as ClientEndpointName[];

/** The client endpoint a path names (under the one path rule, routing.ts), if any. */
export function clientEndpointOf(path: string): ClientEndpointName | undefined {
  for (const name of CLIENT_ENDPOINT_NAMES) if (pathMatches(path, CLIENT_ENDPOINTS[name])) return name;
  return undefined;
}
