import { describe, expect, it } from 'vitest';
import { formatElapsed, progressLine } from './progress-line.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream };
}

describe('progressLine', () => {
  it('rewrites one live line on a terminal, coloured unless NO_COLOR, and clears it when done', () => {
    let t = 0;
    const { writes, stream } = fakeStream(true);
    const line = progressLine('gate', { stream, env: {}, now: () => t });
    line.update('0/289 accounts evaluated');
    t = 65_000;
    line.update('120/289 accounts evaluated');
    line.done();
    expect(writes).toEqual(['\r\x1b[2K\x1b[1mgate\x1b[22m: 0/289 accounts evaluated (0s)', '\r\x1b[2K\x1b[1mgate\x1b[22m: 120/289 accounts evaluated (1m05s)', '\r\x1b[2K']);

    const plain = fakeStream(true);
    progressLine('gate', { stream: plain.stream, env: { NO_COLOR: '1' }, now: () => 0 }).update('waiting');
    expect(plain.writes).toEqual(['\r\x1b[2Kgate: waiting (0s)']);
  });

  it('prints plain lines, at most one per interval, when stderr is not a terminal', () => {
    let t = 0;
    const { writes, stream } = fakeStream(false);
    const line = progressLine('drill', { stream, env: {}, now: () => t, intervalMs: 2000 });
    line.update('launching 0/10');
    t = 500;
    line.update('launching 3/10');
    t = 2500;
    line.update('launching 7/10');
    line.done('10/10 launched');
    expect(writes).toEqual(['drill: launching 0/10 (0s)\n', 'drill: launching 7/10 (2s)\n', 'drill: 10/10 launched (2s)\n']);
  });

  it('formats elapsed time', () => {
    expect([999, 59_000, 61_000, 3_725_000].map(formatElapsed)).toEqual(['0s', '59s', '1m01s', '1h02m']);
  });
});
