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
