import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import {
  generateKeyRecord,
  KEY_FILE,
  keyActivationDelaySeconds,
  keyRecordsAt,
  pendingKeyRecord,
  pruneKeyRecords,
  readKeyFile,
  rotateKeyRecords,
  stageKeyRecords,
  writeKeyFile,
  type KeyRecord,
} from '../keys/keystore.js';
import { CommandFailed, parse, type Command, type Context } from './shared.js';

/** The signing-key commands: they work on the key file in KEYS_DIR and never open the store. */

// ---- keys ----

/** Public facts only: the JWK (with its private members) never leaves the file. */
function keyView(record: KeyRecord, config: Config, now: Date): Record<string, unknown> {
  const retiredAt = record.status === 'retired' && record.retired_at ? Date.parse(record.retired_at) : null;
  return {
    kid: record.kid,
    alg: record.alg,
    status: record.status,
    created_at: record.created_at,
    retired_at: record.retired_at ?? null,
    activates_at: record.activates_at ?? null,
    verifies: pruneKeyRecords([record], config.maxTokenTtlSeconds, now).length === 1,
    verifies_until: retiredAt === null ? null : new Date(retiredAt + config.maxTokenTtlSeconds * 1000).toISOString(),
  };
}

function keysOutput(records: KeyRecord[], ctx: Context, now: Date, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { keys_file: join(ctx.config.keysDir, KEY_FILE), ...extra, keys: records.map((r) => keyView(r, ctx.config, now)) };
}

/** The key file's records as they stand at `now`: a next key whose time has come is current (as the servers see it). */
function existingKeys(config: Config, now: Date): KeyRecord[] {
  const records = readKeyFile(config.keysDir);
  if (!records) throw new CommandFailed(`no key file at ${join(config.keysDir, KEY_FILE)}; create one with: open-login keys generate`);
  return keyRecordsAt(records, now);
}

const RESTART_NOTE =
  'note: running servers pick up the new key file within KEYS_RELOAD_INTERVAL_SECONDS (default 10 s) or at once on SIGHUP; no restart needed';

const keysList: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const now = ctx.clock.now();
      ctx.print(keysOutput(existingKeys(ctx.config, now), ctx, now));
      return 0;
    },
  };
};

const keysGenerate: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const path = join(ctx.config.keysDir, KEY_FILE);
      if (existsSync(path)) throw new CommandFailed(`${path} already exists; use keys rotate to replace the current key`);
      const now = ctx.clock.now();
      const record = await generateKeyRecord(ctx.config.signingAlg, now);
      writeKeyFile(ctx.config.keysDir, [record]);
      ctx.audit('keys.generated', { kid: record.kid, alg: record.alg });
      ctx.print(keysOutput([record], ctx, now));
      ctx.io.err(RESTART_NOTE);
      return 0;
    },
  };
};

/**
 * `keys rotate` stages the new key: it is published at once (every server
 * lists it in /jwks.json after its next reload) and signs only once every
 * server has reloaded and every cached key set has expired, so no verifier
 * meets a `kid` its cached set lacks. `--now` is for a compromised key: the
 * new key signs as soon as each server reloads, as rotation always did.
 */
const keysRotate: Command = (args) => {
  const { values } = parse(args, { now: { type: 'boolean' } });
  return {
    needs: 'keys',
    run: async (ctx) => {
      const now = ctx.clock.now();
      const records = existingKeys(ctx.config, now);
      const previous = records.find((r) => r.status === 'current')!;
      if (values.now === true) {
        const rotated = await rotateKeyRecords(records, ctx.config.signingAlg, now);
        const { kept, pruned } = pruneNow(rotated, ctx, now);
        writeKeyFile(ctx.config.keysDir, kept);
        const retired = records.filter((r) => r.status !== 'retired').map((r) => r.kid);
        ctx.audit('keys.rotated', { kid: kept[0]!.kid, retired_kid: previous.kid, ...(retired.length > 1 ? { retired_kids: retired } : {}), pruned_kids: pruned });
        ctx.print(keysOutput(kept, ctx, now, { current: kept[0]!.kid, retired: previous.kid, pruned }));
        ctx.io.err(RESTART_NOTE);
        return 0;
      }
      const waiting = pendingKeyRecord(records);
      if (waiting) {
        throw new CommandFailed(`key ${waiting.kid} is already next and signs from ${waiting.activates_at}; wait for it, or replace the current key at once with: open-login keys rotate --now`);
      }
      const activatesAt = new Date(now.getTime() + keyActivationDelaySeconds(ctx.config.keysReloadIntervalSeconds) * 1000);
      const staged = await stageKeyRecords(records, ctx.config.signingAlg, now, activatesAt);
      const { kept, pruned } = pruneNow(staged, ctx, now);
      writeKeyFile(ctx.config.keysDir, kept);
      const next = kept[0]!;
      ctx.audit('keys.rotation_staged', { kid: previous.kid, next_kid: next.kid, activates_at: next.activates_at, pruned_kids: pruned });
      ctx.print(keysOutput(kept, ctx, now, { current: previous.kid, next: next.kid, activates_at: next.activates_at, pruned }));
      ctx.io.err(stagedNote(ctx.config, next.activates_at!));
      return 0;
    },
  };
};

function pruneNow(records: KeyRecord[], ctx: Context, now: Date): { kept: KeyRecord[]; pruned: string[] } {
  const kept = pruneKeyRecords(records, ctx.config.maxTokenTtlSeconds, now);
  return { kept, pruned: records.filter((r) => !kept.includes(r)).map((r) => r.kid) };
}

function stagedNote(config: Config, activatesAt: string): string {
  const publish =
    config.keysReloadIntervalSeconds > 0
      ? `running servers publish the next key within KEYS_RELOAD_INTERVAL_SECONDS (${config.keysReloadIntervalSeconds} s), or at once on SIGHUP`
      : 'KEYS_RELOAD_INTERVAL_SECONDS is 0: send SIGHUP to every server now, so that they publish the next key';
  return `note: ${publish}; it signs from ${activatesAt}, with no further step (for a compromised key: keys rotate --now)`;
}

const keysPrune: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const now = ctx.clock.now();
      const records = existingKeys(ctx.config, now);
      const { kept, pruned } = pruneNow(records, ctx, now);
      if (pruned.length > 0) {
        writeKeyFile(ctx.config.keysDir, kept);
        ctx.audit('keys.pruned', { pruned_kids: pruned });
      }
      ctx.print(keysOutput(kept, ctx, now, { pruned }));
      return 0;
    },
  };
};

export const keyCommands: Record<string, Command> = { list: keysList, generate: keysGenerate, rotate: keysRotate, prune: keysPrune };
