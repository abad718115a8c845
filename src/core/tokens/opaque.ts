import { hash, randomBytes } from 'node:crypto';

/**
 * Opaque Open Login tokens: `olt_` + 32 random bytes in base64url (256 bits).
 * The prefix makes them recognisable (and findable by secret scanners); the
 * store keeps only the SHA-256 of the whole token.
 */
export const OPAQUE_PREFIX = 'olt_';
const OPAQUE_PATTERN = /^olt_[A-Za-z0-9_-]{43}$/;

export function generateOpaqueToken(): string {
  return OPAQUE_PREFIX + randomBytes(32).toString('base64url');
}

export function isOpaqueTokenShape(token: string): boolean {
  return OPAQUE_PATTERN.test(token);
}

/** SHA-256, base64url: the only form of an opaque token the store ever sees. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** Identifiers (`jti`, client ids): 128 random bits, base64url. */
export function randomId(bytes = 16): string {
  // Never a leading "-": an id like "-ll9c..." reads as an option to every
  // command-line tool (ours included). Drawing again costs under 0.03 bits.
  for (;;) {
    const id = randomBytes(bytes).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
