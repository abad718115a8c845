import { introspect, type Caller, type IntrospectionDeps } from './introspect.js';

/** The client asking for a revocation (RFC 7009 §2.1: it is authenticated first). */
export interface RevocationCaller extends Caller {
  id: string;
}

/**
 * What a revocation request comes to:
 * - `revoke`: the grant to revoke;
 * - `none`: nothing to do, answered as a success (unknown, already invalid,
 *   or a token the caller may not see; RFC 7009 §2.2);
 * - `refused`: the caller sees the token but it was not issued to it
 *   (RFC 7009 §2.1); `grantId` is for the audit line.
 */
export type RevocationDecision =
  | { outcome: 'revoke'; grantId: string }
  | { outcome: 'none' }
  | { outcome: 'refused'; grantId: string };

/**
 * RFC 7009 §2.1: "The authorization server first validates the client
 * credentials [...] and then verifies whether the token was issued to the
 * client making the revocation request. If this validation fails, the
 * request is refused". A token is issued to a client here when
 * - its `client_id` is the client's id, or
 * - the client is limited to sites and the token's site is one of them (a
 *   site's client acts for that site, e.g. to log its customers out).
 *
 * The decision, in order:
 * 1. A token the caller may not see (another site's) is treated as an
 *    unknown one: the same success, nothing revoked (RFC 7009 §2.2), so
 *    the answer says nothing of other sites' tokens. `introspect` already
 *    answers such tokens without their grant.
 * 2. A token that is unknown or already invalid (expired, revoked) needs
 *    nothing: "the purpose of the revocation request [...] is already
 *    achieved" (RFC 7009 §2.2), whoever it was issued to.
 * 3. A live grant is revoked if the token was issued to the caller, else the
 *    request is refused. Only an unrestricted client can get here with a
 *    token not issued to it (a site-limited client sees only its sites'
 *    tokens), and it may introspect that token anyway, so refusing tells it
 *    nothing new; a silent success would instead let it believe a token
 *    ended that is still live.
 *
 * The admin API and the CLI revoke without this rule: they act for the
 * operator, not for a client.
 */
export async function decideRevocation(token: string, caller: RevocationCaller, deps: IntrospectionDeps): Promise<RevocationDecision> {
  const verdict = await introspect(token, caller, deps);
  let grantId: string;
  let issuedTo: { clientId: string; siteId: string | null };
  if (verdict.active) {
    grantId = verdict.grant.id;
    issuedTo = { clientId: verdict.token.clientId, siteId: verdict.token.siteId };
  } else {
    // A customer missing or disabled leaves the grant live (the customer may come back): revocable.
    const live = verdict.reason === 'customer_not_found' || verdict.reason === 'customer_disabled';
    if (!live || verdict.grantId === undefined || verdict.issuedTo === undefined) return { outcome: 'none' };
    grantId = verdict.grantId;
    issuedTo = verdict.issuedTo;
  }
  return isIssuedTo(caller, issuedTo) ? { outcome: 'revoke', grantId } : { outcome: 'refused', grantId };
}

/** The meaning of "issued to" above. */
export function isIssuedTo(caller: RevocationCaller, token: { clientId: string; siteId: string | null }): boolean {
  if (token.clientId === caller.id) return true;
  return caller.siteIds !== null && token.siteId !== null && caller.siteIds.includes(token.siteId);
}
