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

  /**
   * One page of `items` from the offset a token holds (none, or an empty one: the start), and
   * the token of the next page when there is one. `refuse` is the service's own error for a
   * token this listing did not issue.
   */
  page<T>(listing: string, items: readonly T[], token: string | undefined, size: number, refuse: () => Error): { items: T[]; next: string | undefined } {
    let start = 0;
    if (token !== undefined && token !== '') {
      const position = this.decode(listing, token);
      if (position === undefined || !/^\d+$/.test(position)) throw refuse();
      start = Number(position);
    }
    const end = start + size;
    return { items: items.slice(start, end), next: end < items.length ? this.encode(listing, String(end)) : undefined };
  }

  private seal(listing: string, position: string): string {
    return createHmac('sha256', this.secret).update(`${listing}\n${position}`).digest('base64url').slice(0, 22);
  }
}
