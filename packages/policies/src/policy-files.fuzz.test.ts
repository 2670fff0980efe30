/**
 * Fuzz suite (fast-check) over the parsers of hostile input in this package: policy spec files
 * (YAML and JSON) and CloudFormation templates. Property: a value, or a refusal naming what is
 * wrong (InvalidInputError, exit 2), never another error, a hang or a polluted prototype.
 * CI size: 150 cases per file kind, seeded, within 15 s each; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importCfn } from './cfn-policy-import.js';
import { CFN_YAML_TAGS } from './cfn-yaml-tags.js';
import { parsePolicySpecText } from './policy-spec-loader.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const read = (folder: string) => readdirSync(join(fixtures, folder)).map((name) => ({ name, text: readFileSync(join(fixtures, folder, name), 'utf8') }));
const refused = (error: unknown) => error instanceof InvalidInputError;

describe('fuzz: policy spec files', () => {
  for (const { name, text } of read('specs')) {
    it(`${name}: a spec or one refusal naming the problem, for any variation`, async () => {
      let accepted = 0;
      await fc.assert(fc.asyncProperty(hostileVariants(text), async (variant) => {
        await expectValueOrRefusal(() => {
          parsePolicySpecText(variant, name);
          accepted++;
        }, refused);
      }), fuzzParameters(150));
      if (!name.includes('errors')) expect(accepted).toBeGreaterThan(0); // the valid file itself is among the cases
    }, fuzzTimeoutMs());
  }
});

describe('fuzz: CloudFormation templates', () => {
  for (const { name, text } of read('cfn')) {
    it(`${name}: policies or one refusal naming the problem, for any variation`, async () => {
      await fc.assert(fc.asyncProperty(hostileVariants(text, { customTags: CFN_YAML_TAGS }), async (variant) => {
        await expectValueOrRefusal(() => importCfn(variant, { fileName: name, region: 'us-east-1' }), refused);
      }), fuzzParameters(150));
    }, fuzzTimeoutMs());
  }
});
