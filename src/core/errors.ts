/**
 * What an application service refuses, in words of the request, not of a
 * protocol: the HTTP layer renders these as RFC 6749 §5.2 JSON, the CLI as
 * one line and an exit status. `field` names the input (as the admin API
 * names it: `customer_id`, `expires_in`); each adapter may rename it.
 */
export class InvalidInput extends Error {
  override readonly name: string = 'InvalidInput';
  constructor(
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(field === null ? problem : `${field}: ${problem}`);
  }
}

/** The record asked for does not exist. */
export class NotFoundError extends Error {
  override readonly name: string = 'NotFoundError';
  constructor(readonly what: 'client' | 'customer') {
    super(`no such ${what}`);
  }
}

/** RFC 7009 §2.1: the token was not issued to the client asking to revoke it. */
export class RevocationRefused extends Error {
  override readonly name = 'RevocationRefused';
  constructor() {
    super('the token was not issued to this client');
  }
}
