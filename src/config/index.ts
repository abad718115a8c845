import { readFileSync } from 'node:fs';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';

/**
 * The one configuration object. Every setting comes from the environment
 * (12-factor); `CONFIG_FILE` may name a JSON file with the same keys, which the
 * environment overrides. `loadConfig` throws `ConfigError` with one line that
 * names the setting when anything is wrong, and start-up stops there.
 */
export interface Config {
  port: number;
  host: string;
  /** The `iss` of issued tokens and the base of every advertised endpoint URL. */
  issuer: string;
  /** The `aud` put in issued tokens and required of verified ones. */
  audience: string;
  /** `null`: the embedded in-memory store (development only). */
  mongodbUri: string | null;
  mongodbDb: string | undefined;
  /** How MongoDB lookups that miss the cache reach the server: batched into `$in`, one by one, or as the server's query plan suggests. */
  mongodbLookups: 'auto' | 'batched' | 'single';
  /** `null`: the admin API is not mounted. */
  adminToken: string | null;
  /** `null`: `/metrics` is open; otherwise it needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  keysDir: string;
  signingAlg: SigningAlg;
  /** Accepted drift for `nbf`/`iat` of tokens minted on another host. Never applied to `exp`. */
  clockSkewSeconds: number;
  /** Shared secret of legacy HS256 tokens; `null`: HS256 is refused. */
  legacyHs256Secret: string | null;
  defaultTokenTtlSeconds: number;
  maxTokenTtlSeconds: number;
  /** `client_id` claim of tokens issued without one. */
  defaultTokenClientId: string;
  /** How long grants are kept after they expire, so "expired" can still be told from "not found". */
  grantRetentionSeconds: number;
  storeTimeoutMs: number;
  bodyLimitBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Which requests get an access log line: every one, those answered 4xx/5xx, or none (audit events are written either way). */
  logRequests: RequestLogPolicy;
  /** Which reverse proxies' `X-Forwarded-For` entries are believed (see `TrustedProxies`). */
  trustProxy: TrustedProxies;
  /**
   * 32-byte key sealing `client_secret_jwt` secrets (AES-256-GCM); `null`:
   * such clients cannot be registered and the method is not advertised.
   */
  clientSecretKey: Buffer | null;
  /**
   * Development only: clients' `jwks_uri` may name this machine (loopback,
   * also over plain http). Otherwise only public https hosts are registered
   * and fetched, so a `jwks_uri` cannot reach the server's own network.
   */
  jwksUriAllowLoopback: boolean;
  /** How often the key file is checked for a rotation (seconds); 0: only on SIGHUP. */
  keysReloadIntervalSeconds: number;
  /** How long cached grants, customers and clients are reused: the staleness bound for writes made elsewhere; 0 disables caching. */
  cacheTtlSeconds: number;
  /** Entries per cache (verified tokens, grants, customers, clients). */
  cacheMaxEntries: number;
  /** Worker processes behind the port; `null`: one per core (with MongoDB), 1: no cluster. */
  workers: number | null;
  /** Failed client or admin authentications per source address per window; 0: no limit. */
  rateLimitAuthFailures: number;
  /** Requests per authenticated client per window; 0: no limit. */
  rateLimitClientRequests: number;
  rateLimitWindowSeconds: number;
}

export const signingAlgs = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

/**
 * `TRUST_PROXY`: the reverse proxies in front of the server. `X-Forwarded-For`
 * is read from the right (the entry the nearest proxy appended) and only
 * through trusted hops: the first address that is not a trusted proxy is the
 * caller. Entries further left were written by the caller and are never used.
 * `hops`: that many proxies, whatever their addresses; `addresses`: proxies
 * at these addresses or ranges (`proxy-addr` names: `loopback`,
 * `linklocal`, `uniquelocal`, IPs, CIDRs). Neither: the socket's peer.
 */
export interface TrustedProxies {
  hops: number;
  addresses: string[];
}

