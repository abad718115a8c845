import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../log.js';
import { KEY_FILE, KeyStore, readKeyFile, type KeyStoreHolder } from './keystore.js';

export interface KeyFileReloaderOptions {
  /** `KEYS_DIR`: where `signing-keys.json` lives. */
  dir: string;
  holder: KeyStoreHolder;
  keyOptions: { legacyHs256Secret: string | null; maxTokenTtlSeconds: number; clock: Clock };
  logger: Logger;
  /** How often the file's modification is checked; 0 or less: never (reload on demand only). */
  intervalMs: number;
}

export type ReloadTrigger = 'SIGHUP' | 'file-changed' | 'manual';

/** setTimeout's longest delay (about 24.8 days); a later activation is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What identifies one version of the file: a rename (as `writeKeyFile` does) changes the inode. */
async function fileSignature(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * Picks up a rotated key file without a restart: on demand (the server calls
 * `reload` on SIGHUP) and when a periodic check sees the file changed. A file
 * that cannot be read or imported is logged and ignored: the keys in use stay
 * in use, so a half-written or broken rotation never takes the server down.
 */
export class KeyFileReloader {
  readonly #options: KeyFileReloaderOptions;
  readonly #path: string;
  #signature: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #activation: NodeJS.Timeout | null = null;
  /** Reloads run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: KeyFileReloaderOptions) {
    this.#options = options;
    this.#path = join(options.dir, KEY_FILE);
  }

  /** Notes the file as loaded now and starts the periodic check. */
  async start(): Promise<void> {
    this.#signature = await fileSignature(this.#path);
    this.#watchActivation();
    if (this.#options.intervalMs > 0 && !this.#timer) {
      this.#timer = setInterval(() => void this.checkForChange(), this.#options.intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#activation) clearTimeout(this.#activation);
    this.#activation = null;
  }

  /**
   * Logs `keys.activated` when a next key starts signing. The switch itself
   * needs no timer (the key store makes it by the clock, at the first signing
   * from that time); this one only reports it, once per key set.
   */
  #watchActivation(): void {
    if (this.#activation) clearTimeout(this.#activation);
    this.#activation = null;
    const store = this.#options.holder.current;
    const previous = store.current.kid;
    const next = store.next;
    if (!next) return;
    const wait = Math.min(Math.max(0, next.activatesAt.getTime() - this.#options.keyOptions.clock.now().getTime()), MAX_TIMER_MS);
    this.#activation = setTimeout(() => {
      this.#activation = null;
      // A reload replaced these keys meanwhile, and watches its own.
      if (this.#options.holder.current !== store) return;
      if (store.next) {
        this.#watchActivation();
        return;
      }
      this.#options.logger.info({ event: 'keys.activated', kid: store.current.kid, previous_kid: previous }, 'next signing key activated; the previous key is retired');
    }, wait);
    this.#activation.unref();
  }

  /** Reloads when the file differs from the one last loaded. Resolves to whether keys were swapped. */
  checkForChange(): Promise<boolean> {
    return this.#serial(async () => {
      const signature = await fileSignature(this.#path);
      if (signature === null || signature === this.#signature) return false;
      return this.#load('file-changed', signature);
    });
  }

  /** Reloads now. Resolves to whether keys were swapped (false: the old keys stay, and the error is logged). */
  reload(trigger: ReloadTrigger = 'manual'): Promise<boolean> {
    return this.#serial(async () => this.#load(trigger, await fileSignature(this.#path)));
  }

  #serial(task: () => Promise<boolean>): Promise<boolean> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #load(trigger: ReloadTrigger, signature: string | null): Promise<boolean> {
    const { holder, logger, keyOptions, dir } = this.#options;
    const previous = holder.current.current.kid;
    try {
      const records = readKeyFile(dir);
      if (!records) throw new Error(`${this.#path} does not exist`);
      const next = await KeyStore.fromRecords(records, keyOptions);
      holder.swap(next);
      this.#signature = signature;
      const waiting = next.next;
      logger.info(
        {
          event: 'keys.reloaded',
          trigger,
          kid: next.current.kid,
          previous_kid: previous,
          kids: records.map((r) => r.kid),
          ...(waiting ? { next_kid: waiting.kid, activates_at: waiting.activatesAt.toISOString() } : {}),
        },
        'signing keys reloaded',
      );
      this.#watchActivation();
      return true;
    } catch (error) {
      // Remember this version too, so a broken file is reported once, not at every check.
      this.#signature = signature;
      // Key file errors name the path and the problem, never key material.
      logger.error(
        { event: 'keys.reload_failed', trigger, kid: previous, err_name: (error as Error)?.name, err: (error as Error)?.message },
        'reloading signing keys failed; keeping the keys in use',
      );
      return false;
    }
  }
}
