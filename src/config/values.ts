import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { MAX_RESOURCES, RESOURCES_RULE, resourceList } from '../lib/resource-indicators.js';

/**
 * The value parsers settings are declared with (`settings.ts`). Each takes the
 * string form an environment variable has (or a JSON value from `CONFIG_FILE`)
 * and every failure it reports is plain words that follow the variable's name:
 * `PORT: must be at most 65535`.
 */

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

/** A whole number from `min` to `max`. */
export const intIn = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** Any string, even `''` (which only a config file can give: an empty variable counts as unset). */
export const str = () => z.string({ error: 'must be text' });

/** A string that is not empty. */
export const text = () => str().min(1, 'must not be empty');

/** One of `values`, spelled exactly. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

/** The one boolean parser: `true`/`false`, `1`/`0`, `yes`/`no` (or a JSON boolean). */
export const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])], { error: 'must be true or false' })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/** An http(s) URL, without trailing slashes. */
export const httpUrl = () =>
  z
    .string({ error: 'must be an http(s) URL' })
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL')
    .transform((v) => v.replace(/\/+$/, ''));

/** A secret that must be long enough to be random. */
export const secret = (hint = '') =>
  str().min(32, `must be at least 32 characters${hint}`);

/** `schema`, or `null` when unset (a JSON `null` is still refused). */
export const orNull = <T extends z.ZodType>(schema: T) =>
  schema.optional().transform((v) => v ?? null);

const trustProxyMessage =
  'must be false, a number of proxy hops, or a comma-separated list of proxy addresses, CIDR ranges, loopback, linklocal, uniquelocal';

export const trustProxy = z
  .union([z.boolean(), z.number(), z.string()], { error: trustProxyMessage })
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
      ctx.addIssue({ code: 'custom', message: trustProxyMessage });
    }
    return { hops: 0, addresses };
  });

const siteAudiencesMessage = `must be a JSON object of site id to an absolute URI or a list of 1-${MAX_RESOURCES} of them (RFC 8707 resource indicators)`;

/**
 * `SITE_AUDIENCES`: the default audience (RFC 8707 resource indicators) of
 * each site's tokens, as JSON text (an environment variable) or an object
 * (`CONFIG_FILE`). A null-prototype object, so no site id can name a
 * member every object has.
 */
export const siteAudiences = z
  .union([z.string(), z.record(z.string(), z.unknown())], { error: siteAudiencesMessage })
  .transform((v, ctx): Record<string, string[]> => {
    const out = Object.create(null) as Record<string, string[]>;
    let parsed: unknown = v;
    if (typeof v === 'string') {
      try {
        parsed = JSON.parse(v);
      } catch {
        parsed = undefined;
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: siteAudiencesMessage });
      return out;
    }
    for (const [site, value] of Object.entries(parsed)) {
      const checked = resourceList(value);
      if (!checked.ok) {
        // The site id is the operator's own text (shown printable, cut short); the value is never repeated.
        const named = site.replace(/[^\x21-\x7e]/g, '?').slice(0, 128);
        ctx.addIssue({ code: 'custom', message: `must map each site to ${RESOURCES_RULE.replace(/^must be /, '')}: site ${named} does not` });
        return out;
      }
      out[site] = checked.uris;
    }
    return out;
  })
  .meta({ description: RESOURCES_RULE });

/** A 256-bit key given as hex or base64 (standard or URL-safe); null when it is not exactly that. */
function decodeKey32(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) return null;
  const key = Buffer.from(v, 'base64');
  return key.length === 32 ? key : null;
}

const key32Message = 'must be 32 bytes: 64 hex characters or base64 (openssl rand -base64 32)';

export const key32 = z.string({ error: key32Message }).transform((v, ctx) => {
  const key = decodeKey32(v);
  if (!key) ctx.addIssue({ code: 'custom', message: key32Message });
  return key ?? Buffer.alloc(0);
});

/**
 * Plain words for any issue a parser above did not word itself, so that no
 * zod message ("Invalid input: expected ...") reaches an operator.
 */
export function plainWords(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'string' ? 'must be text' : `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    default:
      return 'is not valid';
  }
}
