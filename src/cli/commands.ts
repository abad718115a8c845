import { pino } from 'pino';
import { AppServices } from '../app/services.js';
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidInput, NotFoundError } from '../core/errors.js';
import { KEY_ACTIVATION_MARGIN_SECONDS, KEY_SET_MAX_AGE_SECONDS, KeyFileError } from '../keys/keystore.js';
import { createLogger, type Logger } from '../log.js';
import { StoreUnavailableError } from '../store/types.js';
import { AdminApiClient, adminBaseUrl } from './admin-api-client.js';
import { dataCommands } from './data-commands.js';
import { keyCommands } from './key-commands.js';
import { ServiceOperations } from './operations.js';
import { CommandFailed, NO_STORE_MESSAGE, optionError, readProcessStdin, UsageError, type CliIo, type CliRuntime, type Command, type Context } from './shared.js';

export type { CliIo, CliRuntime } from './shared.js';

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
  /** `OPEN_LOGIN_URL`: a running server's admin API to work through; `--url` overrides it. */
  url?: string;
  /** How the admin API is called with `--url`. Default: the global fetch. */
  fetch?: typeof fetch;
}

export const usage = `Usage: open-login [--url URL] <command> [options]

Clients (callers of /introspect, /revoke and /api/v1/auth/token/validate):
  clients create --name NAME [--auth-method client_secret_basic|client_secret_post|private_key_jwt|client_secret_jwt]
                 [--jwks-file PATH | --jwks-uri URL] [--introspection-signed-response-alg ALG]
                 [--no-reason-codes] [--customer-profile] [--site SITE ...]
                               Register a client. Prints its client_secret, shown only once
                               (private_key_jwt clients get none: give their public keys as a
                               JWK Set file or an https URL). client_secret_jwt needs CLIENT_SECRET_KEY.
                               --customer-profile: its answers carry customers' username and
                               profile (personal data).
  clients list                 List clients (never their secrets).

Customers:
  customers upsert ID [--status active|disabled] [--username U] [--email E] [--first-name F] [--last-name L]
                               Create or update a customer. An empty value clears a field.
  customers disable ID         Disable a customer: none of its tokens is active any more.
  customers show ID            Print a customer.

Tokens:
  tokens issue --customer ID [--site S] [--client-id C] [--expires-in SECONDS] [--format jwt|opaque]
               [--audience URI ...]
                               Issue a token (default: jwt, DEFAULT_TOKEN_TTL_SECONDS). --audience,
                               repeatable: its aud (RFC 8707); default the site's SITE_AUDIENCES
                               entry, else TOKEN_AUDIENCE.
  tokens revoke --jti=JTI      Revoke one token by its jti (the = form also takes ids that start with -).
  tokens revoke --token-file PATH
                               Revoke the token read from PATH ("-": stdin), which keeps it
                               out of the process list and shell history.
  tokens revoke-customer ID    Revoke every token of a customer ("log out everywhere").

Signing keys (in KEYS_DIR, of SIGNING_ALG; no database needed):
  keys list                    List keys: kid, alg, status, dates, whether it still verifies.
  keys generate                Create the key file. Refuses when one exists.
  keys rotate [--now]          Add a next key: published in /jwks.json at once, signing (and retiring
                               the current key) after the key-set cache lifetime (${KEY_SET_MAX_AGE_SECONDS} s) plus
                               KEYS_RELOAD_INTERVAL_SECONDS plus ${KEY_ACTIVATION_MARGIN_SECONDS} s; prune expired keys.
                               --now: the new key signs as soon as servers reload, for a compromised
                               key only (verifiers with a cached key set may reject its tokens until
                               they refetch).
  keys prune                   Drop keys retired more than MAX_TOKEN_TTL_SECONDS ago.

  help, --help                 Show this text.

Settings come from the same environment as the server (MONGODB_URI, KEYS_DIR, ...).
Client, customer and token commands work one of two ways, with the same output:
  --url URL (or OPEN_LOGIN_URL)  through a running server's admin API, with ADMIN_TOKEN as the
                               credential: the way to reach the embedded store, which lives in the
                               server's memory.
  MONGODB_URI                  on the database directly.
Key commands work on the key file only, on the server's host; they have no admin API.
Results are JSON on stdout; errors are one line on stderr.
Exit status: 0 done, 1 failed (not found, conflict, store, server or key file problem), 2 invalid usage.`;


const commands: Record<string, Record<string, Command>> = { ...dataCommands, keys: keyCommands };

function stderrLogger(config: Config): Logger {
  return createLogger({ level: config.logLevel, destination: pino.destination({ dest: 2, sync: true }) });
}

function isHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  return head[0] === 'help' || head.includes('--help') || head.includes('-h');
}

/**
 * `--url URL` or `--url=URL`, wherever it stands before `--`; the other
 * arguments in order. The last one given wins, as with other options.
 */
function takeUrl(argv: string[]): { url: string | undefined; args: string[] } {
  const args: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (arg === '--url') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new UsageError('--url needs a value: the server\'s base URL, such as http://localhost:3000');
      url = value;
      i++;
    } else if (arg.startsWith('--url=')) url = arg.slice('--url='.length);
    else args.push(arg);
  }
  return { url, args };
}

/** Runs one command and returns the exit status; nothing here exits the process. */
export async function runCli(argv: string[], io: CliIo, options: CliOptions): Promise<number> {
  if (isHelp(argv)) {
    io.out(usage);
    return 0;
  }
  let args: string[];
  let url: string | undefined;
  try {
    ({ url, args } = takeUrl(argv));
  } catch (error) {
    return report(error, io);
  }
  url = url ?? (options.url || undefined);
  const [group, name, ...rest] = args;
  // Own properties only, so that names such as `constructor` are not commands.
  const actions = group !== undefined && Object.hasOwn(commands, group) ? commands[group] : undefined;
  const command = actions && name !== undefined && Object.hasOwn(actions, name) ? actions[name] : undefined;
  if (!command) {
    io.err(args.length === 0 ? 'no command given' : `unknown command: ${args.slice(0, 2).join(' ')}`);
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
    if (action.needs === 'keys') {
      if (url !== undefined) throw new UsageError(`${group} ${name} has no admin API: key commands work on the key file in KEYS_DIR; run them on the server's host without --url`);
      return await action.run(ctx);
    }
    if (url !== undefined) {
      if (config.adminToken === null) throw new UsageError('--url needs ADMIN_TOKEN: the bearer token of the server\'s admin API');
      return await action.run(ctx, { services: new AdminApiClient(adminBaseUrl(url), config.adminToken, options.fetch) });
    }
    if (config.mongodbUri === null) throw new UsageError(NO_STORE_MESSAGE);
    runtime = await options.open();
    const { store, keys, clock } = runtime;
    return await action.run(ctx, { services: new ServiceOperations(new AppServices({ config, store, keys, clock, logger })) });
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
