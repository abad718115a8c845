import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';

test('defaults: embedded store, issuer from the port, ES256, 30 s skew', (t) => {
  const c = loadConfig({});
  t.is(c.mongodbUri, null);
  t.is(c.issuer, 'http://localhost:3000');
  t.is(c.audience, c.issuer);
  t.is(c.signingAlg, 'ES256');
  t.is(c.clockSkewSeconds, 30);
  t.is(c.adminToken, null);
  t.is(c.mongodbLookups, 'auto');
  t.is(loadConfig({ MONGODB_LOOKUPS: 'batched' }).mongodbLookups, 'batched');
});

test('the documented file form (config/example.json) loads, and the environment overrides it', (t) => {
  const c = loadConfig({ CONFIG_FILE: 'config/example.json', PORT: '4000', LOG_LEVEL: '' });
  t.is(c.issuer, 'https://login.example.com');
  t.is(c.mongodbUri, 'mongodb://127.0.0.1:27017/open_login?replicaSet=rs0');
  t.is(c.port, 4000);
  t.is(c.logLevel, 'info', 'an empty value counts as unset');
});

test('a wrong setting is one line naming it', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: '70000' }, /^PORT: must be at most 65535$/],
    [{ PORT: 'abc' }, /^PORT: must be a whole number from 0 to 65535$/],
    [{ SIGNING_ALG: 'none' }, /^SIGNING_ALG: must be one of ES256, EdDSA, RS256, PS256$/],
    [{ ISSUER: 'ftp://x' }, /^ISSUER: must be an http\(s\) URL$/],
    [{ MONGODB_URI: 'postgres://x' }, /^MONGODB_URI: /],
    [{ ADMIN_TOKEN: 'short' }, /^ADMIN_TOKEN: must be at least 32 characters/],
    [{ MONGODB_LOOKUPS: 'sometimes' }, /^MONGODB_LOOKUPS: /],
    [{ DEFAULT_TOKEN_TTL_SECONDS: '100', MAX_TOKEN_TTL_SECONDS: '10' }, /^DEFAULT_TOKEN_TTL_SECONDS: must not exceed MAX_TOKEN_TTL_SECONDS$/],
  ];
  for (const [env, message] of cases) {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError }, JSON.stringify(env));
    t.regex(error.message, message);
    t.false(error.message.includes('\n'));
  }
});

test('SITE_AUDIENCES: a JSON object of site id to resource indicators, from the environment or the file; anything else is one plain line', (t) => {
  t.is(loadConfig({}).siteAudiences, null);
  const c = loadConfig({ SITE_AUDIENCES: '{"energy-intel": "https://api.energy-intel.example/", "b": ["urn:example:b", "https://b.example/"]}' });
  t.deepEqual({ ...c.siteAudiences }, { 'energy-intel': ['https://api.energy-intel.example/'], b: ['urn:example:b', 'https://b.example/'] });
  t.is(c.siteAudiences!['toString'], undefined, 'no member every object has');
  t.deepEqual(loadConfig({ SITE_AUDIENCES: '{"s": "HTTPS://API.Example/%7ex"}' }).siteAudiences!['s'], ['https://api.example/~x'], 'in RFC 3986 normal form');
  t.deepEqual({ ...loadConfig({ CONFIG_FILE: 'config/example.json' }).siteAudiences }, { 'energy-intel': ['https://api.energy-intel.example/'] });
  const cases: [string, RegExp][] = [
    ['{', /^SITE_AUDIENCES: must be a JSON object of site id to an absolute URI/],
    ['["https://a.example/"]', /^SITE_AUDIENCES: must be a JSON object/],
    ['{"s1": "relative/path"}', /^SITE_AUDIENCES: must map each site to an absolute URI without a fragment .*: site s1 does not$/],
    ['{"s1": []}', /: site s1 does not$/],
    ['{"s1": "https://a.example/#secret-ish"}', /: site s1 does not$/],
    ['{"s1": ["https://a.example/", "https://a.example/"]}', /: site s1 does not$/],
    // One resource in two spellings (RFC 3986 §6.2.2) is one URI named twice.
    ['{"s1": ["https://a.example/", "HTTPS://A.Example/"]}', /: site s1 does not$/],
  ];
  for (const [value, message] of cases) {
    const error = t.throws(() => loadConfig({ SITE_AUDIENCES: value }), { instanceOf: ConfigError }, value);
    t.regex(error.message, message);
    t.false(error.message.includes('secret-ish') || error.message.includes('relative/path'), 'the value is not repeated');
  }
});

test('a config file with an unknown key or bad JSON is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'open-login-config-'));
  writeFileSync(join(dir, 'unknown.json'), JSON.stringify({ PORTT: 1 }));
  writeFileSync(join(dir, 'bad.json'), '{');
  t.throws(() => loadConfig({ CONFIG_FILE: join(dir, 'unknown.json') }), { message: /unknown setting PORTT/ });
  t.throws(() => loadConfig({ CONFIG_FILE: join(dir, 'bad.json') }), { message: /not valid JSON/ });
  t.throws(() => loadConfig({ CONFIG_FILE: join(dir, 'missing.json') }), { message: /cannot be read \(ENOENT\)/ });
});

test('JWKS_URI_ALLOW_LOOPBACK: off unless set to a true value; anything else stops start-up', (t) => {
  t.false(loadConfig({}).jwksUriAllowLoopback);
  for (const on of ['true', '1', 'yes', true] as const) t.true(loadConfig({ JWKS_URI_ALLOW_LOOPBACK: on }).jwksUriAllowLoopback, String(on));
  for (const off of ['false', '0', 'no', false] as const) t.false(loadConfig({ JWKS_URI_ALLOW_LOOPBACK: off }).jwksUriAllowLoopback, String(off));
  t.throws(() => loadConfig({ JWKS_URI_ALLOW_LOOPBACK: 'maybe' }), { instanceOf: ConfigError, message: 'JWKS_URI_ALLOW_LOOPBACK: must be true or false' });
});
