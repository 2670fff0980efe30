import { describe, expect, it } from 'vitest';
import { requestWindow } from './investigation-window.js';

const now = new Date('2026-11-30T12:00:00Z');
const finding = { firstSeen: '2026-11-29T10:00:00.000Z', lastSeen: '2026-11-29T10:30:00.000Z' };

describe('requestWindow', () => {
  it('pads a finding 5 minutes before its first sighting and 15 after its last', () => {
    expect(requestWindow({ finding }, now)).toEqual({ from: new Date('2026-11-29T09:55:00Z'), to: new Date('2026-11-29T10:45:00Z') });
  });

  it('lets --from and --to win, each on its own', () => {
    expect(requestWindow({ finding, from: '2026-11-29T08:00:00Z' }, now)).toEqual({
      from: new Date('2026-11-29T08:00:00Z'),
      to: new Date('2026-11-29T10:45:00Z'),
    });
    expect(requestWindow({ to: '2026-11-29T00:00:00Z' }, now)).toEqual({ from: new Date('2026-11-28T00:00:00Z'), to: new Date('2026-11-29T00:00:00Z') });
  });

  it('defaults an entity to the last 24 hours', () => {
    expect(requestWindow({}, now)).toEqual({ from: new Date('2026-11-29T12:00:00Z'), to: now });
  });

  it('refuses empty, unreadable and overlong windows', () => {
    expect(() => requestWindow({ from: '2026-11-30T12:00:00Z', to: '2026-11-30T11:00:00Z' }, now)).toThrow(/--from must be before --to/);
    expect(() => requestWindow({ from: 'yesterday' }, now)).toThrow(/--from "yesterday" is not a time/);
    // Date.parse reads "1" as the year 2001 and 2026-02-30 as March 2: neither is a time here.
    expect(() => requestWindow({ from: '1' }, now)).toThrow(/--from "1" is not a time/);
    expect(() => requestWindow({ to: '2026-02-30T00:00:00Z' }, now)).toThrow(/--to "2026-02-30T00:00:00Z" is not a time/);
    expect(() => requestWindow({ from: '2024-01-01T00:00:00Z' }, now)).toThrow(/longer than a year/);
  });
});
