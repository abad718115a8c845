import type { Customer, CustomerStatus } from '../store/types.js';

/** Changes to a customer: `undefined` keeps a field, `null` clears it. */
export interface CustomerChanges {
  status?: CustomerStatus;
  username?: string | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}

/**
 * The customer after an upsert, the one rule the admin API and the CLI share:
 * a new customer is active unless told otherwise; absent fields keep their value.
 */
export function applyCustomerChanges(id: string, existing: Customer | null, changes: CustomerChanges, now: Date): Customer {
  const pick = <T>(change: T | undefined, current: T | null | undefined): T | null => (change !== undefined ? change : (current ?? null));
  return {
    id,
    status: changes.status ?? existing?.status ?? 'active',
    username: pick(changes.username, existing?.username),
    email: pick(changes.email, existing?.email),
    firstName: pick(changes.firstName, existing?.firstName),
    lastName: pick(changes.lastName, existing?.lastName),
    updatedAt: now,
  };
}
