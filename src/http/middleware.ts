import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import getRawBody from 'raw-body';
import type { Logger } from '../log.js';
import { StoreUnavailableError, type ApiClient } from '../store/types.js';
import { InvalidRequest, OAuthError, TemporarilyUnavailable } from './errors.js';

/** Per-request state shared by the middlewares below. */
export interface AppState {
  requestId: string;
  /** Form parameters (form endpoints) after duplicate and count checks. */
  params?: Map<string, string>;
  /** JSON body (JSON endpoints). */
  json?: unknown;
  client?: ApiClient;
  /** The verdict's reason, for the request log line. */
  reason?: string;
}

export type AppContext = ParameterizedContext<AppState>;
export type AppMiddleware = Middleware<AppState>;

/** Parameters beyond this many are refused; no endpoint takes more than five. */
const MAX_PARAMETERS = 16;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The one error renderer: RFC 6749 §5.2 JSON for every failure. Store faults
 * become 503 `temporarily_unavailable`; anything unexpected becomes a 500
 * `server_error` and is logged (the error, never the request body).
 */
export function errorHandler(logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new OAuthError('not_found', 'no such endpoint', 404);
      if (ctx.status === 405 && (ctx.body === undefined || typeof ctx.body === 'string')) {
        throw new OAuthError('invalid_request', 'method not allowed on this endpoint', 405);
      }
    } catch (caught) {
      let error: OAuthError;
      if (caught instanceof OAuthError) error = caught;
      else if (caught instanceof StoreUnavailableError) {
        logger.warn({ req_id: ctx.state.requestId, err_name: caught.name, err: caught.message }, 'store unavailable');
        error = new TemporarilyUnavailable();
      } else if (isClientHttpError(caught)) {
        error = new InvalidRequest(caught.expose ? caught.message : 'bad request', caught.status);
      } else {
        logger.error({ req_id: ctx.state.requestId, err: caught }, 'unhandled error');
        error = new OAuthError('server_error', 'internal error', 500);
      }
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = { error: error.error, error_description: error.description };
    }
  };
}

/** Errors from koa, raw-body and http-errors carry a 4xx `status`. */
function isClientHttpError(e: unknown): e is { status: number; expose?: boolean; message: string } {
  const status = (e as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Token answers must never be cached by intermediaries (RFC 7662 §4 and
 * RFC 6749 §5.1); the same holds for every other answer here.
 */
export const noStore: AppMiddleware = async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.set('X-Content-Type-Options', 'nosniff');
  await next();
};

/**
 * Request id (honours a well-formed `X-Request-Id`) and one access log line
 * per request. The line holds the route path, never the query string or body.
 */
export function requestLog(logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      logger.info(
        {
          req_id: ctx.state.requestId,
          method: ctx.method,
          route: (ctx as { routerPath?: string }).routerPath ?? ctx.path,
          status: ctx.status,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          client_id: ctx.state.client?.id,
          reason: ctx.state.reason,
        },
        'request',
      );
    }
  };
}

/** A 4xx the error renderer shows as `invalid_request` with this message (as raw-body's errors). */
class BodyError extends Error {
  readonly expose = true;
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/**
 * Reads the body as UTF-8. The usual request (a short body with a
 * Content-Length within the limit) is read directly: collecting a few chunks
 * costs less than raw-body's generic machinery, which still handles the rest
 * (chunked bodies, declared lengths over the limit).
 */
async function readBody(ctx: AppContext, limit: number): Promise<string> {
  const declared = ctx.get('Content-Length');
  const length = declared && /^\d{1,9}$/.test(declared) ? Number(declared) : -1;
  if (length < 0 || length > limit) {
    return getRawBody(ctx.req, { limit, encoding: 'utf8', length: declared || undefined });
  }
  const req = ctx.req;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > length) fail(new BodyError('request size did not match content length', 400));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (received !== length) reject(new BodyError('request size did not match content length', 400));
      else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8'));
    };
    const onError = (error: Error) => fail(new BodyError(`request body could not be read (${error.name})`, 400));
    const onClose = () => fail(new BodyError('request aborted', 400));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Secrets and tokens belong in the body; in a URL they end up in access logs. */
function refuseCredentialsInQuery(ctx: AppContext): void {
  const q = ctx.request.query;
  for (const name of ['token', 'client_secret', 'auth_token']) {
    if (name in q) throw new InvalidRequest(`parameter ${name} must be sent in the request body, not the URL`);
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body into a map of single
 * values. Repeated parameters are refused (RFC 6749 §3.2, RFC 7662 §2.1);
 * values are always strings, so nothing structured can reach a query.
 */
export function formBody(limit: number): AppMiddleware {
  return async (ctx, next) => {
    refuseCredentialsInQuery(ctx);
    if (!ctx.is('application/x-www-form-urlencoded')) {
      throw new InvalidRequest('content type must be application/x-www-form-urlencoded');
    }
    const search = new URLSearchParams(await readBody(ctx, limit));
    const params = new Map<string, string>();
    let count = 0;
    for (const [name, value] of search) {
      if (++count > MAX_PARAMETERS) throw new InvalidRequest('too many parameters');
      if (params.has(name)) throw new InvalidRequest(`parameter ${safeName(name)} is repeated`);
      params.set(name, value);
    }
    ctx.state.params = params;
    await next();
  };
}

/** An `application/json` body, parsed; its shape is checked by each route's schema. */
export function jsonBody(limit: number): AppMiddleware {
  return async (ctx, next) => {
    refuseCredentialsInQuery(ctx);
    if (!ctx.is('application/json')) throw new InvalidRequest('content type must be application/json');
    const text = await readBody(ctx, limit);
    try {
      ctx.state.json = JSON.parse(text);
    } catch {
      throw new InvalidRequest('body is not valid JSON');
    }
    await next();
  };
}

/** A parameter name as it may appear in an error description. */
export function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? name : '(unnamed)';
}

/**
 * A check of `Authorization: Bearer <secret>` against a configured secret.
 * SHA-256 digests have equal length, so the comparison is constant-time
 * whatever was presented.
 */
export function bearerSecretCheck(secret: string): (authorization: string) => boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const expected = digest(secret);
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization);
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
  };
}
