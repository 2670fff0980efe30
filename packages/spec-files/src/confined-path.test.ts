import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@orgshield/errors';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileNameSlug, pathForWorker, resolveUnderRoot, type PathRoot } from './confined-path.js';

let dir: string;
let root: PathRoot;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'confined-')));
  await mkdir(join(dir, 'root', 'inside'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await symlink(join(dir, 'outside'), join(dir, 'root', 'out'));
  await symlink(join(dir, 'root', 'inside'), join(dir, 'root', 'in'));
  root = { path: join(dir, 'root'), what: 'report folder', setting: 'ORGSHIELD_REPORT_DIR' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveUnderRoot', () => {
  it('resolves a path under the root, through links that stay inside, to folders that do not exist yet', async () => {
    expect(await resolveUnderRoot(root, 'a/b')).toBe(join(dir, 'root', 'a', 'b'));
    expect(await resolveUnderRoot(root, 'in/new')).toBe(join(dir, 'root', 'inside', 'new'));
    expect(await resolveUnderRoot(root, '.')).toBe(join(dir, 'root'));
  });

  it('refuses "..", an absolute path, NUL and a link out, each in one sentence naming the value (exit 2)', async () => {
    const refusals: [string, string][] = [
      ['../x', `The report folder "../x" climbs out with ".."; name a path under ${join(dir, 'root')} (ORGSHIELD_REPORT_DIR).`],
      ['a/../../x', `The report folder "a/../../x" climbs out with ".."; name a path under ${join(dir, 'root')} (ORGSHIELD_REPORT_DIR).`],
      ['/etc', `The report folder "/etc" is an absolute path; name one relative to ${join(dir, 'root')} (ORGSHIELD_REPORT_DIR).`],
      ['x\0y', 'The report folder "x\\u0000y" contains a NUL byte; name a path without one.'],
      ['out/deeper/still', `The report folder "out/deeper/still" leads through a symbolic link to "${join(dir, 'outside')}", outside ${join(dir, 'root')} (ORGSHIELD_REPORT_DIR); name a path under it.`],
    ];
    for (const [path, message] of refusals) {
      const error = await resolveUnderRoot(root, path).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).message).toBe(message);
    }
  });

  it('never returns a path outside the root, whatever the input (property)', async () => {
    const segment = fc.constantFrom('a', '..', '.', 'out', 'in', '', 'x\0', '/', '\\\\', '%2e%2e');
    await fc.assert(fc.asyncProperty(fc.array(segment, { maxLength: 6 }), async (segments) => {
      const path = segments.join('/');
      const resolved = await resolveUnderRoot(root, path).catch((error: unknown) => {
        expect(error).toBeInstanceOf(InvalidInputError);
        return undefined;
      });
      if (resolved !== undefined) expect(resolved === join(dir, 'root') || resolved.startsWith(join(dir, 'root') + '/')).toBe(true);
    }), { numRuns: 300 });
  });
});

describe('pathForWorker', () => {
  it('turns a path typed by the user into one relative to the root, or refuses it naming the flag and the setting', () => {
    const cwdRoot = { path: 'reports', what: 'report', setting: 'ORGSHIELD_REPORT_DIR' };
    expect(pathForWorker('--report', 'reports/incident-42', cwdRoot)).toBe('incident-42');
    expect(pathForWorker('--report', join(process.cwd(), 'reports'), cwdRoot)).toBe('.');
    expect(() => pathForWorker('--report', '/tmp/x', cwdRoot)).toThrow(
      `--report "/tmp/x" is outside the report root ${join(process.cwd(), 'reports')} (ORGSHIELD_REPORT_DIR); name a path under it, or set ORGSHIELD_REPORT_DIR.`,
    );
    expect(() => pathForWorker('--report', 'reports/../..', cwdRoot)).toThrow(InvalidInputError);
  });
});

describe('fileNameSlug', () => {
  it('gives one safe file name for any text: no separator, no leading dot, never "." or ".."', () => {
    expect(fileNameSlug('../../../../')).toBe('_');
    expect(fileNameSlug('a/b\\c d', 12)).toBe('a-b-c-d');
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      const slug = fileNameSlug(text);
      expect(slug).toMatch(/^[\w-][\w.-]{0,63}$/);
    }));
  });
});
