import { createHmac } from 'node:crypto';
import { InvalidInputError } from '@orgshield/errors';

/**
 * A user's pseudonym: HMAC-SHA256 of the user pool name, lowercased in ASCII only (as the
 * recorders do with `LC_ALL=C tr` and ToLowerInvariant on ASCII names), keyed by the pseudonym key.
 * It names the user's folder in every bucket, so list, export and erase are prefix listings, and
 * it is what logs, job data and erasure records carry instead of the name.
 */
export function userPseudonym(key: string, userName: string): string {
  return createHmac('sha256', pseudonymKeyBytes(key))
    .update(userName.replace(/[A-Z]/g, (letter) => letter.toLowerCase()), 'utf8')
    .digest('hex');
}

/** The key as stored: 32 random bytes, base64 (as setup writes it) or 64 hexadecimal digits. */
export function pseudonymKeyBytes(key: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, 'hex');
  const bytes = /^[A-Za-z0-9+/]{43}=$/.test(key) ? Buffer.from(key, 'base64') : undefined;
  if (bytes?.length !== 32) throw new InvalidInputError('The pseudonym key is not 32 bytes in base64 or hexadecimal; rotate it with a well-formed value.');
  return bytes;
}
