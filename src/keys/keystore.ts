import { createSecretKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { SigningAlg } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { TokenKeys } from '../core/ports.js';

/**
 * Signing keys as kept on disk in `keys/signing-keys.json`:
 * `{ "keys": [ { "kid", "alg", "status", "created_at", "retired_at"?, "jwk" } ] }`.
 * Exactly one key is `current` (it signs new tokens). `retired` keys keep
 * verifying until every token they could have signed has expired
 * (`retired_at` + the maximum token lifetime), then leave `/jwks.json`.
 */
export interface KeyRecord {
  kid: string;
  alg: SigningAlg;
  status: 'current' | 'retired';
  created_at: string;
  retired_at?: string;
  /** The private JWK. */
  jwk: JWK;
}

export const KEY_FILE = 'signing-keys.json';

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

export async function generateKeyRecord(alg: SigningAlg, now: Date): Promise<KeyRecord> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  // RFC 7638 thumbprint: a kid that names the key itself.
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, alg, status: 'current', created_at: now.toISOString(), jwk: { ...jwk, kid, alg, use: 'sig' } };
}

export function readKeyFile(dir: string): KeyRecord[] | null {
  const path = join(dir, KEY_FILE);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new KeyFileError(`${path}: is not valid JSON`);
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new KeyFileError(`${path}: must hold {"keys": [...]}`);
  for (const k of keys as KeyRecord[]) {
    if (typeof k?.kid !== 'string' || typeof k.alg !== 'string' || typeof k.jwk !== 'object' || !k.jwk) {
      throw new KeyFileError(`${path}: every key needs kid, alg and jwk`);
    }
    if (k.status !== 'current' && k.status !== 'retired') throw new KeyFileError(`${path}: key ${k.kid} has an unknown status`);
  }
  if ((keys as KeyRecord[]).filter((k) => k.status === 'current').length !== 1) {
    throw new KeyFileError(`${path}: exactly one key must be current`);
  }
  return keys as KeyRecord[];
}

/** Writes atomically (temp file + rename) with owner-only permissions. */
export function writeKeyFile(dir: string, records: KeyRecord[]): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, KEY_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ keys: records }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Adds a new current key; the previous current key becomes retired. */
export async function rotateKeyRecords(records: KeyRecord[], alg: SigningAlg, now: Date): Promise<KeyRecord[]> {
  const fresh = await generateKeyRecord(alg, now);
  const rest = records.map((r) => (r.status === 'current' ? { ...r, status: 'retired' as const, retired_at: now.toISOString() } : r));
  return [fresh, ...rest];
}

/** Drops retired keys that can no longer have unexpired tokens. */
export function pruneKeyRecords(records: KeyRecord[], maxTokenTtlSeconds: number, now: Date): KeyRecord[] {
  return records.filter((r) => isStillVerifying(r, maxTokenTtlSeconds, now));
}

function isStillVerifying(r: KeyRecord, maxTokenTtlSeconds: number, now: Date): boolean {
  if (r.status === 'current' || !r.retired_at) return true;
  return Date.parse(r.retired_at) + maxTokenTtlSeconds * 1000 > now.getTime();
}

interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
  publicJwk: JWK;
  record: KeyRecord;
}

/** Public members only; never let a private parameter reach /jwks.json. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg, use } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(([, v]) => v !== undefined)) as JWK;
}

/**
 * The server's keys in usable form: the current signing key, the keys that
 * verify (current and recently retired), and the legacy HS256 secret. Keys are
 * imported once here, never per request.
 */
export class KeyStore implements TokenKeys {
  readonly current: { kid: string; alg: SigningAlg; key: CryptoKey };
  readonly #byKid: Map<string, VerificationKey>;
  readonly #legacySecret: KeyObject | null;
  readonly #maxTokenTtlSeconds: number;
  readonly #clock: Clock;
  /** Algorithms accepted in a token header: those of our keys, plus HS256 when configured. */
  readonly algorithms: string[];

  private constructor(keys: VerificationKey[], current: VerificationKey, legacySecret: KeyObject | null, maxTokenTtlSeconds: number, clock: Clock) {
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
    this.current = { kid: current.kid, alg: current.alg, key: current.key };
    this.#legacySecret = legacySecret;
    this.#maxTokenTtlSeconds = maxTokenTtlSeconds;
    this.#clock = clock;
    this.algorithms = [...new Set([...keys.map((k) => k.alg), ...(legacySecret ? ['HS256'] : [])])];
  }

