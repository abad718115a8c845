import { hash } from 'node:crypto';
import { ExpiringLru } from '../../lib/lru.js';
import { verifyAccessToken, type JwtCheck, type JwtVerifyOptions } from './jwt.js';

type Verified = Extract<JwtCheck, { ok: true }>;

/**
 * Remembers JWTs whose signature and claims verified, so a token presented
 * again skips the signature check (about 200 µs of CPU for ES256).
 *
 * - Keyed by the SHA-256 of the token: equal keys mean the same signed bytes,
 *   and the cache does not hold the tokens themselves.
 * - An entry never outlives the token's `exp`; on every hit the time rules
 *   are checked again (`exp`, `nbf`/`iat` skew, maximum age) and the key must
 *   still be one that verifies (a retired key stops verifying on time).
 *   Anything that fails is dropped and verified in full, so the reason
 *   reported is exactly the one a full verification gives.
 * - Only successes are kept: a forged token costs a verification every time,
 *   as it did without a cache.
 *
 * Signatures do not change, so nothing here needs invalidating; revocation is
 * decided by the grant (see CachedStore).
 *
 * An ES256 token has a twin string, its signature with s replaced by n - s,
 * that verifies as well (see `verifyAccessToken`). A twin is a second entry
 * with the same claims: no harm, since what an entry holds is only "this
 * string verified with these claims", and the grant (by `jti`) decides
 * revocation for both. It costs at most one more entry per token, and only
 * to whoever holds the token; non-canonical spellings, which would make
 * sixteen, are refused before they reach the cache.
 */
export class VerifiedTokenCache {
  readonly #entries: ExpiringLru<string, Verified>;
  hits = 0;
  misses = 0;

  readonly #onLookup: (hit: boolean) => void;

  constructor(maxEntries: number, options: { onLookup?: (hit: boolean) => void } = {}) {
    this.#entries = new ExpiringLru(maxEntries);
    this.#onLookup = options.onLookup ?? (() => undefined);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A hit is answered at once, without a promise; a miss verifies, and keeps a good token until its `exp`. */
  verify(token: string, o: JwtVerifyOptions): JwtCheck | Promise<JwtCheck> {
    const key = hash('sha256', token, 'base64url');
    const nowMs = o.now.getTime();
    const cached = this.#entries.get(key, nowMs);
    if (cached !== undefined) {
      if (stillValid(cached, o)) {
        this.hits += 1;
        this.#onLookup(true);
        return cached;
      }
      this.#entries.delete(key);
    }
    this.misses += 1;
    this.#onLookup(false);
    return verifyAccessToken(token, o).then((check) => {
      if (check.ok) this.#entries.set(key, check, check.claims.exp * 1000);
      return check;
    });
  }
}

/** The time and key rules of `verifyAccessToken`, for a token verified before. */
function stillValid(v: Verified, o: JwtVerifyOptions): boolean {
  const now = Math.floor(o.now.getTime() / 1000);
  const { exp, iat, nbf } = v.claims;
  if (exp <= now) return false;
  if (iat > now + o.clockSkewSeconds || (nbf !== undefined && nbf > now + o.clockSkewSeconds)) return false;
  // jose's maxTokenAge with clockTolerance, as configured in verifyAccessToken.
  if (now - iat - o.clockSkewSeconds > o.maxTokenTtlSeconds + o.clockSkewSeconds) return false;
  try {
    o.keys.keyFor({ alg: v.alg, ...(v.kid !== undefined ? { kid: v.kid } : {}) });
    return true;
  } catch {
    return false;
  }
}
