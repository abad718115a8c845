import { hash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import typeis from 'type-is';
import type { RequestLogPolicy } from '../config/index.js';
import type { Logger } from '../log.js';
import { UNMATCHED_ROUTE } from '../metrics.js';
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
  /** The matched route template (set by the metrics middleware), for the request log line. */
  route?: string;
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
      // The router's answer to a method no route has (TRACE, PROPFIND): JSON like every other.
      if (ctx.status === 501 && (ctx.body === undefined || typeof ctx.body === 'string')) {
        throw new OAuthError('invalid_request', 'method not implemented', 501);
      }
    } catch (caught) {
      const error = toOAuthError(caught, logger, ctx.state.requestId);
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = errorBody(error);
    }
  };
}

/**
 * What a failure is answered with. Store faults become 503
 * `temporarily_unavailable`; anything unexpected becomes a 500 `server_error`
 * and is logged (the error, never the request body).
 */
export function toOAuthError(caught: unknown, logger: Logger, requestId: string | undefined): OAuthError {
  if (caught instanceof OAuthError) return caught;
  if (caught instanceof StoreUnavailableError) {
    logger.warn({ req_id: requestId, err_name: caught.name, err: caught.message }, 'store unavailable');
    return new TemporarilyUnavailable();
  }
  if (isClientHttpError(caught)) return new InvalidRequest(caught.expose ? caught.message : 'bad request', caught.status);
  logger.error({ req_id: requestId, err: caught }, 'unhandled error');
  return new OAuthError('server_error', 'internal error', 500);
}

/** RFC 6749 §5.2 error JSON. */
export function errorBody(error: OAuthError): { error: string; error_description: string } {
  return { error: error.error, error_description: error.description };
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
 * Request id (honours a well-formed `X-Request-Id`) and one access log line
 * per request. The line holds the route path, never the query string or body.
 */
export function requestLog(logger: Logger, policy: RequestLogPolicy = 'all'): AppMiddleware {
  return async (ctx, next) => {
    ctx.state.requestId = requestIdOf(ctx.get('X-Request-Id'));
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      logRequest(logger, {
        requestId: ctx.state.requestId,
        method: ctx.method,
        // The template, never the raw path: a token put in a URL must not reach the log.
        route: ctx.state.route ?? UNMATCHED_ROUTE,
        status: ctx.status,
        started,
        clientId: ctx.state.client?.id,
        reason: ctx.state.reason,
      }, policy);
    }
  };
}

/** The request's own id when it sent a well-formed `X-Request-Id`, else a new one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** What the access log line of one request says. */
export interface RequestLogLine {
  requestId: string;
  method: string;
  /** The route template, never the raw path or query. */
  route: string;
  status: number;
  /** `process.hrtime.bigint()` when the request arrived. */
  started: bigint;
  clientId: string | undefined;
  reason: string | undefined;
}

/** Writes the line unless `LOG_REQUESTS` leaves it out (`errors`: only answers of 400 and above). */
export function logRequest(logger: Logger, line: RequestLogLine, policy: RequestLogPolicy = 'all'): void {
  if (policy === 'none' || (policy === 'errors' && line.status < 400)) return;
  logger.info(
    {
      req_id: line.requestId,
      method: line.method,
      route: line.route,
      status: line.status,
      ms: Number(process.hrtime.bigint() - line.started) / 1e6,
      client_id: line.clientId,
      reason: line.reason,
    },
    'request',
  );
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
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  const length = declared && /^\d{1,9}$/.test(declared) ? Number(declared) : -1;
  if (length < 0 || length > limit) {
    return getRawBody(req, { limit, encoding: 'utf8', length: declared || undefined });
  }
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
function refuseCredentialsInQuery(querystring: string): void {
  if (querystring === '') return;
  const query = new URLSearchParams(querystring);
  for (const name of ['token', 'client_secret', 'auth_token']) {
    if (query.has(name)) throw new InvalidRequest(`parameter ${name} must be sent in the request body, not the URL`);
  }
}

/** Whether the request has a body of this media type (as Koa's `ctx.is`). */
function hasBodyOfType(req: IncomingMessage, type: string): boolean {
  // The usual request names the type exactly: no need to parse the header.
  if (req.headers['content-type'] === type) return typeis.hasBody(req);
  // null: no body; false: another type.
  return typeof typeis(req, [type]) === 'string';
}

/**
 * Reads an `application/x-www-form-urlencoded` body into a map of single
 * values. Repeated parameters are refused (RFC 6749 §3.2, RFC 7662 §2.1);
 * values are always strings, so nothing structured can reach a query.
 */
export async function readForm(req: IncomingMessage, querystring: string, limit: number): Promise<Map<string, string>> {
  refuseCredentialsInQuery(querystring);
  if (!hasBodyOfType(req, FORM_TYPE)) throw new InvalidRequest(`content type must be ${FORM_TYPE}`);
  const params = new Map<string, string>();
  let count = 0;
  for (const [name, value] of formPairs(await readBody(req, limit))) {
    if (++count > MAX_PARAMETERS) throw new InvalidRequest('too many parameters');
    if (params.has(name)) throw new InvalidRequest(`parameter ${safeName(name)} is repeated`);
    params.set(name, value);
  }
  return params;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The name-value pairs of a form body, exactly as `new URLSearchParams(body)`
 * gives them (which, unlike the bare WHATWG form parser, drops one leading
 * `?`). A body with nothing to decode (no `%`, no `+`: the usual one, as
 * tokens and client ids are URL-safe) is split directly; anything else goes
 * to URLSearchParams.
 */
export function formPairs(body: string): Iterable<[string, string]> {
  if (body.includes('%') || body.includes('+')) return new URLSearchParams(body);
  const pairs: Array<[string, string]> = [];
  for (const part of (body.startsWith('?') ? body.slice(1) : body).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/** `readForm` as a middleware: the parameters go to `ctx.state.params`. */
export function formBody(limit: number): AppMiddleware {
  return async (ctx, next) => {
    ctx.state.params = await readForm(ctx.req, ctx.querystring, limit);
    await next();
  };
}

/** An `application/json` body, parsed; its shape is checked by each route's schema. */
export function jsonBody(limit: number): AppMiddleware {
  return async (ctx, next) => {
    refuseCredentialsInQuery(ctx.querystring);
    if (!hasBodyOfType(ctx.req, 'application/json')) throw new InvalidRequest('content type must be application/json');
    const text = await readBody(ctx.req, limit);
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
  const digest = (s: string) => hash('sha256', s, 'buffer');
  const expected = digest(secret);
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization);
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
  };
}
