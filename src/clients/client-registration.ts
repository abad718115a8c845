import { importJWK, type JWK } from 'jose';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { InvalidInput } from '../core/errors.js';
import { sealClientSecret } from '../keys/client-secret-box.js';
import type { ApiClient, ClientAuthMethod, ClientJwks } from '../store/types.js';
import { randomId } from '../core/tokens/opaque.js';
import { ASSERTION_ALGORITHMS, hashClientSecret } from './client-auth.js';
import { hostClass } from './public-address.js';

/**
 * Registering an API client, shared by the admin API and the CLI. Metadata
 * uses the RFC 7591 §2 names: `token_endpoint_auth_method`, `jwks`,
 * `jwks_uri`, and RFC 9701 §6 `introspection_signed_response_alg`.
 */
export interface ClientRegistration {
  name: string;
  authMethod?: ClientAuthMethod;
  reasonCodes?: boolean;
  /** Whether active answers carry the customer's profile (personal data); default false. */
  customerProfile?: boolean;
  siteIds?: string[] | null;
  jwks?: unknown;
  jwksUri?: unknown;
  introspectionSignedResponseAlg?: unknown;
}

export interface ClientRegistrationDeps {
  clock: Clock;
  /** `CLIENT_SECRET_KEY`; without it `client_secret_jwt` clients cannot be registered. */
  clientSecretKey: Buffer | null;
  /** The algorithm of the server's current signing key: the only one signed answers can use. */
  signingAlg: string;
  /** `JWKS_URI_ALLOW_LOOPBACK` (development only); absent: false. */
  jwksUriAllowLoopback?: boolean;
}

/** What registration needs from the server's configuration: one mapping for the admin API and the CLI. */
export function registrationDeps(
  config: Pick<Config, 'clientSecretKey' | 'jwksUriAllowLoopback'>,
  clock: Clock,
  signingAlg: string,
): ClientRegistrationDeps {
  return { clock, clientSecretKey: config.clientSecretKey, signingAlg, jwksUriAllowLoopback: config.jwksUriAllowLoopback };
}

/** Invalid metadata; `field` is the RFC 7591 name. Messages never repeat a submitted value. */
export class ClientRegistrationError extends InvalidInput {
  override readonly name = 'ClientRegistrationError';
  constructor(field: string, problem: string) {
    super(field, problem);
  }
}

const MAX_KEYS = 10;
const MAX_JWKS_BYTES = 16_384;
const MAX_URI_LENGTH = 2048;
/** Members that only a private or symmetric key has; none may be registered. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** The members of a public signing JWK that are kept (RFC 7517 §4, RFC 7518 §6). */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];

/** The algorithm a key of this type is imported for when it names none. */
function defaultAlg(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

/** RFC 7591 §2 `jwks`: public signing keys, each importable for an allowed algorithm. */
export async function validateJwks(value: unknown): Promise<ClientJwks> {
  const fail = (message: string) => new ClientRegistrationError('jwks', message);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('must be a JWK Set object {"keys": [...]}');
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS) throw fail(`must hold 1-${MAX_KEYS} keys`);
  if (JSON.stringify(value).length > MAX_JWKS_BYTES) throw fail(`must be at most ${MAX_JWKS_BYTES} bytes`);
  const checked: Record<string, unknown>[] = [];
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw fail(`keys[${i}] must be a JWK object`);
    const jwk = key as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw fail(`keys[${i}] must be a public key (it has private or symmetric key members)`);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw fail(`keys[${i}].use must be "sig"`);
    const alg = jwk.alg ?? defaultAlg(jwk);
    if (typeof alg !== 'string' || !(ASSERTION_ALGORITHMS.private_key_jwt as readonly string[]).includes(alg)) {
      throw fail(`keys[${i}] must be an ${ASSERTION_ALGORITHMS.private_key_jwt.join(', ')} key`);
    }
    try {
      await importJWK(jwk as JWK, alg);
    } catch {
      throw fail(`keys[${i}] is not a valid ${alg} public key`);
    }
    // Only the public members a verifier uses are kept: nothing else is stored (nor reaches a database field name).
    checked.push(Object.fromEntries(PUBLIC_MEMBERS.filter((m) => typeof jwk[m] === 'string').map((m) => [m, jwk[m]])));
  }
  return { keys: checked };
}

/**
 * RFC 7591 §2 `jwks_uri`: an https URL of a public host. Anyone can make the
 * server fetch it (by presenting an assertion naming the client), so it must
 * not name the server's own network: IP literals must be public addresses,
 * and names local by definition are refused (see public-address.ts). Names
 * are checked again, on the address connected to, at every fetch
 * (remote-jwks.ts). Loopback, over https or plain http, only with
 * `jwksUriAllowLoopback` (development). Messages never repeat the value.
 */
