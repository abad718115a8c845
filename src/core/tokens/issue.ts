import { SignJWT } from 'jose';
import type { TokenKeys } from '../ports.js';
import type { Clock } from '../clock.js';
import { toNumericDate } from '../clock.js';
import type { Grant, Store, TokenFormat } from '../../store/types.js';
import { generateOpaqueToken, hashToken, randomId } from './opaque.js';
import { audienceClaim } from '../../lib/resource-indicators.js';

export interface IssueRequest {
  customerId: string;
  siteId: string | null;
  clientId: string;
  expiresInSeconds: number;
  format: TokenFormat;
  /** The token's audience (RFC 8707 resource indicators, checked by the caller); absent: `deps.audience`. */
  audience?: string[];
  /** When the customer's previous grant was issued (null: none); absent: not recorded. */
  previousLoginAt?: Date | null;
}

export interface IssuedToken {
  token: string;
  grant: Grant;
}

export interface IssueDeps {
  keys: TokenKeys;
  store: Store;
  clock: Clock;
  issuer: string;
  /** The audience of a token whose request names none. */
  audience: string;
}

/**
 * The reference issuer of Open Login tokens. It writes the grant first and
 * hands out the token only once the grant is stored, so a token never exists
 * without its grant. JWTs follow RFC 9068 (`typ: at+jwt`) plus `site_id`.
 */
export async function issueToken(request: IssueRequest, deps: IssueDeps): Promise<IssuedToken> {
  // Whole seconds, so that the grant and the token's `exp` name the same instant.
  const iat = toNumericDate(deps.clock.now());
  const exp = iat + request.expiresInSeconds;
  const jti = randomId();
  const opaque = request.format === 'opaque' ? generateOpaqueToken() : null;
  const audience = request.audience ? [...request.audience] : [deps.audience];
  const grant: Grant = {
    id: jti,
    customerId: request.customerId,
    siteId: request.siteId,
    clientId: request.clientId,
    format: request.format,
    tokenHash: opaque ? hashToken(opaque) : null,
    // Recorded, so that the token's `aud` is checked against what it was issued for.
    audience,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    revokedAt: null,
    ...(request.previousLoginAt !== undefined ? { previousLoginAt: request.previousLoginAt } : {}),
  };
  await deps.store.grants.insert(grant);
  if (opaque) return { token: opaque, grant };

  const { kid, alg, key } = deps.keys.current;
  const token = await new SignJWT({ client_id: request.clientId, ...(request.siteId !== null ? { site_id: request.siteId } : {}) })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer(deps.issuer)
    .setSubject(request.customerId)
    .setAudience(audienceClaim(audience))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key);
  return { token, grant };
}
