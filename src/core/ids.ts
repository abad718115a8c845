/**
 * Identifiers from the platform (customer, site and client ids): printable,
 * short, no operators or paths, so none can reach a query as anything but a
 * literal. The one rule for the admin API's schemas, the CLI and the services.
 */
export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** What the rule says, for error messages. */
export const ID_RULE = 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -';

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
