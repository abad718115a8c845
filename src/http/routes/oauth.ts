import Router from '@koa/router';
import { introspect, type Verdict } from '../../core/introspect.js';
import { decideRevocation } from '../../core/revocation.js';
import { describeReason } from '../../core/reasons.js';
import { toNumericDate } from '../../core/clock.js';
import type { ApiClient } from '../../store/types.js';
import { ClientAuthenticator, presentedCredentials, presentedFormCredentials, type PresentedCredentials } from '../client-auth.js';
import { introspectionDeps, type AppDeps } from '../deps.js';
import { InvalidRequest } from '../errors.js';
import { formBody, jsonBody, type AppContext, type AppMiddleware, type AppState } from '../middleware.js';
import { RateLimits } from '../rate-limit.js';
import { z } from 'zod';
import { ROUTER_OPTIONS } from '../routing.js';

/** The URL of the endpoint being called: a client assertion may name it as its audience (OIDC Core §9). */
function endpointUrl(deps: AppDeps, ctx: AppContext): string {
  return `${deps.config.issuer}${ctx.path}`;
}

/**
 * Authenticates the caller (one attempt under the failed-login limit), then
 * charges its request budget; the answer carries the budget's RateLimit fields.
 */
async function authenticateCaller(
  ctx: AppContext,
  deps: AppDeps,
  limits: RateLimits,
  authenticator: ClientAuthenticator,
  presented: () => PresentedCredentials,
): Promise<ApiClient> {
  const client = (ctx.state.client = await limits.attempt(ctx.ip, ctx.state.requestId, () => authenticator.authenticate(presented(), endpointUrl(deps, ctx), ctx.state.requestId)));
  ctx.set(await limits.charge(client.id, ctx.ip, ctx.state.requestId));
  return client;
}

/** Authenticates the caller from form parameters or the Authorization header. */
function formClientAuthentication(deps: AppDeps, limits: RateLimits, authenticator: ClientAuthenticator): AppMiddleware {
  return async (ctx, next) => {
    await authenticateCaller(ctx, deps, limits, authenticator, () => presentedFormCredentials(ctx.get('Authorization') || undefined, ctx.state.params!));
    await next();
  };
}

/** RFC 7662 §2.1 and RFC 7009 §2.1: `token` is REQUIRED. */
export function requiredToken(params: Map<string, string>): string {
  const token = params.get('token');
  if (token === undefined || token === '') throw new InvalidRequest('parameter token is required');
  return token;
}

/** RFC 7662 §2.2 member set; reasons only for clients registered to see them. */
export function introspectionResponse(verdict: Verdict, client: ApiClient): Record<string, unknown> {
  if (!verdict.active) return client.reasonCodes ? { active: false, reason: verdict.reason } : { active: false };
  const t = verdict.token;
  return {
    active: true,
    sub: t.sub,
    client_id: t.clientId,
    token_type: 'Bearer',
    exp: t.exp,
    iat: t.iat,
    ...(t.nbf !== undefined ? { nbf: t.nbf } : {}),
    iss: t.iss,
    aud: t.aud,
    jti: t.jti,
    site_id: t.siteId,
  };
}

/** The platform's validation answer: RFC 3339 times and a human message. */
export function validationResponse(verdict: Verdict, client: ApiClient, now: Date): Record<string, unknown> {
  const nowSeconds = toNumericDate(now);
  const timing = (exp: number) => ({ expires_at: new Date(exp * 1000).toISOString(), expires_in: exp - nowSeconds });
  if (verdict.active) {
    const t = verdict.token;
    return { valid: true, reason: null, customer_id: t.sub, site_id: t.siteId, ...timing(t.exp) };
  }
  if (!client.reasonCodes) return { valid: false };
  return {
    valid: false,
    reason: verdict.reason,
    message: describeReason(verdict.reason, { exp: verdict.exp, nbf: verdict.nbf, now: nowSeconds }),
    ...(verdict.exp !== undefined ? timing(verdict.exp) : {}),
  };
}

const validationBody = z.object({
  auth_token: z.string({ error: 'auth_token must be a string' }).optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_assertion: z.string().optional(),
  client_assertion_type: z.string().optional(),
});

export function oauthRoutes(
  deps: AppDeps,
  limits: RateLimits = new RateLimits(deps),
  authenticator: ClientAuthenticator = new ClientAuthenticator(deps),
): Router<AppState> {
  const router = new Router<AppState>(ROUTER_OPTIONS);
  const core = introspectionDeps(deps);
  const limit = deps.config.bodyLimitBytes;

  // RFC 7662 introspection is served by ../introspection-endpoint.ts, without the router.

  // RFC 7009: revocation. 200 for unknown tokens and for tokens of sites the
  // caller may not see (§2.2), so the answer tells nothing about them; 400 for
  // a live token issued to another client (§2.1).
  router.post('/revoke', formBody(limit), formClientAuthentication(deps, limits, authenticator), async (ctx) => {
    const token = requiredToken(ctx.state.params!);
    const client = ctx.state.client!;
    // RFC 7009 §2.1: only a token issued to this client; the rule is decideRevocation's.
    const decision = await decideRevocation(token, client, core);
    if (decision.outcome === 'refused') {
      deps.logger.info({ event: 'token.revocation_refused', jti: decision.grantId, client_id: client.id, via: 'revocation_endpoint' }, 'audit');
      throw new InvalidRequest('the token was not issued to this client');
    }
    if (decision.outcome === 'revoke') {
      const revoked = await deps.store.grants.revoke(decision.grantId, deps.clock.now());
      if (revoked) deps.logger.info({ event: 'token.revoked', jti: decision.grantId, client_id: client.id, via: 'revocation_endpoint' }, 'audit');
    }
    ctx.status = 200;
    ctx.body = '';
  });

  // The platform's JSON validation endpoint, for API clients that are not OAuth-aware.
  router.post('/api/v1/auth/token/validate', jsonBody(limit), async (ctx) => {
    const parsed = validationBody.safeParse(ctx.state.json);
    if (!parsed.success) throw new InvalidRequest(parsed.error.issues[0]?.message ?? 'invalid body');
    const body = parsed.data;
    const client = await authenticateCaller(ctx, deps, limits, authenticator, () => presentedCredentials(ctx.get('Authorization') || undefined, body));
    if (body.auth_token === undefined || body.auth_token === '') throw new InvalidRequest('auth_token is required');
    const verdict = await introspect(body.auth_token, client, core);
    ctx.state.reason = verdict.active ? 'active' : verdict.reason;
    ctx.body = validationResponse(verdict, client, deps.clock.now());
  });

  return router;
}
