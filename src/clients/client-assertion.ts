import { createSecretKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  createLocalJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JSONWebKeySet,
  type JWTVerifyOptions,
} from 'jose';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { toNumericDate } from '../core/clock.js';
import { openClientSecret } from '../keys/client-secret-box.js';
import type { Logger } from '../log.js';
import type { ApiClient, Store } from '../store/types.js';
import { ClientAuthFailure, type ClientAuthFailureReason } from './client-auth-failure.js';
import { JwksFetchError, RemoteJwks } from './remote-jwks.js';

/**
 * Client authentication by JWT assertion: RFC 7523 §2.2 and §3, as profiled
 * by OpenID Connect Core §9 (`private_key_jwt`, `client_secret_jwt`).
 */

/** RFC 7523 §2.2: the only `client_assertion_type` this server knows. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Algorithms accepted in client assertions, per method. Disjoint on purpose:
 * a `private_key_jwt` client's assertion is never checked as an HMAC, and a
 * `client_secret_jwt` client's never against a public key (RFC 8725 §3.1).
 */
export const ASSERTION_ALGORITHMS = {
  private_key_jwt: ['ES256', 'EdDSA', 'RS256', 'PS256'],
  client_secret_jwt: ['HS256'],
} as const;

/** An assertion may not be valid for longer than this (from `iat`, and from now). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Longer input is refused before any parsing. */
const MAX_ASSERTION_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

export interface ClientAssertionDeps {
  config: Pick<Config, 'issuer' | 'clockSkewSeconds' | 'clientSecretKey' | 'jwksUriAllowLoopback'>;
  store: Pick<Store, 'clients' | 'replays'>;
  clock: Clock;
  logger: Logger;
}

/** Failure reasons (for the log line only) by jose error code; anything else is "invalid". */
const REASONS: Record<string, ClientAuthFailureReason> = {
  ERR_JWT_EXPIRED: 'assertion_expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'assertion_signature_invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'assertion_alg_not_allowed',
  ERR_JOSE_NOT_SUPPORTED: 'assertion_alg_not_allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'assertion_no_matching_key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'assertion_key_ambiguous',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'assertion_claims_invalid',
  ERR_JWS_INVALID: 'assertion_malformed',
  ERR_JWT_INVALID: 'assertion_malformed',
};

/** jose codes of a remote key set that could not be fetched or read. */
const KEY_FETCH_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** Every algorithm an assertion may use, whatever its client: what a decoy check accepts. */
const ANY_ASSERTION_ALGORITHM = [...ASSERTION_ALGORITHMS.private_key_jwt, ...ASSERTION_ALGORITHMS.client_secret_jwt];

/**
 * Keys nobody holds the private half of. An assertion that names no
 * assertion client (unknown, or registered for a shared secret) is checked
 * against the decoy for its algorithm, so that such a client costs about
 * what a real one does: one key selection and one signature check, not an
 * early return a caller could time. Made once per process, off the event
 * loop (an RSA key takes a fifth of a second).
 */
let decoyKeys: Promise<Record<string, KeyObject>> | undefined;
function decoys(): Promise<Record<string, KeyObject>> {
  decoyKeys ??= (async () => {
    const pair = promisify(generateKeyPair);
    const [ec, ed, rsa] = await Promise.all([pair('ec', { namedCurve: 'P-256' }), pair('ed25519'), pair('rsa', { modulusLength: 2048 })]);
    return { ES256: ec.publicKey, EdDSA: ed.publicKey, RS256: rsa.publicKey, PS256: rsa.publicKey, HS256: createSecretKey(randomBytes(32)) };
  })();
  return decoyKeys;
}

export class ClientAssertionVerifier {
  readonly #deps: ClientAssertionDeps;
  /** Clients' `jwks_uri` key sets, fetched under remote-jwks.ts's rules and cached. */
  readonly #remote: RemoteJwks;

  constructor(deps: ClientAssertionDeps) {
    this.#deps = deps;
    this.#remote = new RemoteJwks({ allowLoopback: deps.config.jwksUriAllowLoopback, clock: deps.clock });
  }

