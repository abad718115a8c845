import { hash, timingSafeEqual } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';

/**
 * The Koa side of the HTTP layer (admin API, discovery, keys, docs,
 * metrics): its per-request state and the small steps its routes share.
 * The client-authenticated endpoints are served by pipeline.ts.
 */

/** Per-request state shared by the middlewares below. */
export interface AppState {
  requestId: string;
  /** JSON body (JSON endpoints). */
  json?: unknown;
  /** The matched route template (set by the metrics middleware), for the request log line. */
  route?: string;
}

export type AppContext = ParameterizedContext<AppState>;
export type AppMiddleware = Middleware<AppState>;

/**
 * Token answers must never be cached by intermediaries (RFC 7662 §4 and
 * RFC 6749 §5.1); the same holds for every other answer here.
 */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

export const noStore: AppMiddleware = async (ctx, next) => {
  ctx.set(NO_STORE_HEADERS);
  await next();
};

/**
 * A check of `Authorization: Bearer <secret>` against a configured secret.
 * SHA-256 digests have equal length, so the comparison is constant-time
 * whatever was presented.
 */
export function bearerSecretCheck(secret: string): (authorization: string) => boolean {
  const digest = (s: string) => hash('sha256', s, 'buffer');
  const expected = digest(secret);
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization);
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
  };
}
