import { randomBytes } from 'node:crypto';
import type { RequestLogPolicy } from '../config/index.js';
import { requestLineWriter, type Logger } from '../log.js';
import { UNMATCHED_ROUTE } from '../metrics.js';
import type { AppMiddleware } from './middleware.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (honours a well-formed `X-Request-Id`) and one access log line
 * per request. The line holds the route path, never the query string or body.
 */
export function requestLog(logger: Logger, policy: RequestLogPolicy = 'all'): AppMiddleware {
  const log = accessLog(logger, policy);
  return async (ctx, next) => {
    ctx.state.requestId = requestIdOf(ctx.get('X-Request-Id'));
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      log({
        requestId: ctx.state.requestId,
        method: ctx.method,
        // The template, never the raw path: a token put in a URL must not reach the log.
        route: ctx.state.route ?? UNMATCHED_ROUTE,
        status: ctx.status,
        started,
        // Koa serves no client-authenticated endpoint (those are pipeline.ts's): no client, no verdict.
        clientId: undefined,
        reason: undefined,
      });
    }
  };
}

/**
 * New request ids: a random prefix per process, then a counter. An id only
 * has to be unique, so lines of one request can be found together across
 * workers and restarts; it is never a secret (it is sent back in
 * `X-Request-Id`). 72 random bits make two processes' prefixes collide with
 * negligible odds, and a counter costs one short string per request where
 * `randomUUID()` builds its 36 characters from many pieces.
 */
const ID_PREFIX = `${randomBytes(9).toString('base64url')}-`;
let idCounter = 0;

/** The request's own id when it sent a well-formed `X-Request-Id`, else a new one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : ID_PREFIX + (++idCounter).toString(36);
}

/** What the access log line of one request says. */
export interface RequestLogLine {
  requestId: string;
  method: string;
  /** The route template, never the raw path or query. */
  route: string;
  status: number;
  /** `performance.now()` when the request arrived. */
  started: number;
  clientId: string | undefined;
  reason: string | undefined;
}

/**
 * The access log of one app: one line per request (`LOG_REQUESTS`: `all`;
 * `errors`, only answers of 400 and above; `none`), written by
 * `requestLineWriter` (src/log.ts) in the form pino writes every other line.
 */
export function accessLog(logger: Logger, policy: RequestLogPolicy = 'all'): (line: RequestLogLine) => void {
  const write = requestLineWriter(logger);
  return (line) => {
    if (policy === 'none' || (policy === 'errors' && line.status < 400)) return;
    write({
      req_id: line.requestId,
      method: line.method,
      route: line.route,
      status: line.status,
      ms: performance.now() - line.started,
      client_id: line.clientId,
      reason: line.reason,
    });
  };
}
