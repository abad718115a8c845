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
 * `{ "keys": [ { "kid", "alg", "status", "created_at", "retired_at"?, "activates_at"?, "jwk" } ] }`.
 * Exactly one key is `current` (it signs new tokens). At most one key is
 * `next`: published in `/jwks.json` and verifying at once, signing only from
 * its `activates_at`; from then on it is the current key and the current key
 * is retired at `activates_at`, with no change to the file (see
 * `keyRecordsAt`). `retired` keys keep verifying until every token they could
 * have signed has expired (`retired_at` + the maximum token lifetime), then
 * leave `/jwks.json`. A file without a `next` key reads as it always did.
 */
export interface KeyRecord {
  kid: string;
  alg: SigningAlg;
  status: 'current' | 'next' | 'retired';
  created_at: string;
  retired_at?: string;
  /** For a `next` key: when it starts signing (and the current key retires). */
  activates_at?: string;
  /** The private JWK. */
  jwk: JWK;
}

/**
 * How long a gateway may reuse `/jwks.json` and the RFC 8414 metadata
 * (`Cache-Control: public, max-age`). The one home of that number: it also
 * sets how long a rotated key waits, published, before it signs
 * (`keyActivationDelaySeconds`), so that no cached key set lacks the `kid` of
 * a token or signed answer.
 */
export const KEY_SET_MAX_AGE_SECONDS = 60;

/**
 * Added to the activation delay for what the other two terms do not cover:
 * clocks of hosts sharing the key file that differ by a few seconds, a slow
 * reload, a key set fetched just before it changed and delivered late.
 */
export const KEY_ACTIVATION_MARGIN_SECONDS = 30;

/**
 * The shortest wait between publishing a `next` key and letting it sign:
 * every server sharing the file has reloaded it (within the reload interval)
 * and every key set cached before that has expired (the max-age), plus a margin.
 * A reload interval of 0 (SIGHUP only) adds nothing: the operator signals the
 * servers right after the rotation.
 */