/** `LOG_REQUESTS`: which requests get an access log line. */
export type RequestLogPolicy = 'all' | 'errors' | 'none';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const intIn = (min: number, max: number) =>
  z.coerce.number().int(`must be a whole number`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])], { error: 'must be true or false' })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

/** A 256-bit key given as hex or base64 (standard or URL-safe); null when it is not exactly that. */
function decodeKey32(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) return null;
  const key = Buffer.from(v, 'base64');
  return key.length === 32 ? key : null;
}

/** Keys are the environment variable names; each is documented in the README table. */
const schema = z.object({
  PORT: intIn(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUER: httpUrl.optional(),
  TOKEN_AUDIENCE: z.string().min(1).optional(),
  MONGODB_URI: z
    .string()
    .refine((v) => /^mongodb(\+srv)?:\/\//.test(v), 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a plain database name').optional(),
  MONGODB_LOOKUPS: z.enum(['auto', 'batched', 'single']).default('auto'),
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters (use a random value)').optional(),
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters (use a random value)').optional(),
  KEYS_DIR: z.string().min(1).default('keys'),
  SIGNING_ALG: z.enum(signingAlgs).default('ES256'),
  CLOCK_SKEW_SECONDS: intIn(0, 300).default(30),
  LEGACY_HS256_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  DEFAULT_TOKEN_TTL_SECONDS: intIn(1, 31_536_000).default(3600),
  MAX_TOKEN_TTL_SECONDS: intIn(1, 31_536_000).default(2_592_000),
  DEFAULT_TOKEN_CLIENT_ID: z.string().min(1).default('open-login'),
  GRANT_RETENTION_SECONDS: intIn(0, 31_536_000).default(604_800),
  STORE_TIMEOUT_MS: intIn(50, 60_000).default(2000),
  BODY_LIMIT_BYTES: intIn(256, 1_048_576).default(16_384),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_REQUESTS: z.enum(['all', 'errors', 'none']).default('all'),
  TRUST_PROXY: z
    .union([z.boolean(), z.number(), z.string()])
    .transform((v, ctx): TrustedProxies => {
      const text = String(v).trim().toLowerCase();
      if (['false', 'no', '0'].includes(text)) return { hops: 0, addresses: [] };
      // `true` once meant "the leftmost entry", which the caller writes; now it means one proxy.
      if (['true', 'yes'].includes(text)) return { hops: 1, addresses: [] };
      if (/^\d{1,2}$/.test(text)) return { hops: Number(text), addresses: [] };
      const addresses = text.split(',').map((a) => a.trim()).filter(Boolean);
      try {
        if (addresses.length === 0 || addresses.some((a) => /^-?\d+$/.test(a))) throw new TypeError('not an address');
        proxyaddr.compile(addresses);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be false, a number of proxy hops, or a comma-separated list of proxy addresses, CIDR ranges, loopback, linklocal, uniquelocal' });
      }
      return { hops: 0, addresses };
    })
    // zod 4: a default is the output value, not run through the transform.
    .default({ hops: 0, addresses: [] }),
  CLIENT_SECRET_KEY: z
    .string()
    .transform((v, ctx) => {
      const key = decodeKey32(v);
      if (!key) ctx.addIssue({ code: 'custom', message: 'must be 32 bytes: 64 hex characters or base64 (openssl rand -base64 32)' });
      return key ?? Buffer.alloc(0);
    })
    .optional(),
  JWKS_URI_ALLOW_LOOPBACK: bool.default(false),
  KEYS_RELOAD_INTERVAL_SECONDS: intIn(0, 86_400).default(10),
  CACHE_TTL_SECONDS: intIn(0, 3600).default(5),
  CACHE_MAX_ENTRIES: intIn(1, 10_000_000).default(100_000),
  WORKERS: intIn(1, 256).optional(),
  RATE_LIMIT_AUTH_FAILURES: intIn(0, 1_000_000).default(20),
  RATE_LIMIT_CLIENT_REQUESTS: intIn(0, 100_000_000).default(6000),
  RATE_LIMIT_WINDOW_SECONDS: intIn(1, 86_400).default(60),
});

export type ConfigInput = Partial<Record<keyof z.input<typeof schema> | 'CONFIG_FILE', string | number | boolean>>;

export const configKeys = Object.keys(schema.shape) as (keyof typeof schema.shape)[];

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`CONFIG_FILE ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`CONFIG_FILE ${path}: is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`CONFIG_FILE ${path}: must hold a JSON object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(configKeys as string[]).includes(k));
  if (unknown.length > 0) throw new ConfigError(`CONFIG_FILE ${path}: unknown setting ${unknown[0]}`);
  return parsed as Record<string, unknown>;
}

/**
 * Builds the configuration from `env` (normally `process.env`). Empty strings
 * count as unset, so `FOO=` in a shell does not override a file value.
 */
export function loadConfig(env: ConfigInput | NodeJS.ProcessEnv = process.env): Config {
  const fromFile = typeof env.CONFIG_FILE === 'string' && env.CONFIG_FILE !== '' ? readConfigFile(env.CONFIG_FILE) : {};
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of configKeys) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.') || 'configuration'}: ${issue.message}`);
  }
  const c = result.data;
  if (c.DEFAULT_TOKEN_TTL_SECONDS > c.MAX_TOKEN_TTL_SECONDS) {
    throw new ConfigError('DEFAULT_TOKEN_TTL_SECONDS: must not exceed MAX_TOKEN_TTL_SECONDS');
  }
  const issuer = c.ISSUER ?? `http://localhost:${c.PORT}`;
  return {
    port: c.PORT,
    host: c.HOST,
    issuer,
    audience: c.TOKEN_AUDIENCE ?? issuer,
    mongodbUri: c.MONGODB_URI ?? null,
    mongodbDb: c.MONGODB_DB,
    mongodbLookups: c.MONGODB_LOOKUPS,
    adminToken: c.ADMIN_TOKEN ?? null,
    metricsToken: c.METRICS_TOKEN ?? null,
    keysDir: c.KEYS_DIR,
    signingAlg: c.SIGNING_ALG,
    clockSkewSeconds: c.CLOCK_SKEW_SECONDS,
    legacyHs256Secret: c.LEGACY_HS256_SECRET ?? null,
    defaultTokenTtlSeconds: c.DEFAULT_TOKEN_TTL_SECONDS,
    maxTokenTtlSeconds: c.MAX_TOKEN_TTL_SECONDS,
    defaultTokenClientId: c.DEFAULT_TOKEN_CLIENT_ID,
    grantRetentionSeconds: c.GRANT_RETENTION_SECONDS,
    storeTimeoutMs: c.STORE_TIMEOUT_MS,
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    logLevel: c.LOG_LEVEL,
    logRequests: c.LOG_REQUESTS,
    trustProxy: c.TRUST_PROXY,
    clientSecretKey: c.CLIENT_SECRET_KEY ?? null,
    jwksUriAllowLoopback: c.JWKS_URI_ALLOW_LOOPBACK,
    keysReloadIntervalSeconds: c.KEYS_RELOAD_INTERVAL_SECONDS,
    cacheTtlSeconds: c.CACHE_TTL_SECONDS,
    cacheMaxEntries: c.CACHE_MAX_ENTRIES,
    workers: c.WORKERS ?? null,
    rateLimitAuthFailures: c.RATE_LIMIT_AUTH_FAILURES,
    rateLimitClientRequests: c.RATE_LIMIT_CLIENT_REQUESTS,
    rateLimitWindowSeconds: c.RATE_LIMIT_WINDOW_SECONDS,
  };
}

/** For process entry points: a wrong setting stops start-up with one line on stderr, exit 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
