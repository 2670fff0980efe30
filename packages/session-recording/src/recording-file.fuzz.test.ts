/**
 * Fuzz suite (fast-check) over recording files: the examples varied with hostile edits and
 * damage. Property: a recording, or a refusal naming what is wrong (InvalidInputError, exit 2),
 * never another error, a hang or a polluted prototype.
 * CI size: 150 cases per example, seeded, within 15 s each; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseRecordingSource } from './recording-loader.js';

describe('fuzz: recording files', () => {
  for (const name of ['admin-recording.yaml', 'elastic-windows-recording.yaml']) {
    it(`${name}: a recording or one refusal naming the problem, for any variation`, async () => {
      const text = readFileSync(fileURLToPath(new URL(`../examples/${name}`, import.meta.url)), 'utf8');
      await fc.assert(fc.asyncProperty(hostileVariants(text), async (variant) => {
        await expectValueOrRefusal(() => parseRecordingSource({ file: name, text: variant }), (error) => error instanceof InvalidInputError);
      }), fuzzParameters(150));
    }, fuzzTimeoutMs());
  }
});
