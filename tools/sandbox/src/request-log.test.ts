import { describe, expect, it } from 'vitest';
import { RequestLog, type RequestLogEntry } from './request-log.js';

function entry(t: number): RequestLogEntry {
  return { t, service: 's3', operation: 'GetObject', account: '111122223333', region: 'us-east-1', status: 200, error: null, latencyMs: 1 };
}

describe('RequestLog', () => {
  it('keeps every entry in order until full, then the newest `capacity`, oldest first', () => {
    const log = new RequestLog(undefined, 5);
    for (let t = 0; t < 3; t++) log.record(entry(t));
    expect(log.entries().map((e) => e.t)).toEqual([0, 1, 2]);
    for (let t = 3; t < 12; t++) {
      log.record(entry(t));
      const kept = log.entries().map((e) => e.t);
      expect(kept).toEqual(Array.from({ length: Math.min(5, t + 1) }, (_, i) => t + 1 - Math.min(5, t + 1) + i));
    }
  });

  it('records in constant time once full (a million requests past a 200,000-entry memory)', () => {
    const log = new RequestLog(undefined);
    const started = performance.now();
    for (let t = 0; t < 1_200_000; t++) log.record(entry(t));
    const elapsedMs = performance.now() - started;
    const kept = log.entries();
    expect(kept).toHaveLength(200_000);
    expect(kept[0]?.t).toBe(1_000_000);
    expect(kept.at(-1)?.t).toBe(1_199_999);
    // The spliced array took minutes for this; the ring takes well under a second on a slow core.
    expect(elapsedMs).toBeLessThan(5_000);
  });
});