  /**
   * Verifies `assertion` and returns its client. Every failure is a
   * `ClientAuthFailure`: 401 `invalid_client` (RFC 6749 §5.2, RFC 7523 §3.1).
   */
  async verify(assertion: string, bodyClientId: string | undefined, endpointUrl: string): Promise<ApiClient> {
    const { store, clock, config } = this.#deps;
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new ClientAuthFailure('assertion_too_long');
    let claims;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new ClientAuthFailure('assertion_malformed');
    }
    // RFC 7523 §3 items 1-2: iss and sub are both the client id.
    const clientId = claims.sub;
    if (typeof clientId !== 'string' || clientId === '' || clientId.length > 256 || claims.iss !== clientId) {
      throw new ClientAuthFailure('assertion_iss_sub_invalid');
    }
    if (bodyClientId !== undefined && bodyClientId !== clientId) throw new ClientAuthFailure('client_id_mismatch');

    const now = clock.now();
    const options: JWTVerifyOptions = {
      issuer: clientId,
      subject: clientId,
      // RFC 7523 §3 item 3: the issuer identifies this server; the endpoint URL is accepted too (OIDC Core §9).
      audience: [config.issuer, endpointUrl],
      requiredClaims: ['exp', 'jti'],
      currentDate: now,
      clockTolerance: config.clockSkewSeconds,
    };
    const client = await store.clients.findById(clientId);
    if (!client || (client.authMethod !== 'private_key_jwt' && client.authMethod !== 'client_secret_jwt')) {
      await this.#decoyCheck(assertion, options);
      throw client ? new ClientAuthFailure('method_not_registered', client.id) : new ClientAuthFailure('unknown_client');
    }

    let payload;
    try {
      const checked = { ...options, algorithms: [...ASSERTION_ALGORITHMS[client.authMethod]] };
      ({ payload } =
        client.authMethod === 'private_key_jwt'
          ? await jwtVerify(assertion, this.#publicKeys(client), checked)
          : await jwtVerify(assertion, this.#hmacKey(client), checked));
    } catch (error) {
      if (error instanceof ClientAuthFailure) throw error;
      const code = (error as { code?: unknown })?.code;
      if (error instanceof JwksFetchError) throw new ClientAuthFailure('jwks_unavailable', client.id, error.reason);
      if (!(error instanceof joseErrors.JOSEError) || (typeof code === 'string' && KEY_FETCH_CODES.has(code))) {
        // The client's key set could not be read (the cause is logged by name only).
        throw new ClientAuthFailure('jwks_unavailable', client.id, typeof code === 'string' ? code : (error as Error)?.name);
      }
      const claim = error instanceof joseErrors.JWTClaimValidationFailed ? error.claim : undefined;
      throw new ClientAuthFailure((typeof code === 'string' && REASONS[code]) || 'assertion_invalid', client.id, claim);
    }

    // exp is required and bounded, so the replay record below is short-lived.
    const exp = payload.exp!;
    const nowSeconds = toNumericDate(now);
    const tooLong =
      exp - nowSeconds > MAX_ASSERTION_LIFETIME_SECONDS + config.clockSkewSeconds ||
      (typeof payload.iat === 'number' && exp - payload.iat > MAX_ASSERTION_LIFETIME_SECONDS);
    if (tooLong) throw new ClientAuthFailure('assertion_lifetime_too_long', client.id);

    // RFC 7523 §3 item 7: each jti once.
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw new ClientAuthFailure('assertion_jti_invalid', client.id);
    const expiresAt = new Date((exp + config.clockSkewSeconds) * 1000);
    if (!(await store.replays.use(clientId, jti, expiresAt, now))) throw new ClientAuthFailure('assertion_replayed', client.id);
    return client;
  }

  /** The work of a real check, against keys that match nothing: its outcome is ignored. */
  async #decoyCheck(assertion: string, options: JWTVerifyOptions): Promise<void> {
    const keys = await decoys();
    try {
      await jwtVerify(assertion, (header) => keys[header.alg] ?? keys.ES256!, { ...options, algorithms: ANY_ASSERTION_ALGORITHM });
    } catch {
      // Expected: nobody can sign for a decoy.
    }
  }

  #publicKeys(client: ApiClient): JWTVerifyGetKey {
    if (client.jwks) return createLocalJWKSet(client.jwks as unknown as JSONWebKeySet);
    if (!client.jwksUri) throw new ClientAuthFailure('no_registered_keys', client.id);
    return this.#remote.keySet(client.jwksUri);
  }

  #hmacKey(client: ApiClient) {
    const key = this.#deps.config.clientSecretKey;
    if (!key || !client.secretEncrypted) throw new ClientAuthFailure('client_secret_key_unavailable', client.id);
    try {
      return createSecretKey(Buffer.from(openClientSecret(client.secretEncrypted, client.id, key), 'utf8'));
    } catch {
      throw new ClientAuthFailure('client_secret_unreadable', client.id);
    }
  }
}