export function keyActivationDelaySeconds(reloadIntervalSeconds: number): number {
  return KEY_SET_MAX_AGE_SECONDS + Math.max(0, reloadIntervalSeconds) + KEY_ACTIVATION_MARGIN_SECONDS;
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
    if (k.status !== 'current' && k.status !== 'next' && k.status !== 'retired') throw new KeyFileError(`${path}: key ${k.kid} has an unknown status`);
    if (k.status === 'next' && (typeof k.activates_at !== 'string' || Number.isNaN(Date.parse(k.activates_at)))) {
      throw new KeyFileError(`${path}: next key ${k.kid} needs activates_at (an ISO 8601 time)`);
    }
  }
  if ((keys as KeyRecord[]).filter((k) => k.status === 'current').length !== 1) {
    throw new KeyFileError(`${path}: exactly one key must be current`);
  }
  if ((keys as KeyRecord[]).filter((k) => k.status === 'next').length > 1) {
    throw new KeyFileError(`${path}: at most one key may be next`);
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

/**
 * The records as they stand at `now`: once a `next` key's `activates_at` has
 * come, it is the current key and the previous current key is retired at
 * that time. Servers apply this by the clock (`KeyStore`), the CLI before it
 * changes or lists the file, so both read the same file the same way.
 */
export function keyRecordsAt(records: KeyRecord[], now: Date): KeyRecord[] {
  const next = records.find((r) => r.status === 'next');
  if (!next || Date.parse(next.activates_at!) > now.getTime()) return records;
  return records.map((r) => {
    if (r === next) return { ...r, status: 'current' as const };
    if (r.status === 'current') return { ...r, status: 'retired' as const, retired_at: next.activates_at! };
    return r;
  });
}

/** The key waiting to sign, if any (after `keyRecordsAt`, only one whose time has not come). */
export function pendingKeyRecord(records: KeyRecord[]): KeyRecord | undefined {
  return records.find((r) => r.status === 'next');
}

/**
 * Rotates at once: a new current key; the previous current key becomes
 * retired now. For a compromised key; an ordinary rotation stages the new key
 * (`stageKeyRecords`) so that verifiers see it before it signs. A staged key
 * that has not signed yet is retired as well: it came from the same file, and
 * a server that has not reloaded may still switch to it.
 */
export async function rotateKeyRecords(records: KeyRecord[], alg: SigningAlg, now: Date): Promise<KeyRecord[]> {
  const fresh = await generateKeyRecord(alg, now);
  const rest = keyRecordsAt(records, now).map((r) => {
    if (r.status === 'retired') return r;
    const { activates_at: _activatesAt, ...kept } = r;
    return { ...kept, status: 'retired' as const, retired_at: now.toISOString() };
  });
  return [fresh, ...rest];
}

/**
 * Stages a rotation: a new `next` key, published at once and signing from
 * `activatesAt`, when the current key retires. Refuses while another key is
 * still waiting: rotating again before it signs would retire a key no token
 * carries and leave verifiers' caches behind once more.
 */
export async function stageKeyRecords(records: KeyRecord[], alg: SigningAlg, now: Date, activatesAt: Date): Promise<KeyRecord[]> {
  const settled = keyRecordsAt(records, now);
  const waiting = pendingKeyRecord(settled);
  if (waiting) throw new KeyFileError(`key ${waiting.kid} is already next, signing from ${waiting.activates_at}`);
  const fresh = await generateKeyRecord(alg, now);
  return [{ ...fresh, status: 'next', activates_at: activatesAt.toISOString() }, ...settled];
}

/** Drops retired keys that can no longer have unexpired tokens. */
export function pruneKeyRecords(records: KeyRecord[], maxTokenTtlSeconds: number, now: Date): KeyRecord[] {
  return records.filter((r) => isStillVerifying(r, maxTokenTtlSeconds, now));
}

function isStillVerifying(r: KeyRecord, maxTokenTtlSeconds: number, now: Date): boolean {
  if (r.status !== 'retired' || !r.retired_at) return true;
  return Date.parse(r.retired_at) + maxTokenTtlSeconds * 1000 > now.getTime();
}

interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
  publicJwk: JWK;
  /** Epoch ms from which the key no longer verifies; Infinity while it is current or next. */
  verifiesUntilMs: number;
}

/** What signs: `kid`, `alg` and private key, read together. */
interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

/** Public members only; never let a private parameter reach /jwks.json. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg, use } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(([, v]) => v !== undefined)) as JWK;
}

/**
 * The server's keys in usable form: the current signing key, the keys that
 * verify (current, next and recently retired), and the legacy HS256 secret.
 * Keys are imported once here, never per request.
 *
 * A `next` key verifies and is published from the start; it signs from its
 * activation time. The switch happens on the first read of `current` at or
 * after that time (a server sharing the file may already sign with it, so it
 * must verify before). Until then that read costs one clock reading; after
 * the switch, and with no key waiting, none.
 */
export class KeyStore implements TokenKeys {
  /**
   * The key new tokens and signed answers are signed with. An own accessor
   * (defined in the constructor), so that a copy of the store (`{ ...keys }`)
   * also holds it.
   */
  declare readonly current: SigningKey;
  #signing: SigningKey;
  #next: SigningKey | null;
  readonly #activatesAtMs: number;
  readonly #byKid: Map<string, VerificationKey>;
  readonly #legacySecret: KeyObject | null;
  readonly #clock: Clock;
  /** Algorithms accepted in a token header: those of our keys, plus HS256 when configured. */
  readonly algorithms: string[];

