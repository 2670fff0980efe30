/**
 * Fuzz suite (fast-check) over rollout files: the example rollouts, varied with hostile edits
 * and damage, with their policy files. Property: a rollout, or a refusal naming what is wrong
 * (InvalidInputError, exit 2), never another error, a hang or a polluted prototype.
 * CI size: 150 cases per example, seeded, within 15 s each; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseRolloutSource } from './rollout-loader.js';

const example = (path: string) => readFileSync(fileURLToPath(new URL(`../examples/${path}`, import.meta.url)), 'utf8');
const policyFiles = { 'policies/regional-waf.yaml': example('policies/regional-waf.yaml'), 'policies/regional-shield.yaml': example('policies/regional-shield.yaml') };

describe('fuzz: rollout files', () => {
  for (const name of ['edge-rollout.yaml', 'demo-rollout.yaml']) {
    it(`${name}: a rollout or one refusal naming the problem, for any variation of it or its policy files`, async () => {
      const text = example(name);
      const policy = policyFiles['policies/regional-waf.yaml'];
      await fc.assert(fc.asyncProperty(hostileVariants(text), hostileVariants(policy), async (rollout, waf) => {
        await expectValueOrRefusal(
          () => parseRolloutSource({ file: name, text: rollout, policyFiles: { ...policyFiles, 'policies/regional-waf.yaml': waf } }),
          (error) => error instanceof InvalidInputError,
        );
      }), fuzzParameters(150));
    }, fuzzTimeoutMs());
  }
});
