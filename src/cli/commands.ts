import { existsSync } from 'node:fs';
import { open as openFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../config/index.js';
import { AppServices } from '../app/services.js';
import { clientView, customerView, issuedTokenView } from '../app/views.js';
import { clientAuthMethods } from '../clients/client-auth.js';
import { registrationResponse } from '../clients/client-registration.js';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidInput, NotFoundError } from '../core/errors.js';
import { ID_RULE, isId } from '../core/ids.js';
import {
  generateKeyRecord,
  KEY_FILE,
  KeyFileError,
  pruneKeyRecords,
  readKeyFile,
  rotateKeyRecords,
  writeKeyFile,
  type KeyRecord,
  type KeyStore,
} from '../keys/keystore.js';
import { createLogger, type Logger } from '../log.js';
import { StoreUnavailableError, type ClientAuthMethod, type Store, type TokenFormat } from '../store/types.js';

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

export interface CliOptions {
  /** Enough for key commands, which never touch the store. */
  config: Config;
  open: () => Promise<CliRuntime>;
  /** Receives the audit lines. Default: JSON lines on stderr, so stdout stays pure JSON. */
  logger?: Logger;
  /** Used by key commands. Default: the system clock. */
  clock?: Clock;
  /** Source of `--token-file -`. Default: process stdin. */
  readStdin?: () => Promise<string>;
}

export const usage = `Usage: open-login <command> [options]

Clients (callers of /introspect, /revoke and /api/v1/auth/token/validate):
  clients create --name NAME [--auth-method client_secret_basic|client_secret_post|private_key_jwt|client_secret_jwt]
                 [--jwks-file PATH | --jwks-uri URL] [--introspection-signed-response-alg ALG]
                 [--no-reason-codes] [--site SITE ...]
                               Register a client. Prints its client_secret, shown only once
                               (private_key_jwt clients get none: give their public keys as a
                               JWK Set file or an https URL). client_secret_jwt needs CLIENT_SECRET_KEY.
  clients list                 List clients (never their secrets).

Customers:
  customers upsert ID [--status active|disabled] [--email E] [--first-name F] [--last-name L]
                               Create or update a customer. An empty value clears a field.
  customers disable ID         Disable a customer: none of its tokens is active any more.
  customers show ID            Print a customer.

Tokens:
  tokens issue --customer ID [--site S] [--client-id C] [--expires-in SECONDS] [--format jwt|opaque]
                               Issue a token (default: jwt, DEFAULT_TOKEN_TTL_SECONDS).
  tokens revoke --jti=JTI      Revoke one token by its jti (the = form also takes ids that start with -).
  tokens revoke --token-file PATH
                               Revoke the token read from PATH ("-": stdin), which keeps it
                               out of the process list and shell history.
  tokens revoke-customer ID    Revoke every token of a customer ("log out everywhere").

Signing keys (in KEYS_DIR, of SIGNING_ALG; no database needed):
  keys list                    List keys: kid, alg, status, dates, whether it still verifies.
  keys generate                Create the key file. Refuses when one exists.
  keys rotate                  Add a new current key and retire the old one; prune expired keys.
  keys prune                   Drop keys retired more than MAX_TOKEN_TTL_SECONDS ago.

  help, --help                 Show this text.

Settings come from the same environment as the server (MONGODB_URI, KEYS_DIR, ...).
Client, customer and token commands need MONGODB_URI: the embedded in-memory store lives
inside the server process. Results are JSON on stdout; errors are one line on stderr.
Exit status: 0 done, 1 failed (not found, conflict, store or key file problem), 2 invalid usage.`;

/** Bad invocation or input: exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was understood but could not be carried out: exit 1. */
class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

const NO_STORE_MESSAGE =
  'MONGODB_URI is not set: the embedded in-memory store lives inside the server process and cannot be reached from the CLI; ' +
  'set MONGODB_URI to the database the server uses (or use the admin HTTP API with the embedded store)';

/** Token input is read up to this size; real tokens are far smaller. */
const TOKEN_INPUT_LIMIT = 64 * 1024;

interface Context {
  config: Config;
  io: CliIo;
  logger: Logger;
  clock: Clock;
  readStdin: () => Promise<string>;
  print: (value: unknown) => void;
  audit: (event: string, fields: Record<string, unknown>) => void;
}

type Action =
  | { needs: 'keys'; run: (ctx: Context) => Promise<number> }
  | { needs: 'store'; run: (ctx: Context, rt: CliRuntime & { services: AppServices }) => Promise<number> };

type Command = (args: string[], config: Config) => Action;