export function validateJwksUri(value: unknown, options: { allowLoopback?: boolean } = {}): string {
  const fail = (message: string) => new ClientRegistrationError('jwks_uri', message);
  if (typeof value !== 'string' || value.length > MAX_URI_LENGTH || !URL.canParse(value)) throw fail('must be an absolute URL');
  const url = new URL(value);
  const allowLoopback = options.allowLoopback === true;
  const target = hostClass(url.hostname);
  const loopback = target === 'loopback' && allowLoopback;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw fail('must be an https URL');
  if (target === 'refused' || (target === 'loopback' && !allowLoopback)) {
    throw fail('must name a public host, not a loopback, private, link-local or other special-purpose address or local name');
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') throw fail('must not carry credentials or a fragment');
  return url.href;
}

/**
 * Builds a new client from registration metadata. Returns the secret to show
 * once (none for `private_key_jwt`). Throws `ClientRegistrationError`.
 */
export async function buildClient(input: ClientRegistration, deps: ClientRegistrationDeps): Promise<{ client: ApiClient; secret: string | null }> {
  const authMethod = input.authMethod ?? 'client_secret_basic';
  const hasKeys = input.jwks !== undefined && input.jwks !== null;
  const hasUri = input.jwksUri !== undefined && input.jwksUri !== null;
  let jwks: ClientJwks | null = null;
  let jwksUri: string | null = null;
  if (authMethod === 'private_key_jwt') {
    // RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
    if (hasKeys === hasUri) throw new ClientRegistrationError('jwks', 'private_key_jwt needs exactly one of jwks or jwks_uri');
    if (hasKeys) jwks = await validateJwks(input.jwks);
    else jwksUri = validateJwksUri(input.jwksUri, { allowLoopback: deps.jwksUriAllowLoopback });
  } else if (hasKeys || hasUri) {
    throw new ClientRegistrationError(hasKeys ? 'jwks' : 'jwks_uri', 'only private_key_jwt clients register keys');
  }
  if (authMethod === 'client_secret_jwt' && !deps.clientSecretKey) {
    throw new ClientRegistrationError(
      'token_endpoint_auth_method',
      'client_secret_jwt is not available: the server has no CLIENT_SECRET_KEY to keep such secrets encrypted',
    );
  }

  let signedAlg: string | null = null;
  if (input.introspectionSignedResponseAlg !== undefined && input.introspectionSignedResponseAlg !== null) {
    // Answers are signed with the server's own key, so its algorithm is the only one on offer.
    if (input.introspectionSignedResponseAlg !== deps.signingAlg) {
      throw new ClientRegistrationError('introspection_signed_response_alg', `must be ${deps.signingAlg} (the algorithm of the server's signing key)`);
    }
    signedAlg = deps.signingAlg;
  }

  const id = randomId(16);
  const secret = authMethod === 'private_key_jwt' ? null : randomId(32);
  const client: ApiClient = {
    id,
    name: input.name,
    // An assertion client's secret is never compared against a hash, so none is kept.
    secretHash: secret !== null && authMethod !== 'client_secret_jwt' ? hashClientSecret(secret) : null,
    authMethod,
    reasonCodes: input.reasonCodes ?? true,
    ...(input.customerProfile === true ? { customerProfile: true } : {}),
    siteIds: input.siteIds ?? null,
    createdAt: deps.clock.now(),
    ...(authMethod === 'client_secret_jwt' ? { secretEncrypted: sealClientSecret(secret!, id, deps.clientSecretKey!) } : {}),
    ...(jwks ? { jwks } : {}),
    ...(jwksUri ? { jwksUri } : {}),
    ...(signedAlg ? { introspectionSignedResponseAlg: signedAlg } : {}),
  };
  return { client, secret };
}

/** The registered client as the admin API and CLI show it: never a secret, hash or sealed secret. */
export function clientMetadata(client: ApiClient): Record<string, unknown> {
  return {
    client_id: client.id,
    client_name: client.name,
    token_endpoint_auth_method: client.authMethod,
    reason_codes: client.reasonCodes,
    // Shown when granted, as the other optional members are.
    ...(client.customerProfile === true ? { customer_profile: true } : {}),
    site_ids: client.siteIds,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    ...(client.introspectionSignedResponseAlg ? { introspection_signed_response_alg: client.introspectionSignedResponseAlg } : {}),
  };
}

/** RFC 7591 §3.2.1: the secret is shown once; `0` means it does not expire. */
export function registrationResponse(client: ApiClient, secret: string | null): Record<string, unknown> {
  return { ...clientMetadata(client), ...(secret !== null ? { client_secret: secret, client_secret_expires_at: 0 } : {}) };
}
