/**
 * Fuzz suite (fast-check) over drill files: the example drill varied with hostile edits and
 * damage. Property: a drill, or a refusal naming what is wrong (InvalidInputError, exit 2), never
 * another error, a hang or a polluted prototype.
 * CI size: 200 cases, seeded, within 15 s; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseDrillSource } from './drill-loader.js';

describe('fuzz: drill files', () => {
  it('payments-drill.yaml: a drill or one refusal naming the problem, for any variation', async () => {
    const text = readFileSync(fileURLToPath(new URL('../examples/payments-drill.yaml', import.meta.url)), 'utf8');
    await fc.assert(fc.asyncProperty(hostileVariants(text), async (variant) => {
      await expectValueOrRefusal(() => parseDrillSource({ file: 'payments-drill.yaml', text: variant, caFiles: {} }), (error) => error instanceof InvalidInputError);
    }), fuzzParameters(200));
  }, fuzzTimeoutMs());
});
