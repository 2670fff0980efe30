import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTokens } from './page-tokens.js';

describe('PageTokens', () => {
  it('gives back the position it sealed, for the same listing', () => {
    const tokens = new PageTokens();
    fc.assert(
      fc.property(fc.string(), fc.string(), (listing, position) => {
        expect(tokens.decode(listing, tokens.encode(listing, position))).toBe(position);
      }),
    );
  });

  it('refuses a token of another listing, another sandbox, or a tampered one', () => {
    const tokens = new PageTokens();
    const token = tokens.encode('ListAccounts', '20');
    expect(tokens.decode('ListChildren:r-ab12:ACCOUNT', token)).toBeUndefined();
    expect(new PageTokens().decode('ListAccounts', token)).toBeUndefined();
    const forged = `${Buffer.from('40').toString('base64url')}${token.slice(token.indexOf('.'))}`;
    expect(tokens.decode('ListAccounts', forged)).toBeUndefined();
    expect(tokens.decode('ListAccounts', 'garbage')).toBeUndefined();
    expect(tokens.decode('ListAccounts', '')).toBeUndefined();
  });

  it('is opaque: the position does not stand in the token as a number a client could edit', () => {
    // A long position, so that random seal bytes cannot spell it by chance (a short one did, 1 run in 40).
    const tokens = new PageTokens();
    const token = tokens.encode('ListAccounts', '987654321');
    expect(token).not.toContain('987654321');
    const [payload, seal] = token.split('.');
    const edited = `${Buffer.from('987654322').toString('base64url')}.${seal}`;
    expect(payload).not.toBe(Buffer.from('987654322').toString('base64url'));
    expect(tokens.decode('ListAccounts', edited)).toBeUndefined();
  });
});
