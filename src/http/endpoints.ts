import type { z } from 'zod';
import type { AppServices } from '../app/services.js';
import { toNumericDate, type Clock } from '../core/clock.js';
import type { Verdict } from '../core/introspect.js';
import { describeReason } from '../core/reasons.js';
import type { ApiClient } from '../store/types.js';
import { readForm, readJson } from './body.js';
import { presentedCredentials, presentedFormCredentials } from './credentials.js';
import { InvalidRequest } from './errors.js';
import type { ClientEndpoint } from './pipeline.js';
import { parseOrRefuse } from './schemas/plain-words.js';
import { validationBody } from './schemas/requests.js';
import { JSON_MEDIA_TYPE, renderIntrospectionResponse, type SignedResponseDeps } from './signed-response.js';

/**
 * What each client-authenticated endpoint does once the pipeline
 * (pipeline.ts) has authenticated and charged its caller: read its
 * parameters, call one application service, render the answer.
 */

/** RFC 7662 §2.1 and RFC 7009 §2.1: `token` is REQUIRED. */
export function requiredToken(params: Map<string, string>): string {
  const token = params.get('token');
  if (token === undefined || token === '') throw new InvalidRequest('parameter token is required');
  return token;
}

/**
 * RFC 7662 §2.2 `username`: the customer's username, else their email; for a
 * client registered with `customer_profile`, and only then (personal data;
 * RFC 7662 §4: the answer tells the resource server no more than it needs).
 * `undefined` (dropped from the JSON) when there is none to tell.
 */
function usernameFor(verdict: Extract<Verdict, { active: true }>, client: ApiClient): string | undefined {
  if (client.customerProfile !== true) return undefined;
  // `||`: an empty string (a login service may write one) names nobody, so it is no username.
  return verdict.customer.username || verdict.customer.email || undefined;
}

/** RFC 7662 §2.2 member set; reasons only for clients registered to see them, `username` only for those with `customer_profile`. */
export function introspectionResponse(verdict: Verdict, client: ApiClient): Record<string, unknown> {
  if (!verdict.active) return client.reasonCodes ? { active: false, reason: verdict.reason } : { active: false };
  const t = verdict.token;
  // One object literal, `nbf` and `username` left undefined when absent (JSON.stringify drops them): no spread per answer.
  return {
    active: true,
    sub: t.sub,
    client_id: t.clientId,
    token_type: 'Bearer',
    exp: t.exp,
    iat: t.iat,
    nbf: t.nbf,
    iss: t.iss,
    aud: t.aud,
    jti: t.jti,
    site_id: t.siteId,
    username: usernameFor(verdict, client),
  };
}

/**
 * The validation answer's `customer` (modelled on the platform's Verify/Token
 * answer): for a client registered with `customer_profile`, and only then.
 * `login_time` is when this token's grant was issued; `previous_login` when
 * the customer's grant before it was (recorded on the grant at issue).
 */
function customerProfile(verdict: Extract<Verdict, { active: true }>): Record<string, unknown> {
  const { customer, grant } = verdict;
  return {
    email: customer.email,
    first_name: customer.firstName,
    last_name: customer.lastName,
    login_time: grant.issuedAt.toISOString(),
    previous_login: grant.previousLoginAt ? grant.previousLoginAt.toISOString() : null,
  };
}

/** The platform's validation answer: RFC 3339 times and a human message. */
export function validationResponse(verdict: Verdict, client: ApiClient, now: Date): Record<string, unknown> {
  const nowSeconds = toNumericDate(now);
  const timing = (exp: number) => ({ expires_at: new Date(exp * 1000).toISOString(), expires_in: exp - nowSeconds });
  if (verdict.active) {
    const t = verdict.token;
    // The audience as a list whatever the token's `aud` spelling: one shape for clients that are not OAuth-aware.
    const audience = typeof t.aud === 'string' ? [t.aud] : t.aud;
    return {
      valid: true,
      reason: null,
      customer_id: t.sub,
      site_id: t.siteId,
      audience,
      ...timing(t.exp),
      ...(client.customerProfile === true ? { customer: customerProfile(verdict) } : {}),
    };
  }
  if (!client.reasonCodes) return { valid: false };
  return {
    valid: false,
    reason: verdict.reason,
    message: describeReason(verdict.reason, { exp: verdict.exp, nbf: verdict.nbf, now: nowSeconds }),
    ...(verdict.exp !== undefined ? timing(verdict.exp) : {}),
  };
}

type ValidationBody = z.infer<typeof validationBody>;

/** RFC 7662: `POST /introspect`. */
export function introspectionEndpoint(services: AppServices, signing: SignedResponseDeps): ClientEndpoint<Map<string, string>> {
  return {
    name: 'introspect',
    verdictLabel: 'introspect',
    read: readForm,
    credentials: presentedFormCredentials,
    async act(params, client, x) {
      const verdict = await services.introspect(requiredToken(params), client);
      x.reason = verdict.active ? 'active' : verdict.reason;
      // RFC 9701 §4: the answer is JSON or a signed JWT, chosen by Accept.
      x.headers.push('Vary', 'Accept');
      return renderIntrospectionResponse(x.req, introspectionResponse(verdict, client), client, signing);
    },
  };
}

/**
 * RFC 7009: `POST /revoke`. 200 for unknown tokens and for tokens of sites
 * the caller may not see (§2.2), so the answer tells nothing about them;
 * 400 for a live token issued to another client (§2.1).
 */
export function revocationEndpoint(services: AppServices): ClientEndpoint<Map<string, string>> {
  return {
    name: 'revoke',
    read: readForm,
    credentials: presentedFormCredentials,
    async act(params, client) {
      await services.revokeAsClient(requiredToken(params), client);
      return { contentType: 'text/plain; charset=utf-8', body: '' };
    },
  };
}

/** The platform's JSON validation endpoint, for API clients that are not OAuth-aware. */
export function validationEndpoint(services: AppServices, clock: Clock): ClientEndpoint<ValidationBody> {
  return {
    name: 'validate',
    verdictLabel: 'validate',
    async read(req, querystring, limit) {
      return parseOrRefuse(validationBody, await readJson(req, querystring, limit));
    },
    credentials: presentedCredentials,
    async act(body, client, x) {
      if (body.auth_token === undefined || body.auth_token === '') throw new InvalidRequest('auth_token is required');
      const verdict = await services.introspect(body.auth_token, client);
      x.reason = verdict.active ? 'active' : verdict.reason;
      return { contentType: JSON_MEDIA_TYPE, body: JSON.stringify(validationResponse(verdict, client, clock.now())) };
    },
  };
}
