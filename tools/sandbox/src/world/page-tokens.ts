import { createHmac, randomBytes } from 'node:crypto';

/**
 * Opaque pagination tokens, as AWS hands out: the position is sealed with an HMAC over the
 * listing it belongs to (operation and its filters), so a forged token, or one from another
 * listing or an earlier sandbox, is refused rather than misread.
 */
export class PageTokens {
  private readonly secret = randomBytes(32);

  encode(listing: string, position: string): string {
    const payload = Buffer.from(position, 'utf8').toString('base64url');
    return `${payload}.${this.seal(listing, position)}`;
  }

  /** The position, or undefined for a token this listing did not issue. */
  decode(listing: string, token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot < 0) return undefined;
    const position = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
    return this.seal(listing, position) === token.slice(dot + 1) ? position : undefined;
  }

  private seal(listing: string, position: string): string {
    return createHmac('sha256', this.secret).update(`${listing}\n${position}`).digest('base64url').slice(0, 22);
  }
}