  private constructor(
    keys: VerificationKey[],
    signing: { current: SigningKey; next: SigningKey | null; activatesAtMs: number },
    legacySecret: KeyObject | null,
    clock: Clock,
  ) {
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
    this.#signing = signing.current;
    this.#next = signing.next;
    this.#activatesAtMs = signing.activatesAtMs;
    this.#legacySecret = legacySecret;
    this.#clock = clock;
    this.algorithms = [...new Set([...keys.map((k) => k.alg), ...(legacySecret ? ['HS256'] : [])])];
    Object.defineProperty(this, 'current', { get: () => this.#signingKey(), enumerable: true, configurable: true });
  }

  #signingKey(): SigningKey {
    if (this.#next !== null && this.#clock.now().getTime() >= this.#activatesAtMs) {
      this.#signing = this.#next;
      this.#next = null;
    }
    return this.#signing;
  }

  /** The key waiting to sign and when it starts, or null (also once it has started). */
  get next(): { kid: string; alg: SigningAlg; activatesAt: Date } | null {
    this.#signingKey();
    return this.#next && { kid: this.#next.kid, alg: this.#next.alg, activatesAt: new Date(this.#activatesAtMs) };
  }

  static async fromRecords(
    records: KeyRecord[],
    options: { legacyHs256Secret: string | null; maxTokenTtlSeconds: number; clock: Clock },
  ): Promise<KeyStore> {
    const currentRecord = records.find((r) => r.status === 'current');
    if (!currentRecord) throw new KeyFileError('no current signing key');
    const nextRecord = records.find((r) => r.status === 'next');
    const activatesAtMs = nextRecord ? Date.parse(nextRecord.activates_at ?? '') : Infinity;
    if (Number.isNaN(activatesAtMs)) throw new KeyFileError(`next key ${nextRecord!.kid}: activates_at is not a time`);
    const ttlMs = options.maxTokenTtlSeconds * 1000;
    const keys: VerificationKey[] = [];
    for (const record of records) {
      const key = await importJWK({ ...record.jwk, ext: false }, record.alg);
      if (!(typeof key === 'object' && 'type' in key && key.type === 'private')) {
        throw new KeyFileError(`key ${record.kid}: jwk must be a private ${record.alg} key`);
      }
      // Verification uses the public half, so an asymmetric key can never act as an HMAC secret.
      const publicKey = await importJWK(publicPart(record.jwk), record.alg);
      // The current key retires when the next one activates, and verifies its tokens for the longest lifetime after.
      const verifiesUntilMs =
        record.status === 'retired' ? (record.retired_at ? Date.parse(record.retired_at) + ttlMs : Infinity)
        : record.status === 'current' ? activatesAtMs + ttlMs
        : Infinity;
      keys.push({ kid: record.kid, alg: record.alg, key: publicKey as CryptoKey, publicJwk: publicPart({ ...record.jwk, kid: record.kid, alg: record.alg, use: 'sig' }), verifiesUntilMs });
    }
    const signingKey = async (record: KeyRecord): Promise<SigningKey> => ({ kid: record.kid, alg: record.alg, key: (await importJWK(record.jwk, record.alg)) as CryptoKey });
    const current = await signingKey(currentRecord);
    const next = nextRecord ? await signingKey(nextRecord) : null;
    const secret = options.legacyHs256Secret ? createSecretKey(Buffer.from(options.legacyHs256Secret, 'utf8')) : null;
    return new KeyStore(keys, { current, next, activatesAtMs }, secret, options.clock);
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
    if (!entry || entry.alg !== header.alg || !this.#verifies(entry)) {
      throw new KeyResolutionError('no key matches the token header');
    }
    return entry.key;
  }

  /** A key with no end (current with none waiting, or next) needs no clock reading. */
  #verifies(entry: VerificationKey): boolean {
    return entry.verifiesUntilMs === Infinity || entry.verifiesUntilMs > this.#clock.now().getTime();
  }

  /** The JWK Set published at /jwks.json: public keys that still verify, a next key included. */
  publicJwks(): { keys: JWK[] } {
    return { keys: [...this.#byKid.values()].filter((k) => this.#verifies(k)).map((k) => k.publicJwk) };
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
 * requests run. A `KeyStore` never changes its keys (its one change is the
 * switch to a `next` key, by the clock, in a single assignment); `swap`
 * replaces the whole object at once, so a request sees either the old keys
 * or the new ones, never a mix.
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
