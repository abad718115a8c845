import { createSecretKey } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JSONWebKeySet,
} from 'jose';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { toNumericDate } from '../core/clock.js';
import { openClientSecret } from '../keys/client-secret-box.js';
import type { Logger } from '../log.js';
import type { ApiClient, Store } from '../store/types.js';
import { InvalidClient } from './errors.js';

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

/** Remote key sets (`jwks_uri`): fetch bound, reuse, and minimum time between refetches. */
export const JWKS_FETCH_TIMEOUT_MS = 5000;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_COOLDOWN_MS = 30_000;
const MAX_REMOTE_SETS = 1000;

export interface ClientAssertionDeps {
  config: Pick<Config, 'issuer' | 'clockSkewSeconds' | 'clientSecretKey'>;
  store: Pick<Store, 'clients' | 'replays'>;
  clock: Clock;
  logger: Logger;
}

/** Failure descriptions by jose error code; anything else is "invalid". Never a claim value. */
const DESCRIPTIONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'client assertion has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'client assertion signature is invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'client assertion algorithm is not allowed for this client',
  ERR_JWKS_NO_MATCHING_KEY: 'no registered key of this client matches the assertion',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the assertion must name its key (kid): several registered keys match',
  ERR_JWKS_TIMEOUT: "the client's jwks_uri did not answer in time",
  ERR_JWKS_INVALID: "the client's jwks_uri does not serve a JWK Set",
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'client assertion claims are invalid',
};

export class ClientAssertionVerifier {
  readonly #deps: ClientAssertionDeps;
  /** One remote key set per `jwks_uri`: jose caches the fetched keys inside it. */
  readonly #remoteSets = new Map<string, JWTVerifyGetKey>();

  constructor(deps: ClientAssertionDeps) {
    this.#deps = deps;
  }

  /**
   * Verifies `assertion` and returns its client. Every failure is 401
   * `invalid_client` (RFC 6749 §5.2, RFC 7523 §3.1).
   */
  async verify(assertion: string, bodyClientId: string | undefined, endpointUrl: string): Promise<ApiClient> {
    const { store, clock, config } = this.#deps;
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new InvalidClient('client assertion is too long');
    let claims;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new InvalidClient('client assertion is not a well-formed JWT');
    }
    // RFC 7523 §3 items 1-2: iss and sub are both the client id.
    const clientId = claims.sub;
    if (typeof clientId !== 'string' || clientId === '' || clientId.length > 256 || claims.iss !== clientId) {
      throw new InvalidClient('client assertion iss and sub must both be the client id');
    }
    if (bodyClientId !== undefined && bodyClientId !== clientId) throw new InvalidClient('client_id does not match the client assertion');

    const client = await store.clients.findById(clientId);
    if (!client) throw new InvalidClient();
    if (client.authMethod !== 'private_key_jwt' && client.authMethod !== 'client_secret_jwt') {
      throw new InvalidClient(`client is registered for ${client.authMethod}`);
    }

    const now = clock.now();
    let payload;
    try {
      const options = {
        algorithms: [...ASSERTION_ALGORITHMS[client.authMethod]],
        issuer: clientId,
        subject: clientId,
        // RFC 7523 §3 item 3: the issuer identifies this server; the endpoint URL is accepted too (OIDC Core §9).
        audience: [config.issuer, endpointUrl],
        requiredClaims: ['exp', 'jti'],
        currentDate: now,
        clockTolerance: config.clockSkewSeconds,
      };
      ({ payload } =
        client.authMethod === 'private_key_jwt'
          ? await jwtVerify(assertion, this.#publicKeys(client), options)
          : await jwtVerify(assertion, this.#hmacKey(client), options));
    } catch (error) {
      if (error instanceof InvalidClient) throw error;
      const code = (error as { code?: unknown })?.code;
      if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || !(error instanceof joseErrors.JOSEError)) {
        // The client's own key endpoint failed: worth an operator's attention; the URL is not a secret.
        this.#deps.logger.warn({ event: 'client_assertion.keys_unavailable', client_id: clientId, err_name: (error as Error)?.name, err_code: code }, 'client keys could not be fetched');
      }
      throw new InvalidClient(typeof code === 'string' && DESCRIPTIONS[code] ? DESCRIPTIONS[code] : 'client assertion is invalid');
    }

    // exp is required and bounded, so the replay record below is short-lived.
    const exp = payload.exp!;
    const nowSeconds = toNumericDate(now);
    const tooLong =
      exp - nowSeconds > MAX_ASSERTION_LIFETIME_SECONDS + config.clockSkewSeconds ||
      (typeof payload.iat === 'number' && exp - payload.iat > MAX_ASSERTION_LIFETIME_SECONDS);
    if (tooLong) throw new InvalidClient(`client assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`);

    // RFC 7523 §3 item 7: each jti once.
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw new InvalidClient(`client assertion jti must be 1-${MAX_JTI_LENGTH} characters`);
    const expiresAt = new Date((exp + config.clockSkewSeconds) * 1000);
    if (!(await store.replays.use(clientId, jti, expiresAt, now))) throw new InvalidClient('client assertion was already used');
    return client;
  }

  #publicKeys(client: ApiClient): JWTVerifyGetKey {
    if (client.jwks) return createLocalJWKSet(client.jwks as unknown as JSONWebKeySet);
    if (!client.jwksUri) throw new InvalidClient('client has no registered keys');
    let set = this.#remoteSets.get(client.jwksUri);
    if (!set) {
      // Bounded: dropping a set only costs one refetch.
      if (this.#remoteSets.size >= MAX_REMOTE_SETS) this.#remoteSets.delete(this.#remoteSets.keys().next().value!);
      set = createRemoteJWKSet(new URL(client.jwksUri), {
        timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
      });
      this.#remoteSets.set(client.jwksUri, set);
    }
    return set;
  }

  #hmacKey(client: ApiClient) {
    const key = this.#deps.config.clientSecretKey;
    if (!key || !client.secretEncrypted) {
      this.#deps.logger.error({ event: 'client_assertion.no_secret_key', client_id: client.id }, 'client_secret_jwt client cannot be checked: CLIENT_SECRET_KEY is unset or the client has no sealed secret');
      throw new InvalidClient();
    }
    try {
      return createSecretKey(Buffer.from(openClientSecret(client.secretEncrypted, client.id, key), 'utf8'));
    } catch {
      this.#deps.logger.error({ event: 'client_assertion.secret_unreadable', client_id: client.id }, 'sealed client secret does not open: was CLIENT_SECRET_KEY changed?');
      throw new InvalidClient();
    }
  }
}
