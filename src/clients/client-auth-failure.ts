/** The one description of every failed client authentication. */
export const CLIENT_AUTH_FAILED = 'client authentication failed';

/**
 * Why a client authentication failed. For the operator's log line only: the
 * answer never says (see `ClientAuthFailure`).
 */
export type ClientAuthFailureReason =
  // What the request presented.
  | 'no_credentials'
  | 'unsupported_authorization_scheme'
  | 'malformed_authorization'
  | 'client_id_missing'
  | 'client_id_mismatch'
  | 'unsupported_assertion_type'
  // The client.
  | 'unknown_client'
  | 'method_not_registered'
  | 'wrong_secret'
  // The assertion (RFC 7523 §3).
  | 'assertion_too_long'
  | 'assertion_malformed'
  | 'assertion_iss_sub_invalid'
  | 'assertion_alg_not_allowed'
  | 'assertion_signature_invalid'
  | 'assertion_no_matching_key'
  | 'assertion_key_ambiguous'
  | 'assertion_expired'
  | 'assertion_claims_invalid'
  | 'assertion_lifetime_too_long'
  | 'assertion_jti_invalid'
  | 'assertion_replayed'
  | 'assertion_invalid'
  // The client's keys, and this server's own setup.
  | 'no_registered_keys'
  | 'jwks_unavailable'
  | 'client_secret_key_unavailable'
  | 'client_secret_unreadable';

/**
 * A failed client authentication. Every one is answered alike: the HTTP
 * layer renders it as 401 `invalid_client` with the one description
 * (RFC 6749 §5.2, RFC 7523 §3.1), so the answer tells a caller neither
 * whether the client id exists, nor which method it registered, nor what was
 * wrong. `reason`, `clientId` (set only for a registered client) and `detail`
 * go to one server-side log line.
 */
export class ClientAuthFailure extends Error {
  override readonly name = 'ClientAuthFailure';
  constructor(
    readonly reason: ClientAuthFailureReason,
    readonly clientId?: string,
    readonly detail?: string,
  ) {
    super(CLIENT_AUTH_FAILED);
  }
}