// ---- argument helpers ----

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

function parse<O extends OptionSpec>(args: string[], options: O, positionals: string[] = []) {
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals.length > 0 });
  if (parsed.positionals.length !== positionals.length) {
    const expected = positionals.length === 0 ? 'no arguments' : positionals.join(' ');
    throw new UsageError(`expected ${expected} (see open-login help)`);
  }
  return parsed;
}

function checkId(name: string, value: string): string {
  if (!isId(value)) throw new UsageError(`${name}: ${ID_RULE}`);
  return value;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${name}: must be one of ${allowed.join(', ')}`);
  return value as T;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${name} is required`);
  return value;
}

/** An empty value clears the field, as `null` does in the admin API. */
function optionalText(name: string, value: string | undefined, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.length > max) throw new UsageError(`${name}: must be at most ${max} characters`);
  return value === '' ? null : value;
}

// ---- clients ----

const clientsCreate: Command = (args) => {
  const { values } = parse(args, {
    name: { type: 'string' },
    'auth-method': { type: 'string' },
    'jwks-file': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'introspection-signed-response-alg': { type: 'string' },
    'no-reason-codes': { type: 'boolean' },
    site: { type: 'string', multiple: true },
  });
  const name = required('--name', values.name);
  if (name.length < 1 || name.length > 200) throw new UsageError('--name: must be 1-200 characters');
  const authMethod = oneOf<ClientAuthMethod>('--auth-method', values['auth-method'], clientAuthMethods) ?? 'client_secret_basic';
  const sites = values.site?.map((s) => checkId('--site', s)) ?? null;
  if (sites && sites.length > 1000) throw new UsageError('--site: at most 1000 sites');
  const jwksFile = values['jwks-file'];
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const { client, secret } = await rt.services.registerClient(
        {
          name,
          authMethod,
          reasonCodes: values['no-reason-codes'] !== true,
          siteIds: sites,
          jwks: jwksFile !== undefined ? await readJwksFile(jwksFile) : undefined,
          jwksUri: values['jwks-uri'],
          introspectionSignedResponseAlg: values['introspection-signed-response-alg'],
        },
        'cli',
      );
      ctx.print(registrationResponse(client, secret));
      return 0;
    },
  };
};

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
};

function optionError(error: InvalidInput): UsageError {
  const option = error.field === null ? null : (OPTION_NAMES[error.field] ?? error.field);
  return new UsageError(option === null ? error.problem : `${option}: ${error.problem}`);
}

async function readJwksFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('--jwks-file: is not valid JSON');
  }
}

const clientsList: Command = (args) => {
  parse(args, {});
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print({ clients: (await rt.services.listClients()).map(clientView) });
      return 0;
    },
  };
};

// ---- customers ----

const customersUpsert: Command = (args) => {
  const { values, positionals } = parse(
    args,
    { status: { type: 'string' }, email: { type: 'string' }, 'first-name': { type: 'string' }, 'last-name': { type: 'string' } },
    ['ID'],
  );
  const customerId = checkId('ID', positionals[0]!);
  const status = oneOf('--status', values.status, ['active', 'disabled'] as const);
  const email = optionalText('--email', values.email, 320);
  const firstName = optionalText('--first-name', values['first-name'], 200);
  const lastName = optionalText('--last-name', values['last-name'], 200);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const { customer } = await rt.services.upsertCustomer(customerId, { status, email, firstName, lastName }, 'cli');
      ctx.print(customerView(customer));
      return 0;
    },
  };
};

const customersDisable: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print(customerView(await rt.services.disableCustomer(customerId, 'cli')));
      return 0;
    },
  };
};

const customersShow: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print(customerView(await rt.services.getCustomer(customerId)));
      return 0;
    },
  };
};

// ---- tokens ----

const tokensIssue: Command = (args, config) => {
  const { values } = parse(args, {
    customer: { type: 'string' },
    site: { type: 'string' },
    'client-id': { type: 'string' },
    'expires-in': { type: 'string' },
    format: { type: 'string' },
  });
  const customerId = checkId('--customer', required('--customer', values.customer));
  const siteId = values.site !== undefined ? checkId('--site', values.site) : null;
  const clientId = values['client-id'] !== undefined ? checkId('--client-id', values['client-id']) : config.defaultTokenClientId;
  const format = oneOf<TokenFormat>('--format', values.format, ['jwt', 'opaque']) ?? 'jwt';
  let expiresIn = config.defaultTokenTtlSeconds;
  if (values['expires-in'] !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(values['expires-in'])) throw new UsageError('--expires-in: must be a positive whole number of seconds');
    expiresIn = Number(values['expires-in']);
  }
  if (expiresIn > config.maxTokenTtlSeconds) throw new UsageError(`--expires-in: must be at most ${config.maxTokenTtlSeconds} (MAX_TOKEN_TTL_SECONDS)`);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print(issuedTokenView(await rt.services.issueToken({ customerId, siteId, clientId, expiresInSeconds: expiresIn, format }, 'cli')));
      return 0;
    },
  };
};

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

