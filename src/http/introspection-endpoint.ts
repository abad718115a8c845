import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { introspect } from '../core/introspect.js';
import type { Metrics } from '../metrics.js';
import type { ApiClient } from '../store/types.js';
import { ClientAuthenticator, presentedFormCredentials } from './client-auth.js';
import { introspectionDeps, type AppDeps } from './deps.js';
import { OAuthError } from './errors.js';
import { errorBody, logRequest, NO_STORE_HEADERS, readForm, requestIdOf, toOAuthError } from './middleware.js';
import type { RateLimits } from './rate-limit.js';
import { introspectionResponse, requiredToken } from './routes/oauth.js';
import { JSON_MEDIA_TYPE, renderIntrospectionResponse } from './signed-response.js';

/**
 * `POST /introspect` (RFC 7662) on node:http directly.
 *
 * This is the endpoint gateways call on every request they pass, so it is
 * served without the framework: Koa's context objects, router matching and
 * middleware chain cost more per request than the whole decision with warm
 * caches. It keeps every rule the rest of the API follows (the same body
 * reader, client authentication, rate limits, error JSON, no-store headers,
 * request id, access log line and metrics), built from the same functions;
 * the API test suite runs against it unchanged.
 */

export const INTROSPECTION_ROUTE = '/introspect';

/** What one exchange has gathered for its answer and its log line. */
interface Exchange {
  requestId: string;
  headers: OutgoingHttpHeaders;
  client?: ApiClient;
  reason?: string;
}

export function introspectionEndpoint(
  deps: AppDeps & { metrics: Metrics },
  limits: RateLimits,
  authenticator: ClientAuthenticator,
  clientAddress: (req: IncomingMessage) => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const core = introspectionDeps(deps);
  const { config, logger, metrics } = deps;
  // A client assertion may name the endpoint as its audience (OIDC Core §9).
  const endpointUrl = `${config.issuer}${INTROSPECTION_ROUTE}`;

  /** The answer to a POST: parameters, caller, budget, verdict. */
  async function answer(req: IncomingMessage, url: string, ip: string, x: Exchange): Promise<{ contentType: string; body: string }> {
    const q = url.indexOf('?');
    const params = await readForm(req, q < 0 ? '' : url.slice(q + 1), config.bodyLimitBytes);
    const client = (x.client = await limits.attempt(ip, x.requestId, () =>
      authenticator.authenticate(presentedFormCredentials(req.headers.authorization || undefined, params), endpointUrl, x.requestId),
    ));
    Object.assign(x.headers, await limits.charge(client.id, ip, x.requestId));
    const token = requiredToken(params);
    const verdict = await introspect(token, client, core);
    x.reason = verdict.active ? 'active' : verdict.reason;
    x.headers.Vary = 'Accept';
    return renderIntrospectionResponse(req, introspectionResponse(verdict, client), client, deps);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const requestId = requestIdOf(req.headers['x-request-id']);
    const x: Exchange = { requestId, headers: { 'X-Request-Id': requestId, ...NO_STORE_HEADERS } };
    let status = 200;
    let contentType = JSON_MEDIA_TYPE;
    let body: string;
    try {
      const ip = clientAddress(req);
      if (method === 'POST') {
        ({ contentType, body } = await answer(req, req.url ?? '', ip, x));
      } else {
        // As the router's allowedMethods: OPTIONS lists the method, anything else is 405.
        x.headers.Allow = 'POST';
        if (method !== 'OPTIONS') throw new OAuthError('invalid_request', 'method not allowed on this endpoint', 405);
        contentType = 'text/plain; charset=utf-8';
        body = '';
      }
    } catch (caught) {
      const error = toOAuthError(caught, logger, requestId);
      status = error.status;
      Object.assign(x.headers, error.headers);
      contentType = JSON_MEDIA_TYPE;
      body = JSON.stringify(errorBody(error));
    }
    x.headers['Content-Type'] = contentType;
    x.headers['Content-Length'] = Buffer.byteLength(body);
    res.writeHead(status, x.headers);
    res.end(body);
    logRequest(logger, { requestId, method, route: INTROSPECTION_ROUTE, status, started, clientId: x.client?.id, reason: x.reason }, config.logRequests);
    metrics.httpRequest(INTROSPECTION_ROUTE, method, status, Number(process.hrtime.bigint() - started) / 1e9);
    if (x.reason && x.client) metrics.introspectionResult('introspect', x.reason, x.client.id);
  }

  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      // Only a failure to write the answer can land here (the socket is gone).
      logger.warn({ err_name: (error as Error)?.name, route: INTROSPECTION_ROUTE }, 'introspection answer not written');
      if (!res.headersSent) res.destroy();
    });
  };
}
