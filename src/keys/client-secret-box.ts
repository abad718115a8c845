import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Sealing of `client_secret_jwt` secrets. Such a secret is the HMAC key of the
 * client's assertions (RFC 7523 §2.2, OpenID Connect Core §9), so the server
 * needs the secret itself, not a hash: it is kept encrypted under
 * `CLIENT_SECRET_KEY` with AES-256-GCM. The client id is bound in as
 * additional authenticated data, so a sealed secret copied onto another
 * client's record does not open.
 *
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

function aad(clientId: string): Buffer {
  return Buffer.from(`open-login client_secret_jwt:${clientId}`, 'utf8');
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new SecretBoxError('the client secret key must be 32 bytes');
}

export function sealClientSecret(secret: string, clientId: string, key: Buffer): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(clientId));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** Throws `SecretBoxError` when the value is malformed, was sealed for another client, or under another key. */
export function openClientSecret(sealed: string, clientId: string, key: Buffer): string {
  checkKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('sealed client secret is malformed');
  const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('sealed client secret is malformed');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(clientId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError('sealed client secret does not open with this key');
  }
}
