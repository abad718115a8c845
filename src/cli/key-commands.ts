import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import {
  generateKeyRecord,
  KEY_FILE,
  pruneKeyRecords,
  readKeyFile,
  rotateKeyRecords,
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
    verifies: pruneKeyRecords([record], config.maxTokenTtlSeconds, now).length === 1,
    verifies_until: retiredAt === null ? null : new Date(retiredAt + config.maxTokenTtlSeconds * 1000).toISOString(),
  };
}

function keysOutput(records: KeyRecord[], ctx: Context, now: Date, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { keys_file: join(ctx.config.keysDir, KEY_FILE), ...extra, keys: records.map((r) => keyView(r, ctx.config, now)) };
}

function existingKeys(config: Config): KeyRecord[] {
  const records = readKeyFile(config.keysDir);
  if (!records) throw new CommandFailed(`no key file at ${join(config.keysDir, KEY_FILE)}; create one with: open-login keys generate`);
  return records;
}

const RESTART_NOTE =
  'note: running servers pick up the new key file within KEYS_RELOAD_INTERVAL_SECONDS (default 10 s) or at once on SIGHUP; no restart needed';

const keysList: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const now = ctx.clock.now();
      ctx.print(keysOutput(existingKeys(ctx.config), ctx, now));
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

const keysRotate: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const records = existingKeys(ctx.config);
      const now = ctx.clock.now();
      const previous = records.find((r) => r.status === 'current')!;
      const rotated = await rotateKeyRecords(records, ctx.config.signingAlg, now);
      const kept = pruneKeyRecords(rotated, ctx.config.maxTokenTtlSeconds, now);
      const pruned = rotated.filter((r) => !kept.includes(r)).map((r) => r.kid);
      writeKeyFile(ctx.config.keysDir, kept);
      ctx.audit('keys.rotated', { kid: kept[0]!.kid, retired_kid: previous.kid, pruned_kids: pruned });
      ctx.print(keysOutput(kept, ctx, now, { current: kept[0]!.kid, retired: previous.kid, pruned }));
      ctx.io.err(RESTART_NOTE);
      return 0;
    },
  };
};

const keysPrune: Command = (args) => {
  parse(args, {});
  return {
    needs: 'keys',
    run: async (ctx) => {
      const records = existingKeys(ctx.config);
      const now = ctx.clock.now();
      const kept = pruneKeyRecords(records, ctx.config.maxTokenTtlSeconds, now);
      const pruned = records.filter((r) => !kept.includes(r)).map((r) => r.kid);
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
