import type { ApiClient, Customer, Grant } from './types.js';

/**
 * Copies of records, as every adapter and the cache return them (store
 * contract): a caller that changes what it got cannot change the store.
 * Field by field, since these run on every introspection (structuredClone
 * costs several times more).
 */
const copyDate = (d: Date) => new Date(d.getTime());

export function copyGrant(g: Grant): Grant {
  const copy = { ...g, issuedAt: copyDate(g.issuedAt), expiresAt: copyDate(g.expiresAt), revokedAt: g.revokedAt && copyDate(g.revokedAt) };
  if (g.audience) copy.audience = [...g.audience];
  if (g.previousLoginAt) copy.previousLoginAt = copyDate(g.previousLoginAt);
  return copy;
}

export function copyCustomer(c: Customer): Customer {
  return { ...c, updatedAt: copyDate(c.updatedAt) };
}

export function copyClient(c: ApiClient): ApiClient {
  const copy = { ...c, siteIds: c.siteIds && [...c.siteIds], createdAt: copyDate(c.createdAt) };
  // Key sets are nested JSON, rare, and only read by assertion clients.
  if (c.jwks) copy.jwks = structuredClone(c.jwks);
  return copy;
}
