import type { IncomingMessage } from 'node:http';

/**
 * How request paths are matched: one decision for every part of the server
 * that looks at a path (the routers, the node:http introspection endpoint,
 * the access log and the metrics).
 *
 * - Paths are case-sensitive, as RFC 3986 §6.2.2.1 says they are: `/Admin`
 *   is not `/admin`.
 * - One trailing slash is tolerated (`/introspect/`), as client libraries
 *   that join a base URL and a path often add one.
 * - Nothing else is normalized: dot segments, doubled slashes and
 *   percent-encoded characters in a path name no route here, so they are 404.
 *
 * Matching is only half of the rule; the other half is that every guard is a
 * step of the route it guards (never a prefix middleware), so a request that
 * reaches a handler has passed its guard whatever the matcher decided.
 */
export const ROUTER_OPTIONS = { sensitive: true, strict: false } as const;

/** Whether `path` (no query) names `route`, a literal path, under the rule above. */
export function pathMatches(path: string, route: string): boolean {
  return path === route || (path.length === route.length + 1 && path.endsWith('/') && path.startsWith(route));
}

/** The path of an origin-form target, without its query. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * RFC 9112 §3.2.2: a server MUST accept the absolute-form of a request target
 * (`POST http://host/introspect`), which proxies send. Rewrites it to its
 * origin-form (path and query) so that every later step sees one form; the
 * authority is not used for routing. The path is taken as written, not
 * normalized (`new URL` would resolve dot segments), so both forms of one
 * target are matched alike. The asterisk-form and anything else are left for
 * the router to refuse.
 */
export function toOriginForm(req: IncomingMessage): void {
  const url = req.url;
  if (url === undefined || url.startsWith('/')) return;
  const match = ABSOLUTE_FORM.exec(url);
  if (match) req.url = match[1]!.startsWith('/') ? match[1]! : `/${match[1]!}`;
}

/** `http://authority` then the rest of the target (RFC 9112 §3.2.2, RFC 3986 §3.2). */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*(.*)$/is;
