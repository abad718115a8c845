import type { TokenKeys } from './ports.js';
import { peeked, type Customer, type Grant, type Store, type TokenFormat } from '../store/types.js';
import { hashToken, isOpaqueTokenShape } from './tokens/opaque.js';
import { isCompactJwsShape, verifyAccessToken, type JwtCheck } from './tokens/jwt.js';
import type { VerifiedTokenCache } from './tokens/verified-cache.js';
import { toNumericDate, type Clock } from './clock.js';
import type { Reason } from './reasons.js';
import { audienceClaim, sameAudience } from '../lib/resource-indicators.js';

type JwtClaims = Extract<JwtCheck, { ok: true }>['claims'];

/** Longer input is refused before any parsing: real tokens are well under 2 KiB. */
export const MAX_TOKEN_LENGTH = 4096;

/** What is known of an authentic token: its claims, or its grant for opaque tokens. */
export interface TokenFacts {
  format: TokenFormat;
  jti: string;
  sub: string;
  siteId: string | null;
  clientId: string;
  iss: string;
  aud: string | string[];
  iat: number;
  exp: number;
  nbf?: number;
}

export type Verdict =
  | { active: true; token: TokenFacts; grant: Grant; customer: Customer }
  | {
      active: false;
      reason: Reason;
      /** Known once the token proved authentic (signature verified or grant found). */
      exp?: number;
      nbf?: number;
      /** The grant, when the token is authentic and its grant exists (revocation needs it). */
      grantId?: string;
      /** With `grantId`: whom the token was issued to (src/core/revocation.ts decides from it). */
      issuedTo?: { clientId: string; siteId: string | null };
    };

/** The calling client, as far as the decision goes. */
export interface Caller {
  /** Sites whose tokens the caller may see; `null`: all sites. */
  siteIds: string[] | null;
}

export interface IntrospectionDeps {
  keys: TokenKeys;
  store: Store;
  clock: Clock;
  issuer: string;
  /** `TOKEN_AUDIENCE` (default: the issuer): what `aud` must contain when the grant records no audience. */
  audience: string;
  clockSkewSeconds: number;
  maxTokenTtlSeconds: number;
  /** Skips repeated signature checks of the same JWT; absent: every request verifies. */
  verifiedTokens?: VerifiedTokenCache;
}

const inactive = (reason: Reason, extra: Omit<Extract<Verdict, { active: false }>, 'active' | 'reason'> = {}): Verdict => ({
  active: false,
  reason,
  ...extra,
});

const siteAllowed = (caller: Caller, siteId: string | null): boolean =>
  caller.siteIds === null || (siteId !== null && caller.siteIds.includes(siteId));

/**
 * The decision: token in, verdict out. A token is active only when every rule
 * of "what valid means" holds (README "Validity rules"), checked cheapest
 * first so that forged and expired tokens never cost a store round trip.
 *
 * Store failures are not verdicts: they propagate as errors (the HTTP layer
 * answers 503), so an unreachable store can never yield `active: true`.
 *
 * When everything needed is already in this process (a verified-JWT cache
 * hit, grant and customer read by the stores' `peek`), the verdict is
 * returned at once, without a promise; otherwise as a promise. The rules are
 * the same functions either way: only how the records arrive differs.
 */
export function introspect(token: string, caller: Caller, deps: IntrospectionDeps): Verdict | Promise<Verdict> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return inactive('malformed');
  if (isOpaqueTokenShape(token)) return introspectOpaque(token, caller, deps);
  if (isCompactJwsShape(token)) return introspectJwt(token, caller, deps);
  return inactive('malformed');
}

function introspectJwt(token: string, caller: Caller, deps: IntrospectionDeps): Verdict | Promise<Verdict> {
  const now = deps.clock.now();
  const options = { ...deps, now };
  const check = deps.verifiedTokens ? deps.verifiedTokens.verify(token, options) : verifyAccessToken(token, options);
  return check instanceof Promise ? check.then((c) => decideJwt(c, caller, deps, now)) : decideJwt(check, caller, deps, now);
}

function decideJwt(check: JwtCheck, caller: Caller, deps: IntrospectionDeps, now: Date): Verdict | Promise<Verdict> {
  if (!check.ok) return inactive(check.reason, { exp: check.claims?.exp, nbf: check.claims?.nbf });
  const c = check.claims;
  // Decided from the verified claims alone, before any store lookup: `site_id`
  // and `exp` are readable by whoever holds the token, and that the signature
  // verifies every caller learns anyway (else `invalid_signature`), so this
  // answer tells nothing the token does not; it says nothing of the grant
  // (unlike opaque tokens, below).
  if (!siteAllowed(caller, c.site_id)) return inactive('site_not_allowed', jwtTimes(c));
  const grant = peeked(deps.store.grants.peekById?.(c.jti));
  const customer = peeked(deps.store.customers.peekById?.(c.sub));
  if (grant !== undefined && customer !== undefined) return decideJwtGrant(c, grant, customer, deps, now);
  // Independent lookups: one round trip of latency, not two.
  return Promise.all([grant ?? deps.store.grants.findById(c.jti), customer ?? deps.store.customers.findById(c.sub)]).then(([g, cu]) =>
    decideJwtGrant(c, g, cu, deps, now),
  );
}

