/**
 * Resource indicators (RFC 8707 §2): the URIs a token is meant for, which
 * become its `aud`. Each is an absolute URI (RFC 3986 §4.3: a scheme, no
 * fragment).
 *
 * Equivalence: RFC 7519 §4.1.3 compares `aud` values as case-sensitive
 * strings, so two spellings of one resource would be two audiences. What this
 * server is given (admin API, CLI, `SITE_AUDIENCES`) is therefore written in
 * its RFC 3986 §6.2.2 normal form before it is signed:
 * scheme and host in lower case, percent-encodings of unreserved characters
 * decoded and the others' hex digits in upper case (§6.2.2.1, §6.2.2.2).
 * `HTTPS://API.Example.COM/` is issued as `https://api.example.com/`, and a
 * list naming both is one URI named twice. Path, query and userinfo keep
 * their case; dot segments and scheme-based rules (§6.2.2.3, §6.2.3: default
 * port, empty path) are not applied, so `https://a.example` and
 * `https://a.example/` stay different resources. A token and its grant are
 * compared as written: both are written by one issuer from one value; so is
 * `TOKEN_AUDIENCE`, which the login service's older tokens spell as it does.
 *
 * The caps keep a token well under the 4096 characters a token may have:
 * five URIs of 255 characters are about 1.7 KiB of base64url.
 */

/** RFC 3986 §4.3 `absolute-URI`: scheme ":" then URI characters or %XX escapes; no "#" (no fragment), no spaces. */
export const RESOURCE_URI_PATTERN = "^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9._~!$&'()*+,;=:@/?\\[\\]-]|%[0-9A-Fa-f]{2})+$";
const RESOURCE_URI = new RegExp(RESOURCE_URI_PATTERN);

export const MAX_RESOURCES = 5;
export const MAX_RESOURCE_LENGTH = 255;

/** The rule, in the words every refusal uses (never repeating the value). */
export const RESOURCE_RULE = `an absolute URI without a fragment (RFC 8707 §2), at most ${MAX_RESOURCE_LENGTH} characters`;
export const RESOURCES_RULE = `must be ${RESOURCE_RULE}, or a list of 1-${MAX_RESOURCES} different ones`;

export function isResourceUri(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_RESOURCE_LENGTH && RESOURCE_URI.test(value);
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/**
 * RFC 3986 §6.2.2.1-2 normal form of a resource URI (see the top of this
 * file): lower-case scheme and host (the authority after any userinfo),
 * unreserved characters decoded, other percent-encodings in upper case.
 */
export function normalResourceUri(uri: string): string {
  const colon = uri.indexOf(':');
  let rest = uri.slice(colon + 1);
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?]/);
    const authority = end === -1 ? rest.slice(2) : rest.slice(2, end + 2);
    const at = authority.lastIndexOf('@');
    const host = authority.slice(at + 1).toLowerCase();
    rest = `//${authority.slice(0, at + 1)}${host}${end === -1 ? '' : rest.slice(end + 2)}`;
  }
  const normal = `${uri.slice(0, colon).toLowerCase()}:${rest}`;
  return normal.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * One URI or a non-empty list of different ones, as a list in normal form
 * (`normalResourceUri`); or the problem in plain words (which never repeat
 * the value: it may be anything). Two spellings of one resource are one URI
 * named twice.
 */
export function resourceList(value: unknown): { ok: true; uris: string[] } | { ok: false; problem: string } {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RESOURCES) return { ok: false, problem: RESOURCES_RULE };
  for (const [i, uri] of list.entries()) {
    if (!isResourceUri(uri)) return { ok: false, problem: list.length === 1 ? `must be ${RESOURCE_RULE}` : `item ${i + 1} must be ${RESOURCE_RULE}` };
  }
  const uris = (list as string[]).map(normalResourceUri);
  if (new Set(uris).size !== uris.length) return { ok: false, problem: 'must not name a URI twice' };
  return { ok: true, uris };
}

/** RFC 7519 §4.1.3: one audience is written as a string, several as an array. */
export function audienceClaim(uris: readonly string[]): string | string[] {
  return uris.length === 1 ? uris[0]! : [...uris];
}

/**
 * Whether two audiences name the same URIs (a string and a one-item array are
 * the same audience). `b` is a grant's audience: distinct URIs, at most
 * MAX_RESOURCES. Checked on every JWT introspection, so it allocates nothing:
 * a string against one URI is one comparison, and lists of at most a few
 * entries are scanned.
 */
export function sameAudience(a: string | readonly string[], b: readonly string[]): boolean {
  if (typeof a === 'string') return b.length === 1 && b[0] === a;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const uri = a[i]!;
    if (!b.includes(uri)) return false;
    // Equal lengths and no repeats in `a`: every URI of `b` is named once.
    for (let j = 0; j < i; j++) if (a[j] === uri) return false;
  }
  return true;
}
