/**
 * Reason codes: why a token is not active. One typed list, stable and
 * documented (docs/api.md, "Reason codes"); clients permitted to see reasons get
 * them in `reason`. Add codes at the end; never rename one.
 */
export const reasonCodes = [
  'malformed',
  'invalid_signature',
  'invalid_claims',
  'expired',
  'not_yet_valid',
  'not_found',
  'revoked',
  'customer_not_found',
  'customer_disabled',
  'site_not_allowed',
] as const;

export type Reason = (typeof reasonCodes)[number];

const descriptions: Record<Reason, string> = {
  malformed: 'Token is not a well-formed Open Login token',
  invalid_signature: 'Token signature is not valid',
  invalid_claims: 'Token claims are not valid for this server',
  expired: 'Token expired',
  not_yet_valid: 'Token is not valid yet',
  not_found: 'Token is not known to this server',
  revoked: 'Token has been revoked',
  customer_not_found: 'Customer of this token does not exist',
  customer_disabled: 'Customer of this token is disabled',
  site_not_allowed: 'Token belongs to a site this client may not see',
};

/** Whole units, largest first: "33 minutes", "2 hours", "1 day". */
function humanDuration(seconds: number): string {
  const units: [string, number][] = [['day', 86_400], ['hour', 3600], ['minute', 60], ['second', 1]];
  for (const [name, size] of units) {
    if (seconds >= size || size === 1) {
      const n = Math.floor(seconds / size);
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/**
 * The human message for a reason. Built only from the reason and times, so it
 * can never echo the token.
 */
export function describeReason(reason: Reason, times: { exp?: number; nbf?: number; now: number }): string {
  if (reason === 'expired' && times.exp !== undefined) {
    const ago = times.now - times.exp;
    return ago < 1 ? 'Token expired just now' : `Token expired ${humanDuration(ago)} ago`;
  }
  if (reason === 'not_yet_valid' && times.nbf !== undefined && times.nbf > times.now) {
    return `Token is not valid for another ${humanDuration(times.nbf - times.now)}`;
  }
  return descriptions[reason];
}
