import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../core/clock.js';
import { addressClass, hostClass, type HostClass } from './public-address.js';

/**
 * Fetching a client's key set from its `jwks_uri` (RFC 7591 §2, OpenID
 * Connect Core §10.1.1) without letting the URL reach this server's own
 * network or tie it up. Anyone can trigger a fetch by presenting an
 * assertion that names a `jwks_uri` client, so:
 *
 * - the address connected to must be public (loopback only under
 *   `JWKS_URI_ALLOW_LOOPBACK`): IP literals are checked before the request,
 *   names in the socket's own `lookup`, so the address checked is the
 *   address connected to (no window for a DNS answer to change between);
 * - no redirect is followed (jose asks for `redirect: manual`; a 3xx fails);
 * - the answer is read up to `JWKS_MAX_BYTES` and `JWKS_FETCH_TIMEOUT_MS`;
 * - a failed fetch is not retried for `JWKS_FAILURE_COOLDOWN_MS`, per URI.
 *
 * jose keeps the fetched keys (`createRemoteJWKSet` with this fetch as its
 * `customFetch`); nothing here touches key material.
 */

export const JWKS_FETCH_TIMEOUT_MS = 5000;
/** A JWK Set of a few public keys is a few KiB; ten 4096-bit RSA keys are under 16 KiB. */
export const JWKS_MAX_BYTES = 64 * 1024;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** jose: least time between two fetches triggered by a `kid` the cached set lacks. */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
/** After a failed fetch, the URI is not fetched again for this long. */
export const JWKS_FAILURE_COOLDOWN_MS = 30_000;
/** Bound on the remote sets and failure records kept; dropping one only costs a refetch. */
const MAX_REMOTE_URIS = 1000;

/** Why a fetch failed: for the operator's log line. */
export type JwksFetchFailure = 'refused_url' | 'refused_address' | 'timeout' | 'too_large' | 'status' | 'not_jwks' | 'network' | 'cooling_down';

export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
  constructor(
    readonly reason: JwksFetchFailure,
    options?: ErrorOptions,
  ) {
    super(`the client's keys could not be fetched: ${reason}`, options);
  }
}

/** Resolves a host name to every address it has (as `dns.lookup` with `all`). */
export type Resolve = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface JwksFetchOptions {
  /** `JWKS_URI_ALLOW_LOOPBACK`: loopback addresses, and plain http to them, are allowed. */
  allowLoopback: boolean;
  resolve?: Resolve;
  /** Ends the whole fetch; default: a `JWKS_FETCH_TIMEOUT_MS` timeout. */
  signal?: AbortSignal;
  maxBytes?: number;
  headers?: Record<string, string>;
}

/**
 * A `lookup` for node:net that resolves with `resolve` and refuses the name
 * unless every address it has is acceptable: one private address among
 * public ones is refused too, rather than left to the order of the answers.
 */
