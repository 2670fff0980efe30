import { createHmac } from 'node:crypto';
import { InvalidInputError } from '@orgshield/errors';

/**
 * A user's pseudonym: HMAC-SHA256 of the user pool name, lowercased in ASCII only (as the
 * recorders do with `LC_ALL=C tr` and ToLowerInvariant on ASCII names), keyed by the pseudonym key.
 * It names the user's folder in every bucket, so list, export and erase are prefix listings, and
 * it is what logs, job data and erasure records carry instead of the name.
 */
export function userPseudonym(keyHex: string, userName: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(keyHex)) {
    throw new InvalidInputError('The pseudonym key is not 64 hexadecimal digits (32 random bytes); rotate it with a well-formed value.');
  }
  return createHmac('sha256', Buffer.from(keyHex, 'hex'))
    .update(userName.replace(/[A-Z]/g, (letter) => letter.toLowerCase()), 'utf8')
    .digest('hex');
}
