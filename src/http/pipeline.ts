import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../app/services.js';
import type { PresentedCredentials } from '../clients/client-auth.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ApiClient } from '../store/types.js';
import { accessLog, requestIdOf } from './access-log.js';
import { asInvalidClient, errorBody, OAuthError, toOAuthError } from './errors.js';
import { NO_STORE_HEADERS } from './middleware.js';
import type { RateLimits } from './rate-limit.js';
import { CLIENT_ENDPOINTS, type ClientEndpointName } from './route-table.js';
import { JSON_MEDIA_TYPE } from './signed-response.js';

/** What one request has gathered on its way through the pipeline, for its answer and its log line. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly ip: string;
  /**
   * Header fields of the answer, whatever its status, as node:http's flat
   * list (name, value, name, value...): one array per answer, where an
   * object would grow field by field. Fields are only added.
   */
  readonly headers: Array<string | number>;
  client?: ApiClient;
  /** The verdict's reason (`active` or a reason code), for the log line and the metrics. */
  reason?: string;
}

/** An endpoint's answer to an authenticated, charged request. */
export interface Answer {
  status?: number;
  contentType: string;
  body: string;
}

/**
 * One client-authenticated endpoint: what differs between `/introspect`,
 * `/revoke` and `/api/v1/auth/token/validate`. Everything else (the order
 * of the steps, the limits, errors, headers, log line and metrics) is the
 * pipeline's, written once below.
 */
export interface ClientEndpoint<P> {
  name: ClientEndpointName;
  /** Reads and shape-checks the parameters (form or JSON body). */
  read(req: IncomingMessage, querystring: string, limitBytes: number): Promise<P>;
  /** The client credentials the request presents (RFC 6749 §2.3, RFC 7523 §2.2). */
  credentials(authorization: string | undefined, params: P): PresentedCredentials;
  /** The endpoint's own work, for an authenticated caller within its budget. */
  act(params: P, client: ApiClient, x: Exchange): Promise<Answer>;
  /** Counted in `introspection_results_total` under this endpoint label. */
  verdictLabel?: 'introspect' | 'validate';
}

/** The no-store fields (middleware.ts) as a flat list. */
const NO_STORE_FIELDS = Object.entries(NO_STORE_HEADERS).flat();

function addFields(headers: Array<string | number>, fields: Record<string, string>): void {
  for (const name in fields) headers.push(name, fields[name]!);
}

export interface PipelineDeps {
  services: AppServices;
  limits: RateLimits;
  config: Pick<Config, 'issuer' | 'bodyLimitBytes' | 'logRequests'>;
  logger: Logger;
  metrics: Metrics;
  clientAddress: (req: IncomingMessage) => string;
}

/**
 * The request pipeline of the client-authenticated endpoints, on node:http
 * directly: these are what gateways call on every request they pass, and
 * Koa's context objects, router matching and middleware chain cost more per
 * request than the whole decision with warm caches.
 *
 * The steps, in order (as oidc-provider's introspection action lists them):
 *  1. request id (a well-formed `X-Request-Id`, else a new one);
 *  2. the caller's address (one rule: client-address.ts);
 *  3. the method: POST (RFC 7662 §2.1, RFC 7009 §2.1); OPTIONS lists it;
 *  4. the parameters: the endpoint's body, within the size limit, never in
 *     the URL, no parameter repeated;
 *  5. client authentication, as one attempt under the failed-login limit
 *     of the address;
 *  6. the client's request budget (429 beyond it; RateLimit fields);
 *  7. the endpoint's action, through the application services;
 *  8. the answer: the endpoint's, or RFC 6749 §5.2 error JSON; never cached;
 *  9. one access log line and the metrics, whatever happened.
 */
export function clientEndpointPipeline<P>(endpoint: ClientEndpoint<P>, deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { services, limits, config, logger, metrics, clientAddress } = deps;
  const route = CLIENT_ENDPOINTS[endpoint.name];
  // A client assertion may name the endpoint as its audience (OIDC Core §9): the route, however the path was spelled.
  const endpointUrl = `${config.issuer}${route}`;
  const log = accessLog(logger, config.logRequests);

  /** A failed authentication reaches the limiter as the 401 it is answered with, so that it counts. */
  function authenticate(presented: PresentedCredentials, requestId: string): ApiClient | Promise<ApiClient> {
    try {
      const client = services.authenticateClient(presented, endpointUrl, requestId);
      return client instanceof Promise ? client.catch(asInvalidClient) : client;
    } catch (error) {
      return asInvalidClient(error);
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const requestId = requestIdOf(req.headers['x-request-id']);
    const headers: Array<string | number> = ['X-Request-Id', requestId, ...NO_STORE_FIELDS];
    let x: Exchange | undefined;
    let result: Answer;
    try {
      x = { req, requestId, ip: clientAddress(req), headers };
      if (method === 'POST') {
        // 4. The parameters.
        const url = req.url ?? '';
        const q = url.indexOf('?');
        const params = await endpoint.read(req, q < 0 ? '' : url.slice(q + 1), config.bodyLimitBytes);
        // 5. Client authentication, under the failed-login limit. Awaited only when it had to wait (a store
        //    round trip, a shared count): a client in memory is checked at once.
        const authenticated = limits.attempt(x.ip, requestId, () => authenticate(endpoint.credentials(req.headers.authorization || undefined, params), requestId));
        const client = (x.client = authenticated instanceof Promise ? await authenticated : authenticated);
        // 6. The client's budget.
        const budget = limits.charge(client.id, x.ip, requestId);
        addFields(headers, budget instanceof Promise ? await budget : budget);
        // 7. The action.
        result = await endpoint.act(params, client, x);
      } else {
        // As the routers' allowedMethods: OPTIONS lists the method, anything else is 405.
        headers.push('Allow', 'POST');
        if (method !== 'OPTIONS') throw new OAuthError('invalid_request', 'method not allowed on this endpoint', 405);
        result = { contentType: 'text/plain; charset=utf-8', body: '' };
      }
    } catch (caught) {
      const error = toOAuthError(caught, logger, requestId);
      addFields(headers, error.headers);
      result = { status: error.status, contentType: JSON_MEDIA_TYPE, body: JSON.stringify(errorBody(error)) };
    }
    const status = result.status ?? 200;
    headers.push('Content-Type', result.contentType, 'Content-Length', Buffer.byteLength(result.body));
    res.writeHead(status, headers as string[]);
    res.end(result.body);
    const client = x?.client;
    const reason = x?.reason;
    log({ requestId, method, route, status, started, clientId: client?.id, reason });
    metrics.httpRequest(route, method, status, (performance.now() - started) / 1000);
    if (endpoint.verdictLabel && reason && client) metrics.introspectionResult(endpoint.verdictLabel, reason, client.id);
  }

  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      // Only a failure to write the answer can land here (the socket is gone).
      logger.warn({ err_name: (error as Error)?.name, route }, 'answer not written');
      if (!res.headersSent) res.destroy();
    });
  };
}
