import { open as openFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AppServices } from '../app/services.js';
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { InvalidInput } from '../core/errors.js';
import { ID_RULE, isId } from '../core/ids.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';

/** What the commands share: their context, errors, argument checks and input reading. */

/** What the data commands work on; `open` builds it only when a command needs the store. */
export interface CliRuntime {
  config: Config;
  store: Store;
  keys: KeyStore;
  clock: Clock;
  close(): Promise<void>;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Bad invocation or input: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was understood but could not be carried out: exit 1. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

export const NO_STORE_MESSAGE =
  'MONGODB_URI is not set: the embedded in-memory store lives inside the server process and cannot be reached from the CLI; ' +
  'set MONGODB_URI to the database the server uses (or use the admin HTTP API with the embedded store)';

/** Token input is read up to this size; real tokens are far smaller. */
export const TOKEN_INPUT_LIMIT = 64 * 1024;

export interface Context {
  config: Config;
  io: CliIo;
  logger: Logger;
  clock: Clock;
  readStdin: () => Promise<string>;
  print: (value: unknown) => void;
  audit: (event: string, fields: Record<string, unknown>) => void;
}

export type Action =
  | { needs: 'keys'; run: (ctx: Context) => Promise<number> }
  | { needs: 'store'; run: (ctx: Context, rt: CliRuntime & { services: AppServices }) => Promise<number> };

export type Command = (args: string[], config: Config) => Action;

// ---- argument helpers ----

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

export function parse<O extends OptionSpec>(args: string[], options: O, positionals: string[] = []) {
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals.length > 0 });
  if (parsed.positionals.length !== positionals.length) {
    const expected = positionals.length === 0 ? 'no arguments' : positionals.join(' ');
    throw new UsageError(`expected ${expected} (see open-login help)`);
  }
  return parsed;
}

export function checkId(name: string, value: string): string {
  if (!isId(value)) throw new UsageError(`${name}: ${ID_RULE}`);
  return value;
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${name}: must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${name} is required`);
  return value;
}

/** An empty value clears the field, as `null` does in the admin API. */
export function optionalText(name: string, value: string | undefined, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.length > max) throw new UsageError(`${name}: must be at most ${max} characters`);
  return value === '' ? null : value;
}

/** The services name their inputs as the admin API does; the CLI names its options. */
const OPTION_NAMES: Record<string, string> = {
  jwks: '--jwks-file',
  jwks_uri: '--jwks-uri',
  introspection_signed_response_alg: '--introspection-signed-response-alg',
  token_endpoint_auth_method: '--auth-method',
  customer_id: '--customer',
  site_id: '--site',
  client_id: '--client-id',
  expires_in: '--expires-in',
  audience: '--audience',
};

export function optionError(error: InvalidInput): UsageError {
  const option = error.field === null ? null : (OPTION_NAMES[error.field] ?? error.field);
  return new UsageError(option === null ? error.problem : `${option}: ${error.problem}`);
}


async function readLimited(read: (buffer: Buffer, offset: number, length: number) => Promise<number>): Promise<string> {
  const buffer = Buffer.alloc(TOKEN_INPUT_LIMIT + 1);
  let size = 0;
  // Pipes may deliver the token in pieces, so read until end of input.
  for (;;) {
    const n = await read(buffer, size, buffer.length - size);
    if (n === 0) break;
    size += n;
    if (size > TOKEN_INPUT_LIMIT) throw new UsageError(`--token-file: input is larger than ${TOKEN_INPUT_LIMIT} bytes`);
  }
  return buffer.subarray(0, size).toString('utf8');
}

export async function readTokenFile(path: string, readStdin: () => Promise<string>): Promise<string> {
  let text: string;
  if (path === '-') text = await readStdin();
  else {
    let handle;
    try {
      handle = await openFile(path, 'r');
    } catch (error) {
      throw new UsageError(`--token-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      text = await readLimited(async (buffer, offset, length) => (await handle.read(buffer, offset, length, null)).bytesRead);
    } finally {
      await handle.close();
    }
  }
  const token = text.trim();
  if (token === '') throw new UsageError('--token-file: no token in the input');
  return token;
}

export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > TOKEN_INPUT_LIMIT) throw new UsageError(`--token-file: input is larger than ${TOKEN_INPUT_LIMIT} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

