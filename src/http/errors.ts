import type { Logger } from '../log.js';
import { ClientAuthFailure, CLIENT_AUTH_FAILED } from '../clients/client-auth.js';
import { InvalidInput, NotFoundError, RevocationRefused } from '../core/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import type { AppMiddleware } from './middleware.js';

/**
 * Protocol errors, rendered by the one error handler (`middleware.ts`) as
 * RFC 6749 §5.2 JSON: `{"error": "...", "error_description": "..."}`.
 * Descriptions are fixed strings or built from parameter names, never from
 * parameter values, so no token or secret can be echoed.
 */
export class OAuthError extends Error {
  override readonly name: string = 'OAuthError';
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, status = 400) {
    super('invalid_request', description, status);
  }
}

/** RFC 6749 §5.2: 401 with a `WWW-Authenticate` header naming the scheme. */
export class InvalidClient extends OAuthError {
  constructor(description = 'client authentication failed') {
    super('invalid_client', description, 401, { 'WWW-Authenticate': 'Basic realm="open-login", charset="UTF-8"' });
  }
}

/**
 * A failed client authentication as its answer: 401 `invalid_client` with
 * the one description. Rethrows anything else. The failed-login limit counts
 * the 401s it sees (rate-limit.ts), so the conversion happens inside the attempt.
 */
export function asInvalidClient(error: unknown): never {
  throw error instanceof ClientAuthFailure ? new InvalidClient(CLIENT_AUTH_FAILED) : error;
}

export class TemporarilyUnavailable extends OAuthError {
  constructor(description = 'the token store is unavailable; retry shortly') {
    super('temporarily_unavailable', description, 503, { 'Retry-After': '1' });
  }
}

/** Admin API credentials (RFC 6750 §3 form, as it is a bearer token). */
export class InvalidAdminToken extends OAuthError {
  constructor() {
    super('invalid_token', 'a valid admin bearer token is required', 401, {
      'WWW-Authenticate': 'Bearer realm="open-login-admin", error="invalid_token"',
    });
  }
}

export class NotFound extends OAuthError {
  constructor(description = 'no such resource') {
    super('not_found', description, 404);
  }
}

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
  // What the services refuse, in the protocol's words (RFC 6749 §5.2, RFC 7009 §2.1).
  if (caught instanceof ClientAuthFailure) return new InvalidClient(CLIENT_AUTH_FAILED);
  if (caught instanceof InvalidInput || caught instanceof RevocationRefused) return new InvalidRequest(caught.message);
  if (caught instanceof NotFoundError) return new NotFound(caught.message);
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