export function guardedLookup(resolve: Resolve, acceptable: (address: HostClass) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (answers) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const usable = answers.filter((a) => !family || a.family === family);
        if (answers.length === 0 || usable.length === 0) {
          return callback(Object.assign(new Error(`no address for the host`), { code: 'ENOTFOUND' }), '', 0);
        }
        if (!answers.every((a) => acceptable(addressClass(a.address)))) return callback(new JwksFetchError('refused_address'), '', 0);
        if (options.all) return callback(null, usable);
        return callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** RFC 7517 §5: an object whose `keys` member is an array of objects (the shape jose accepts). */
function isJwkSet(value: unknown): value is JSONWebKeySet {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}

/**
 * GETs a JWK Set from `uri` under the rules above. Throws `JwksFetchError`
 * for every failure; never follows a redirect.
 */
export async function fetchJwks(uri: string, options: JwksFetchOptions): Promise<JSONWebKeySet> {
  const url = new URL(uri);
  const plainHttp = url.protocol === 'http:';
  if (url.protocol !== 'https:' && !plainHttp) throw new JwksFetchError('refused_url');
  if (plainHttp && !options.allowLoopback) throw new JwksFetchError('refused_url');
  // Plain http goes to this machine only; https to public addresses, or to this machine when allowed.
  const acceptable = (target: HostClass) => (target === 'loopback' ? options.allowLoopback : target === 'public' && !plainHttp);
  // node:net does not call `lookup` for an IP literal, so literals (and names local by definition) are judged here.
  const known = hostClass(url.hostname);
  if (known !== undefined && !acceptable(known)) throw new JwksFetchError('refused_address');

  const signal = options.signal ?? AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS);
  const maxBytes = options.maxBytes ?? JWKS_MAX_BYTES;
  const body = await new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const finish = (error: JwksFetchError | null, value?: Buffer) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else {
        resolve(value!);
      }
    };
    const onAbort = () => finish(new JwksFetchError('timeout', { cause: signal.reason }));
    const req = (plainHttp ? httpRequest : httpsRequest)(
      url,
      { method: 'GET', headers: options.headers, agent: false, lookup: guardedLookup(options.resolve ?? systemResolve, acceptable) },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) return finish(new JwksFetchError('status'));
        if (Number(res.headers['content-length']) > maxBytes) return finish(new JwksFetchError('too_large'));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return finish(new JwksFetchError('too_large'));
          chunks.push(chunk);
        });
        res.on('end', () => finish(null, Buffer.concat(chunks)));
        res.on('error', (cause) => finish(new JwksFetchError('network', { cause })));
      },
    );
    req.on('error', (cause) => finish(cause instanceof JwksFetchError ? cause : new JwksFetchError('network', { cause })));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new JwksFetchError('not_jwks');
  }
  if (!isJwkSet(parsed)) throw new JwksFetchError('not_jwks');
  return parsed;
}

export interface RemoteJwksOptions {
  allowLoopback: boolean;
  /** The failure cooldown runs on this clock. */
  clock: Clock;
  resolve?: Resolve;
}

/** The remote key sets of one app: one jose set per URI, fetched by `fetchJwks`, with a cooldown after failures. */
export class RemoteJwks {
  readonly #options: RemoteJwksOptions;
  readonly #sets = new Map<string, JWTVerifyGetKey>();
  /** URI → when it may be fetched again (ms since the epoch, on the clock). */
  readonly #failedUntil = new Map<string, number>();

  constructor(options: RemoteJwksOptions) {
    this.#options = options;
  }

  /** The key resolver for `jwtVerify` of a client registered with this `jwks_uri`. */
  keySet(uri: string): JWTVerifyGetKey {
    let set = this.#sets.get(uri);
    if (!set) {
      if (this.#sets.size >= MAX_REMOTE_URIS) this.#sets.delete(this.#sets.keys().next().value!);
      set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
        [customFetch]: (href, init) => this.#fetch(href, init),
      });
      this.#sets.set(uri, set);
    }
    return set;
  }

  /** jose's `customFetch`: the answer is handed over only once it is a JWK Set within the limits. */
  async #fetch(href: string, init: { headers: Headers; signal: AbortSignal }): Promise<Response> {
    const now = this.#options.clock.now().getTime();
    const until = this.#failedUntil.get(href);
    if (until !== undefined && now < until) throw new JwksFetchError('cooling_down');
    try {
      const jwks = await fetchJwks(href, {
        allowLoopback: this.#options.allowLoopback,
        resolve: this.#options.resolve,
        signal: init.signal,
        headers: Object.fromEntries(init.headers),
      });
      this.#failedUntil.delete(href);
      return new Response(JSON.stringify(jwks), { status: 200, headers: { 'Content-Type': 'application/json' } });
    } catch (error) {
      this.#failedUntil.delete(href);
      if (this.#failedUntil.size >= MAX_REMOTE_URIS) this.#failedUntil.delete(this.#failedUntil.keys().next().value!);
      this.#failedUntil.set(href, now + JWKS_FAILURE_COOLDOWN_MS);
      throw error instanceof JwksFetchError ? error : new JwksFetchError('network', { cause: error });
    }
  }
}
