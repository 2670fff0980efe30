import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestCoverage, type IngestHistory, type IngestState } from './detective-ingest.js';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 29, 0, minute));
const window = { from: at(100), to: at(200) };

describe('ingestCoverage', () => {
  it('reads the common histories', () => {
    expect(ingestCoverage({ STARTED: at(10) }, window)).toBe('ingesting');
    expect(ingestCoverage({}, window)).toBe('not-ingesting');
    expect(ingestCoverage({ STARTED: at(150) }, window)).toBe('partial');
    expect(ingestCoverage({ STARTED: at(250) }, window)).toBe('not-ingesting');
    expect(ingestCoverage({ STARTED: at(10), STOPPED: at(150) }, window)).toBe('partial');
    expect(ingestCoverage({ STARTED: at(10), STOPPED: at(50) }, window)).toBe('not-ingesting');
    expect(ingestCoverage({ STOPPED: at(10), STARTED: at(50) }, window)).toBe('ingesting');
    expect(ingestCoverage({ DISABLED: at(5) }, window)).toBe('not-ingesting');
    // Started, stopped, restarted after the window: the first stint is not in the history.
    expect(ingestCoverage({ STOPPED: at(150), STARTED: at(250) }, window)).toBe('unknown');
  });

  // Reference: simulate a full history of state changes, keep only what Detective keeps (the
  // last entry into each state), and check the answer never contradicts the real timeline.
  it('never contradicts the history it was computed from', () => {
    const states: IngestState[] = ['STARTED', 'STOPPED', 'DISABLED'];
    const changes = fc
      .array(fc.record({ gap: fc.integer({ min: 1, max: 80 }), state: fc.constantFrom(...states) }), { maxLength: 8 })
      .map((steps) => {
        let minute = 0;
        const timeline: { at: number; state: IngestState }[] = [];
        for (const step of steps) {
          minute += step.gap;
          if (timeline.at(-1)?.state !== step.state) timeline.push({ at: minute, state: step.state });
        }
        return timeline;
      });
    const bounds = fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 300 }));

    fc.assert(
      fc.property(changes, bounds, (timeline, [start, length]) => {
        const history: IngestHistory = {};
        for (const change of timeline) history[change.state] = at(change.at);
        const span = { from: at(start), to: at(start + length) };

        let ingestingMinutes = 0;
        for (let minute = start; minute < start + length; minute += 1) {
          const current = timeline.filter((change) => change.at <= minute).at(-1);
          if (current?.state === 'STARTED') ingestingMinutes += 1;
        }
        const truth = ingestingMinutes === length ? 'ingesting' : ingestingMinutes === 0 ? 'not-ingesting' : 'partial';
        const answer = ingestCoverage(history, span);
        if (answer !== 'unknown') expect(answer).toBe(truth);

        // From the second-latest change on, the history is exact: no 'unknown' there.
        const sorted = Object.values(history).map((d) => d.getTime()).sort((a, b) => b - a);
        const certainFrom = sorted[1] ?? -Infinity;
        if (span.from.getTime() >= certainFrom) expect(answer).toBe(truth);
      }),
    );
  });
});
