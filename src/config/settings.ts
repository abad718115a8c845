import type { z } from 'zod';
import { bool, httpUrl, intIn, key32, oneOf, orNull, secret, siteAudiences, str, text, trustProxy } from './values.js';

/**
 * Every setting, declared once: the field of `Config` it fills, the
 * environment variable (and `CONFIG_FILE` key) it is read from, how that value
 * is parsed (with its default), and one line saying what it is. `Config`,
 * `ConfigInput`, `configKeys` and `describeSettings` are derived from this
 * list; the README configuration table is checked against it by a test.
 */

export const signingAlgs = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `LOG_REQUESTS`: which requests get an access log line. */
export const requestLogPolicies = ['all', 'errors', 'none'] as const;
export type RequestLogPolicy = (typeof requestLogPolicies)[number];

interface Setting<Env extends string, Schema extends z.ZodType> {
  env: Env;
  schema: Schema;
  description: string;
}

const setting = <const Env extends string, Schema extends z.ZodType>(env: Env, schema: Schema, description: string): Setting<Env, Schema> => ({
  env,
  schema,
  description,
});

export const settings = {
  port: setting('PORT', intIn(0, 65535).default(3000), 'TCP port to listen on (0: any free port).'),
  host: setting('HOST', text().default('0.0.0.0'), 'Address to listen on.'),
  issuer: setting('ISSUER', httpUrl().optional(), 'The `iss` of issued tokens and the base of every advertised endpoint URL; unset: http://localhost:$PORT.'),
  audience: setting(
    'TOKEN_AUDIENCE',
    text().optional(),
    'The `aud` of issued tokens that ask for none and whose site has none in `SITE_AUDIENCES`, and the `aud` required of tokens whose grant records none; unset: the issuer.',
  ),
  siteAudiences: setting(
    'SITE_AUDIENCES',
    orNull(siteAudiences),
    'JSON object of site id to the default audience of its tokens (RFC 8707: an absolute URI or a list of up to 5); null: every site uses `TOKEN_AUDIENCE`.',
  ),
  mongodbUri: setting(
    'MONGODB_URI',
    orNull(str().refine((v) => /^mongodb(\+srv)?:\/\//.test(v), 'must start with mongodb:// or mongodb+srv://')),
    'MongoDB connection string; null: the embedded in-memory store (development only).',
  ),
  mongodbDb: setting('MONGODB_DB', str().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a plain database name').optional(), 'Database name; unset: the one in the URI, else open_login.'),
  mongodbLookups: setting(
    'MONGODB_LOOKUPS',
    oneOf(['auto', 'batched', 'single']).default('auto'),
    "How lookups that miss the cache reach MongoDB: batched into `$in`, one by one, or as the server's query plan suggests.",
  ),
  adminToken: setting('ADMIN_TOKEN', orNull(secret(' (use a random value)')), 'Bearer token of the admin API; null: the admin API is not mounted.'),
  metricsToken: setting('METRICS_TOKEN', orNull(secret(' (use a random value)')), 'Bearer token `/metrics` requires; null: `/metrics` is open.'),
  keysDir: setting('KEYS_DIR', text().default('keys'), 'Directory of the signing key file.'),
  signingAlg: setting('SIGNING_ALG', oneOf(signingAlgs).default('ES256'), 'Algorithm of generated signing keys.'),
  clockSkewSeconds: setting('CLOCK_SKEW_SECONDS', intIn(0, 300).default(30), 'Accepted drift for `nbf`/`iat` of tokens minted on another host; never applied to `exp`.'),
  legacyHs256Secret: setting('LEGACY_HS256_SECRET', orNull(secret()), 'Shared secret of legacy HS256 tokens; null: HS256 is refused.'),
  defaultTokenTtlSeconds: setting('DEFAULT_TOKEN_TTL_SECONDS', intIn(1, 31_536_000).default(3600), 'Lifetime of issued tokens that ask for none.'),
  maxTokenTtlSeconds: setting('MAX_TOKEN_TTL_SECONDS', intIn(1, 31_536_000).default(2_592_000), 'Longest token lifetime; also how long a retired key keeps verifying.'),
  defaultTokenClientId: setting('DEFAULT_TOKEN_CLIENT_ID', text().default('open-login'), '`client_id` claim of tokens issued without one.'),
  grantRetentionSeconds: setting(
    'GRANT_RETENTION_SECONDS',
    intIn(0, 31_536_000).default(604_800),
    'How long grants are kept after they expire, so "expired" can still be told from "not found".',
  ),
  storeTimeoutMs: setting('STORE_TIMEOUT_MS', intIn(50, 60_000).default(2000), 'How long a store call may take before the request fails with 503.'),
  bodyLimitBytes: setting('BODY_LIMIT_BYTES', intIn(256, 1_048_576).default(16_384), 'Request body limit (413 above).'),
  logLevel: setting('LOG_LEVEL', oneOf(logLevels).default('info'), 'Lowest level written to the log.'),
  logRequests: setting(
    'LOG_REQUESTS',
    oneOf(requestLogPolicies).default('all'),
    'Which requests get an access log line: every one, those answered 4xx/5xx, or none (audit events are written either way).',
  ),
  trustProxy: setting(
    'TRUST_PROXY',
    // zod 4: a default is the output value, not run through the transform.
    trustProxy.default({ hops: 0, addresses: [] }),
    "Which reverse proxies' `X-Forwarded-For` entries are believed (see `TrustedProxies`).",
  ),
  clientSecretKey: setting(
    'CLIENT_SECRET_KEY',
    orNull(key32),
    '32-byte key sealing `client_secret_jwt` secrets (AES-256-GCM); null: such clients cannot be registered and the method is not advertised.',
  ),
  jwksUriAllowLoopback: setting(
    'JWKS_URI_ALLOW_LOOPBACK',
    bool.default(false),
    "Development only: clients' `jwks_uri` may name this machine (loopback, also plain http); otherwise only public https hosts.",
  ),
  keysReloadIntervalSeconds: setting('KEYS_RELOAD_INTERVAL_SECONDS', intIn(0, 86_400).default(10), 'How often the key file is checked for a rotation; 0: only on SIGHUP.'),
  cacheTtlSeconds: setting(
    'CACHE_TTL_SECONDS',
    intIn(0, 3600).default(5),
    'How long cached grants, customers and clients are reused: the staleness bound for writes made elsewhere; 0 disables caching.',
  ),
  cacheMaxEntries: setting('CACHE_MAX_ENTRIES', intIn(1, 10_000_000).default(100_000), 'Entries per cache (verified tokens, grants, customers, clients).'),
  workers: setting('WORKERS', orNull(intIn(1, 256)), 'Worker processes behind the port; null: one per core (with MongoDB), 1: no cluster.'),
  rateLimitAuthFailures: setting('RATE_LIMIT_AUTH_FAILURES', intIn(0, 1_000_000).default(20), 'Failed client or admin authentications per source address per window; 0: no limit.'),
  rateLimitClientRequests: setting('RATE_LIMIT_CLIENT_REQUESTS', intIn(0, 100_000_000).default(6000), 'Requests per authenticated client per window; 0: no limit.'),
  rateLimitWindowSeconds: setting('RATE_LIMIT_WINDOW_SECONDS', intIn(1, 86_400).default(60), 'The window of both rate limits.'),
};

type Settings = typeof settings;
export type SettingName = keyof Settings;

/** Each setting's parsed value, by field name. */
export type ParsedSettings = { [K in SettingName]: z.output<Settings[K]['schema']> };

/** Settings that `loadConfig` fills from other settings when they are unset. */
type FilledFromOthers = 'issuer' | 'audience';

/** The one configuration object: each field is the parsed value of its setting. */
export type Config = { [K in SettingName]: K extends FilledFromOthers ? NonNullable<ParsedSettings[K]> : ParsedSettings[K] };

/** The environment variable names, in declaration order. */
export type ConfigKey = Settings[SettingName]['env'];
export const configKeys: ConfigKey[] = Object.values(settings).map((s) => s.env);

/** What `loadConfig` reads: environment variables (or overrides in tests) by name, and `CONFIG_FILE`. */
export type ConfigInput = Partial<Record<ConfigKey | 'CONFIG_FILE', string | number | boolean>>;

export interface SettingDescription {
  field: SettingName;
  env: ConfigKey;
  /** The value when unset (`undefined` or `null`: none, or filled from other settings). */
  default: unknown;
  description: string;
}

/** Every setting, for listings (and the README check). */
export function describeSettings(): SettingDescription[] {
  return (Object.keys(settings) as SettingName[]).map((field) => {
    const { env, schema, description } = settings[field];
    const unset = schema.safeParse(undefined);
    return { field, env, default: unset.success ? unset.data : undefined, description };
  });
}