async function readTokenFile(path: string, readStdin: () => Promise<string>): Promise<string> {
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

async function readProcessStdin(): Promise<string> {
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

const tokensRevoke: Command = (args) => {
  const { values } = parse(args, { jti: { type: 'string' }, 'token-file': { type: 'string' } });
  const jti = values.jti;
  const tokenFile = values['token-file'];
  if ((jti === undefined) === (tokenFile === undefined)) throw new UsageError('give exactly one of --jti or --token-file');
  if (jti !== undefined && (jti.length < 1 || jti.length > 256)) throw new UsageError('--jti: must be 1-256 characters');
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const which = jti !== undefined ? { jti } : { token: await readTokenFile(tokenFile!, ctx.readStdin) };
      ctx.print({ revoked: await rt.services.revokeToken(which, 'cli') });
      return 0;
    },
  };
};

const tokensRevokeCustomer: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print({ revoked: await rt.services.revokeCustomerTokens(customerId, 'cli') });
      return 0;
    },
  };
};

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

const commands: Record<string, Record<string, Command>> = {
  clients: { create: clientsCreate, list: clientsList },
  customers: { upsert: customersUpsert, disable: customersDisable, show: customersShow },
  tokens: { issue: tokensIssue, revoke: tokensRevoke, 'revoke-customer': tokensRevokeCustomer },
  keys: { list: keysList, generate: keysGenerate, rotate: keysRotate, prune: keysPrune },
};

function stderrLogger(config: Config): Logger {
  return createLogger({ level: config.logLevel, destination: pino.destination({ dest: 2, sync: true }) });
}

function isHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  return head[0] === 'help' || head.includes('--help') || head.includes('-h');
}

/** Runs one command and returns the exit status; nothing here exits the process. */
export async function runCli(argv: string[], io: CliIo, options: CliOptions): Promise<number> {
  if (isHelp(argv)) {
    io.out(usage);
    return 0;
  }
  const [group, name, ...rest] = argv;
  // Own properties only, so that names such as `constructor` are not commands.
  const actions = group !== undefined && Object.hasOwn(commands, group) ? commands[group] : undefined;
  const command = actions && name !== undefined && Object.hasOwn(actions, name) ? actions[name] : undefined;
  if (!command) {
    io.err(argv.length === 0 ? 'no command given' : `unknown command: ${argv.slice(0, 2).join(' ')}`);
    io.err(usage);
    return 2;
  }

  const { config } = options;
  const logger = options.logger ?? stderrLogger(config);
  const ctx: Context = {
    config,
    io,
    logger,
    clock: options.clock ?? systemClock,
    readStdin: options.readStdin ?? readProcessStdin,
    print: (value) => io.out(JSON.stringify(value, null, 2)),
    audit: (event, fields) => logger.info({ event, ...fields, via: 'cli' }, 'audit'),
  };

  let runtime: CliRuntime | undefined;
  try {
    const action = command(rest, config);
    if (action.needs === 'keys') return await action.run(ctx);
    if (config.mongodbUri === null) throw new UsageError(NO_STORE_MESSAGE);
    runtime = await options.open();
    const { store, keys, clock } = runtime;
    return await action.run(ctx, { ...runtime, services: new AppServices({ config, store, keys, clock, logger }) });
  } catch (error) {
    return report(error, io);
  } finally {
    if (runtime) {
      try {
        await runtime.close();
      } catch {
        // The command's own result already stands; a failed disconnect changes nothing.
      }
    }
  }
}

/** One line per failure; never a stack trace, never an input value that could be a secret. */
function report(error: unknown, io: CliIo): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    io.err(`error: ${(error as Error).message}`);
    return 2;
  }
  if (error instanceof InvalidInput) return report(optionError(error), io);
  if (error instanceof CommandFailed || error instanceof KeyFileError || error instanceof NotFoundError) {
    io.err(`error: ${error.message}`);
    return 1;
  }
  if (error instanceof StoreUnavailableError) {
    io.err(`error: store unavailable: ${error.message}`);
    return 1;
  }
  io.err(`error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  return 1;
}