  static async fromRecords(
    records: KeyRecord[],
    options: { legacyHs256Secret: string | null; maxTokenTtlSeconds: number; clock: Clock },
  ): Promise<KeyStore> {
    const keys: VerificationKey[] = [];
    for (const record of records) {
      const key = await importJWK({ ...record.jwk, ext: false }, record.alg);
      if (!(typeof key === 'object' && 'type' in key && key.type === 'private')) {
        throw new KeyFileError(`key ${record.kid}: jwk must be a private ${record.alg} key`);
      }
      // Verification uses the public half, so an asymmetric key can never act as an HMAC secret.
      const publicKey = await importJWK(publicPart(record.jwk), record.alg);
      keys.push({ kid: record.kid, alg: record.alg, key: publicKey as CryptoKey, publicJwk: publicPart({ ...record.jwk, kid: record.kid, alg: record.alg, use: 'sig' }), record });
    }
    const currentRecord = records.find((r) => r.status === 'current');
    if (!currentRecord) throw new KeyFileError('no current signing key');
    const signing = (await importJWK(currentRecord.jwk, currentRecord.alg)) as CryptoKey;
    const current = { ...keys.find((k) => k.kid === currentRecord.kid)!, key: signing };
    const secret = options.legacyHs256Secret ? createSecretKey(Buffer.from(options.legacyHs256Secret, 'utf8')) : null;
    return new KeyStore(keys, current, secret, options.maxTokenTtlSeconds, options.clock);
  }

  /**
   * Picks the key for a token header, or throws. The key is chosen by `kid`
   * and must be of the header's `alg`: that is what stops algorithm confusion
   * (RFC 8725 §3.1); `none` never matches anything.
   */
  keyFor(header: JWSHeaderParameters): CryptoKey | KeyObject {
    if (header.alg === 'HS256') {
      if (this.#legacySecret) return this.#legacySecret;
      throw new KeyResolutionError('HS256 is not accepted');
    }
    const entry = typeof header.kid === 'string' ? this.#byKid.get(header.kid) : undefined;
    if (!entry || entry.alg !== header.alg || !isStillVerifying(entry.record, this.#maxTokenTtlSeconds, this.#clock.now())) {
      throw new KeyResolutionError('no key matches the token header');
    }
    return entry.key;
  }

  /** The JWK Set published at /jwks.json: public keys that still verify. */
  publicJwks(): { keys: JWK[] } {
    const now = this.#clock.now();
    return { keys: [...this.#byKid.values()].filter((k) => isStillVerifying(k.record, this.#maxTokenTtlSeconds, now)).map((k) => k.publicJwk) };
  }
}

export class KeyResolutionError extends Error {
  override readonly name = 'KeyResolutionError';
  readonly code = 'ERR_KEY_RESOLUTION';
}

/**
 * Loads `keys/signing-keys.json`, generating a development key when none
 * exists. Returns the records and whether one was generated (the caller logs it).
 */
export async function loadOrCreateKeyRecords(dir: string, alg: SigningAlg, now: Date): Promise<{ records: KeyRecord[]; generated: boolean }> {
  const existing = readKeyFile(dir);
  if (existing) return { records: existing, generated: false };
  const record = await generateKeyRecord(alg, now);
  writeKeyFile(dir, [record]);
  return { records: [record], generated: true };
}

/**
 * Holds the server's current `KeyStore` and lets a reload replace it while
 * requests run. Each `KeyStore` stays immutable; `swap` replaces the whole
 * object at once, so a request sees either the old keys or the new ones,
 * never a mix.
 *
 * `view` is what the app is given as its `keys`: a stand-in that forwards
 * every read to whichever `KeyStore` is current at that moment. It keeps
 * working when the dependencies object is copied (spread, destructured or
 * captured at start-up), which a getter on that object would not.
 */
export class KeyStoreHolder {
  #current: KeyStore;
  readonly view: KeyStore;

  constructor(initial: KeyStore) {
    this.#current = initial;
    this.view = new Proxy(initial, {
      get: (_target, property) => {
        const current = this.#current;
        const value: unknown = Reflect.get(current, property, current);
        // Methods run on the current store itself, where its private fields live.
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
      },
      // So that copying the view (`{ ...keys }`) also copies the current store's fields.
      has: (_target, property) => Reflect.has(this.#current, property),
      ownKeys: () => Reflect.ownKeys(this.#current),
      getOwnPropertyDescriptor: (_target, property) => Reflect.getOwnPropertyDescriptor(this.#current, property),
    });
  }

  get current(): KeyStore {
    return this.#current;
  }

  swap(next: KeyStore): void {
    this.#current = next;
  }
}
