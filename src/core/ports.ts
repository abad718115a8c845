import type { JWSHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';

/**
 * The signing keys, as the decision and the token issuer need them. The
 * file-backed implementation is `KeyStore` (src/keys/); the store port is
 * src/store/types.ts.
 */
export interface TokenKeys {
  /** The key new tokens and signed answers are signed with. */
  readonly current: { kid: string; alg: string; key: CryptoKey };
  /** Algorithms accepted in a token header. */
  readonly algorithms: string[];
  /** The key for a token header, or throws (RFC 8725 §3.1: chosen by `kid`, of the header's `alg`). */
  keyFor(header: JWSHeaderParameters): CryptoKey | KeyObject;
}
