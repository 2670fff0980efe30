import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSpecProblem } from '@orgshield/spec-files';
import { describe, expect, it } from 'vitest';
import { validatePolicyFiles } from './policy-file-validation.js';

describe('validatePolicyFiles', () => {
  it('checks every file of a run when one is an alias bomb and one is over the size limit, each refused in one located problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-validate-'));
    const good = join(dir, 'good.yaml');
    await copyFile(fileURLToPath(new URL('../fixtures/specs/shield-regional.yaml', import.meta.url)), good);
    const letters = 'abcdefghij';
    const bomb = join(dir, 'bomb.yaml');
    await writeFile(bomb, [`a: &a [x, x, x, x, x, x, x, x, x]`, ...Array.from({ length: 8 }, (_, i) => `${letters[i + 1]}: &${letters[i + 1]} [${Array(9).fill(`*${letters[i]}`).join(', ')}]`)].join('\n'));
    const big = join(dir, 'big.yaml');
    await writeFile(big, `name: "${'x'.repeat(11 * 1024 * 1024)}"\n`);
    const reports = await validatePolicyFiles([bomb, good, big]);
    expect(reports.map((report) => [report.file, report.problems.map(formatSpecProblem)])).toEqual([
      [bomb, [`${bomb}: expands its aliases (*name) into more than 100000 values, far more than it holds (ORGSHIELD_INPUT_LIMITS raises it)`]],
      [good, []],
      [big, [`${big}: the policy spec file is 11.0 MB, more than the limit of 10.0 MB for an input file (ORGSHIELD_INPUT_LIMITS raises it)`]],
    ]);
    await rm(dir, { recursive: true, force: true });
  });
});
