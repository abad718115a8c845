import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { TokenKeys } from '../ports.js';
import type { Reason } from '../reasons.js';

/** Compact JWS: three base64url segments. Anything else is not a JWT. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function isCompactJwsShape(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/**
 * Whether the signature segment is the one base64url spelling of its bytes.
 * The last character of a segment carries unused low bits (4 of them for a
 * 64-byte ES256 or EdDSA signature) that decoders ignore, so without this
 * check one signature has up to 16 token strings. RFC 4648 §3.5 lets a
 * decoder reject such spellings; every JOSE library writes the canonical one.
 */
function canonicalSignature(token: string): boolean {
  const segment = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** The claims of an Open Login access token (RFC 9068 shape plus `site_id`). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  client_id: string;
  iat: number;
  exp: number;
  nbf?: number;
  jti: string;
  site_id: string | null;
}

export type JwtCheck =
  | { ok: true; claims: AccessTokenClaims; alg: string; kid?: string }
  /** `claims` is present when the signature verified but a claim check failed. */
  | { ok: false; reason: Reason; claims?: Partial<AccessTokenClaims> };

/**
 * jose error codes to reason codes: the one table. Anything not listed is a
 * malformed token (never a server error).
 */
const joseReasons: Record<string, Reason> = {
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
  ERR_JOSE_NOT_SUPPORTED: 'malformed',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'invalid_signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'invalid_signature',
  ERR_KEY_RESOLUTION: 'invalid_signature',
  ERR_JWT_EXPIRED: 'expired',
};

function reasonOf(error: unknown): Reason {
  if (error instanceof errors.JWTClaimValidationFailed) {
    const inFuture = (error.claim === 'nbf' || error.claim === 'iat') && error.reason === 'check_failed';
    return inFuture ? 'not_yet_valid' : 'invalid_claims';
  }
  const code = (error as { code?: unknown })?.code;
  return (typeof code === 'string' && joseReasons[code]) || 'malformed';
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * `aud` as RFC 7519 §4.1.3 writes it: one non-empty string, or a non-empty
 * array of them. Which audience is right is the grant's to say (it records
 * the token's audience), so it is checked with the grant, not here.
 */
const isAudience = (v: unknown): v is string | string[] => isStr(v) || (Array.isArray(v) && v.length > 0 && v.every(isStr));

/** 9999-12-31T23:59:59Z: the last second an RFC 3339 date (four-digit year) can name. */
export const MAX_NUMERIC_DATE = 253_402_300_799;

/**
 * A NumericDate as this server accepts it: whole seconds from the epoch to
 * the end of year 9999. RFC 7519 §2 allows fractions, but this server and
 * its issuers write whole seconds, so anything else was not made here; and
 * within the range every date converts to an RFC 3339 `expires_at` (a
 * `Date` throws past ±8.64e15 ms, as 1e300 would be).
 */
export function isNumericDate(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_NUMERIC_DATE;
}

/** `exp` and `iat` (required, RFC 9068 §2.2) and `nbf` (when present) are NumericDates. */
function datesWellFormed(payload: JWTPayload): boolean {
  return isNumericDate(payload.exp) && isNumericDate(payload.iat) && (payload.nbf === undefined || isNumericDate(payload.nbf));
}

/**
 * Claims we can report once the signature verified, even if later checks
 * fail. Only well-formed NumericDates: these end up in answers.
 */
function knownClaims(payload: JWTPayload | undefined): Partial<AccessTokenClaims> | undefined {
  if (!payload) return undefined;
  const out: Partial<AccessTokenClaims> = {};
  if (isNumericDate(payload.exp)) out.exp = payload.exp;
  if (isNumericDate(payload.nbf)) out.nbf = payload.nbf;
  if (isNumericDate(payload.iat)) out.iat = payload.iat;
  return out;
}

export interface JwtVerifyOptions {
  keys: TokenKeys;
  issuer: string;
  clockSkewSeconds: number;
  maxTokenTtlSeconds: number;
  now: Date;
}

/**
 * Verifies signature and claims of a JWT access token.
 *
 * - Signature: jose, with the algorithm allow-list of our keys; the key is
 *   chosen by `kid` and must match `alg` (KeyStore.keyFor).
 * - `aud` must be present and well-typed; whether it is the right audience
 *   is decided against the grant (src/core/introspect.ts).
 * - `typ` must be `at+jwt` (RFC 9068 §4) except for legacy HS256 tokens,
 *   which predate it.
 * - Clock skew applies to `nbf`/`iat` only. `exp` is strict: this server is
 *   the authority, so a token is expired from the second `exp` names.
 * - The signature must be spelled canonically (see `canonicalSignature`).
 *   ECDSA still gives every token a twin: (r, s) and (r, n - s) both verify
 *   (RFC 7518 §3.4 does not ask for low s, and node signs with either), so
 *   one grant has two token strings. Refusing high s would refuse about half
 *   the tokens our own signer makes; anything keyed by token string (the
 *   verified-JWT cache, a client's cache) must allow for twins, and
 *   revocation goes by the grant, i.e. by `jti` (README "Token format").
 */
export async function verifyAccessToken(token: string, o: JwtVerifyOptions): Promise<JwtCheck> {
  if (!canonicalSignature(token)) return { ok: false, reason: 'malformed' };
  let payload: JWTPayload;
  let alg: string;
  let kid: string | undefined;
  try {
    const result = await jwtVerify(token, (header) => o.keys.keyFor(header), {
      algorithms: o.keys.algorithms,
      issuer: o.issuer,
      currentDate: o.now,
      clockTolerance: o.clockSkewSeconds,
      maxTokenAge: o.maxTokenTtlSeconds + o.clockSkewSeconds,
      requiredClaims: ['sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
    });
    payload = result.payload;
    alg = result.protectedHeader.alg;
    kid = result.protectedHeader.kid;
    const typ = result.protectedHeader.typ?.toLowerCase();
    if (alg !== 'HS256' && typ !== 'at+jwt' && typ !== 'application/at+jwt') {
      return { ok: false, reason: 'invalid_claims', claims: knownClaims(payload) };
    }
  } catch (error) {
    if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) {
      // The signature verified (jose checks claims only after it). A date that is
      // not a NumericDate is invalid_claims whatever jose made of it (a past
      // `exp: 1000.5` is not "expired": it is not a date this server writes).
      const reason = datesWellFormed(error.payload) ? reasonOf(error) : 'invalid_claims';
      const claims = knownClaims(error.payload);
      return { ok: false, reason, ...(claims ? { claims } : {}) };
    }
    return { ok: false, reason: reasonOf(error) };
  }
  const known = knownClaims(payload);
  const { sub, jti, client_id, site_id, aud } = payload as Record<string, unknown>;
  if (
    !isStr(sub) || !isStr(jti) || !isStr(client_id) || !isAudience(aud) || !datesWellFormed(payload) ||
    (site_id !== undefined && site_id !== null && !isStr(site_id))
  ) {
    return { ok: false, reason: 'invalid_claims', claims: known };
  }
  const exp = payload.exp!;
  const iat = payload.iat!;
  if (exp <= Math.floor(o.now.getTime() / 1000)) return { ok: false, reason: 'expired', claims: known };
  return {
    ok: true,
    alg,
    ...(kid !== undefined ? { kid } : {}),
    claims: {
      iss: payload.iss as string,
      sub,
      aud,
      client_id,
      iat,
      exp,
      ...(payload.nbf !== undefined ? { nbf: payload.nbf } : {}),
      jti,
      site_id: (site_id as string | undefined) ?? null,
    },
  };
}