const jwtTimes = (c: JwtClaims) => ({ exp: c.exp, ...(c.nbf !== undefined ? { nbf: c.nbf } : {}) });

/**
 * Whether the token's `aud` is its grant's audience. The grant records the
 * audience the token was issued for (RFC 8707 resource indicators), so `aud`
 * must name exactly those URIs: a token re-signed for another resource
 * server, or with one added, does not agree (a string and a one-item array
 * are the same audience, RFC 7519 §4.1.3). A grant from before audiences were
 * recorded keeps the earlier rule: `aud` contains `TOKEN_AUDIENCE`.
 */
function audienceAgrees(aud: string | string[], grant: Grant, deps: IntrospectionDeps): boolean {
  if (grant.audience) return sameAudience(aud, grant.audience);
  return typeof aud === 'string' ? aud === deps.audience : aud.includes(deps.audience);
}

function decideJwtGrant(c: JwtClaims, grant: Grant | null, customer: Customer | null, deps: IntrospectionDeps, now: Date): Verdict {
  // A JWT is backed only by a `jwt` grant: an opaque grant's id in `jti` names
  // no grant of this token, exactly as an unknown id (and must not let the JWT
  // stand in for, or revoke, the opaque token).
  if (!grant || grant.format !== 'jwt') return inactive('not_found', jwtTimes(c));
  // A token must agree with its grant; a mismatch means the grant was not made for it.
  if (grant.customerId !== c.sub || grant.siteId !== c.site_id || !audienceAgrees(c.aud, grant, deps)) {
    return inactive('invalid_claims', jwtTimes(c));
  }
  const facts: TokenFacts = {
    format: 'jwt',
    jti: c.jti,
    sub: c.sub,
    siteId: c.site_id,
    clientId: c.client_id,
    iss: c.iss,
    aud: c.aud,
    iat: c.iat,
    // The grant may end earlier than the token says (shortened by the login service); never later.
    exp: Math.min(c.exp, toNumericDate(grant.expiresAt)),
    ...(c.nbf !== undefined ? { nbf: c.nbf } : {}),
  };
  return decideOnGrant(facts, grant, customer, now);
}

function introspectOpaque(token: string, caller: Caller, deps: IntrospectionDeps): Verdict | Promise<Verdict> {
  const now = deps.clock.now();
  const tokenHash = hashToken(token);
  const grant = peeked(deps.store.grants.peekByTokenHash?.(tokenHash));
  if (grant !== undefined) return decideOpaque(grant, caller, deps, now);
  return deps.store.grants.findByTokenHash(tokenHash).then((g) => decideOpaque(g, caller, deps, now));
}

function decideOpaque(grant: Grant | null, caller: Caller, deps: IntrospectionDeps, now: Date): Verdict | Promise<Verdict> {
  if (!grant || grant.format !== 'opaque') return inactive('not_found');
  // An opaque token says nothing by itself: for a client that may not see its
  // site, it must be indistinguishable from an unknown token (same reason, no
  // times, no further store call), or the answer would tell that the token
  // exists, when it expires and whether it was revoked: state of another site
  // (RFC 7662 §2.2: nothing more about an inactive token than needed; §4: a
  // resource server should not learn more of the network than it needs).
  if (!siteAllowed(caller, grant.siteId)) return inactive('not_found');
  const facts: TokenFacts = {
    format: 'opaque',
    jti: grant.id,
    sub: grant.customerId,
    siteId: grant.siteId,
    clientId: grant.clientId,
    iss: deps.issuer,
    // The grant's audience; an older grant records none and gets what it got before.
    aud: grant.audience ? audienceClaim(grant.audience) : deps.audience,
    iat: toNumericDate(grant.issuedAt),
    exp: toNumericDate(grant.expiresAt),
  };
  const customer = peeked(deps.store.customers.peekById?.(grant.customerId));
  if (customer !== undefined) return decideOnGrant(facts, grant, customer, now);
  return deps.store.customers.findById(grant.customerId).then((cu) => decideOnGrant(facts, grant, cu, now));
}

/** What an inactive verdict tells of an authentic token whose grant exists; made only for inactive verdicts. */
const known = (facts: TokenFacts, grant: Grant) => ({ exp: facts.exp, grantId: grant.id, issuedTo: { clientId: facts.clientId, siteId: facts.siteId } });

/** The rules shared by both formats once the grant is in hand. */
function decideOnGrant(facts: TokenFacts, grant: Grant, customer: Customer | null, now: Date): Verdict {
  if (facts.exp <= toNumericDate(now)) return inactive('expired', known(facts, grant));
  if (grant.revokedAt !== null) return inactive('revoked', known(facts, grant));
  if (!customer) return inactive('customer_not_found', known(facts, grant));
  if (customer.status !== 'active') return inactive('customer_disabled', known(facts, grant));
  return { active: true, token: facts, grant, customer };
}
