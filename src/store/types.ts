/**
 * The store port: everything the server keeps between requests.
 *
 * Two adapters implement it: `MemoryStore` (the embedded development default)
 * and `MongoStore` (production). Both must pass the contract suite in
 * `test/store/contract.ts`. Adapters throw `StoreUnavailableError` when the
 * backing database cannot answer; callers turn that into a 503, never into a
 * verdict.
 */

/** Token formats this server issues and understands. */
export type TokenFormat = 'jwt' | 'opaque';

/**
 * A grant is the server-side record of one issued token. `id` is the token's
 * `jti`. Opaque tokens are found by `tokenHash` (SHA-256 of the token, base64url);
 * the token itself is never stored.
 */
export interface Grant {
  id: string;
  customerId: string;
  siteId: string | null;
  /** The OAuth client the token was issued to (RFC 9068 `client_id`). */
  clientId: string;
  format: TokenFormat;
  tokenHash: string | null;
  /**
   * The token's audience (RFC 8707 resource indicators: absolute URIs, at
   * least one), which a JWT's `aud` must name exactly. Absent on grants
   * written before grants recorded it: then `aud` must contain
   * `TOKEN_AUDIENCE` (README "Validity rules").
   */
  audience?: string[];
  issuedAt: Date;
  /**
   * When the customer's previous grant was issued (their login before this
   * one), recorded at issue from their latest grant so that answers need no
   * query; `null`: none. Absent on grants that did not record it (as `null`).
   */
  previousLoginAt?: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
}

export type CustomerStatus = 'active' | 'disabled';

export interface Customer {
  id: string;
  status: CustomerStatus;
  /** RFC 7662 §2.2 `username`, for clients with the customer-profile permission; absent: none. */
  username?: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  updatedAt: Date;
}

/**
 * Client authentication methods (RFC 7591 §2 `token_endpoint_auth_method`).
 * The last two authenticate with a signed JWT (RFC 7523 §2.2, OpenID Connect Core §9).
 */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'client_secret_jwt';

/** A JWK Set (RFC 7517 §5) of a client's public keys, as registered (RFC 7591 `jwks`). */
export interface ClientJwks {
  keys: Record<string, unknown>[];
}

/** A registered API client: the caller of /introspect, /revoke and /validate. */
export interface ApiClient {
  id: string;
  name: string;
  /**
   * SHA-256 of the secret (base64url). Secrets are high-entropy, so no slow hash.
   * `null` for clients that authenticate by JWT assertion (no hashed secret to compare).
   */
  secretHash: string | null;
  authMethod: ClientAuthMethod;
  /**
   * `client_secret_jwt` only: the secret encrypted under `CLIENT_SECRET_KEY`
   * (AES-256-GCM), since an HMAC key cannot be checked against a hash.
   */
  secretEncrypted?: string | null;
  /** `private_key_jwt` only: the client's public keys, inline (RFC 7591 `jwks`)... */
  jwks?: ClientJwks | null;
  /** ...or where to fetch them (RFC 7591 `jwks_uri`). */
  jwksUri?: string | null;
  /** RFC 9701 §6: signed introspection answers for this client, with this algorithm. */
  introspectionSignedResponseAlg?: string | null;
  /** Whether inactive verdicts carry a reason code for this client. */
  reasonCodes: boolean;
  /**
   * Whether active answers carry the customer's profile (personal data):
   * `username` in introspection, `customer` in validation. Absent: no.
   */
  customerProfile?: boolean;
  /** Sites whose tokens this client may see; `null` means all sites. */
  siteIds: string[] | null;
  createdAt: Date;
}

/**
 * The optional `peek` reads answer at once from what this process already
 * holds (the embedded store's maps, a cache's entries): the record, `null`
 * when the store knows there is none, or `undefined` when it cannot tell
 * without a round trip, and then the caller uses the `find` method. A hit
 * costs no promise, which is most of the cost of a warm introspection. A
 * peek never waits and never fails; callers read it through `peeked` (below),
 * so a wrapper that made it asynchronous only loses the shortcut.
 */
export interface GrantStore {
  insert(grant: Grant): Promise<void>;
  findById(id: string): Promise<Grant | null>;
  findByTokenHash(tokenHash: string): Promise<Grant | null>;
  peekById?(id: string): Grant | null | undefined;
  peekByTokenHash?(tokenHash: string): Grant | null | undefined;
  /** Marks one grant revoked. Returns false when no unrevoked grant had that id. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Revokes every unrevoked grant of a customer ("log out everywhere"). */
  revokeByCustomer(customerId: string, at: Date): Promise<number>;
  /** Removes grants that expired before `before`. Returns how many were removed. */
  deleteExpired(before: Date): Promise<number>;
  /**
   * When the customer's latest grant for the site (`null`: tokens of no site),
   * of those kept and issued at or before `notAfter`, was issued; null when
   * they have none.
   */
  latestIssuedAt(customerId: string, siteId: string | null, notAfter: Date): Promise<Date | null>;
}

export interface CustomerStore {
  upsert(customer: Customer): Promise<void>;
  findById(id: string): Promise<Customer | null>;
  peekById?(id: string): Customer | null | undefined;
}

export interface ClientStore {
  insert(client: ApiClient): Promise<void>;
  findById(id: string): Promise<ApiClient | null>;
  peekById?(id: string): ApiClient | null | undefined;
  list(): Promise<ApiClient[]>;
}

/**
 * Used JWT assertion ids (RFC 7523 §3 item 7): a `jti` is accepted once per
 * client until the assertion expires.
 */
export interface ReplayStore {
  /**
   * Records `jti` for `clientId` until `expiresAt`. Returns false when the same
   * pair is already recorded and has not expired (a replay). Atomic: of two
   * concurrent calls with the same pair, exactly one returns true.
   */
  use(clientId: string, jti: string, expiresAt: Date, now: Date): Promise<boolean>;
  /** Removes records that expired before `before`. Returns how many were removed. */
  deleteExpired(before: Date): Promise<number>;
}

export interface Store {
  /** A short name for logs and readiness output: `memory` or `mongodb`. */
  readonly kind: string;
  readonly grants: GrantStore;
  readonly customers: CustomerStore;
  readonly clients: ClientStore;
  readonly replays: ReplayStore;
  /** Connects and prepares indexes. Safe to call once at start-up. */
  init(): Promise<void>;
  /** Throws `StoreUnavailableError` unless the store answers now. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A peek's answer, or `undefined` when there is none to use at once: a
 * wrapper that turned the peek into a promise (a timing proxy, a fault
 * injector) gets the `find` call instead, so a store fault still surfaces
 * as an error, never as a record. Its promise is observed, never left
 * unhandled.
 */
export function peeked<T>(answer: T | null | undefined): T | null | undefined {
  if (answer instanceof Promise) {
    answer.catch(() => undefined);
    return undefined;
  }
  return answer;
}

/** The backing database did not answer (down, slow, or refused). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A write conflicted with an existing record (duplicate id or token hash). */
export class DuplicateKeyError extends Error {
  override readonly name = 'DuplicateKeyError';
}
