/**
 * Resource indicators (RFC 8707 §2): the URIs a token is meant for, which
 * become its `aud`. Each is an absolute URI (RFC 3986 §4.3: a scheme, no
 * fragment), compared as written (RFC 7519 §4.1.3: case-sensitive strings).
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

/**
 * One URI or a non-empty list of different ones, as a list; or the problem
 * in plain words (which never repeat the value: it may be anything).
 */
export function resourceList(value: unknown): { ok: true; uris: string[] } | { ok: false; problem: string } {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RESOURCES) return { ok: false, problem: RESOURCES_RULE };
  for (const [i, uri] of list.entries()) {
    if (!isResourceUri(uri)) return { ok: false, problem: list.length === 1 ? `must be ${RESOURCE_RULE}` : `item ${i + 1} must be ${RESOURCE_RULE}` };
  }
  if (new Set(list).size !== list.length) return { ok: false, problem: 'must not name a URI twice' };
  return { ok: true, uris: [...(list as string[])] };
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
