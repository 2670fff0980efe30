import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './bench-args.js';

const options = {
  rounds: { description: 'rounds', default: '3' },
  distinct: { description: 'distinct conversations' },
};

describe('parseBenchArgs', () => {
  it('gives the defaults, and the values given in either form', () => {
    expect(parseBenchArgs([], 'usage', options)).toEqual({ kind: 'values', values: { rounds: '3', distinct: undefined } });
    expect(parseBenchArgs(['--rounds', '5', '--distinct=10'], 'usage', options)).toEqual({ kind: 'values', values: { rounds: '5', distinct: '10' } });
  });

  it('answers --help and -h with the usage and every option, whatever else is on the line', () => {
    for (const argv of [['--help'], ['-h'], ['--bogus', '--help']]) {
      const parsed = parseBenchArgs(argv, 'npm run bench:x', options);
      expect(parsed.kind).toBe('help');
      if (parsed.kind === 'help') expect(parsed.text).toMatch(/^npm run bench:x\n[\s\S]*--rounds +rounds \(default 3\)\n +--distinct +distinct conversations\n/);
    }
  });

  it.each([
    [['--bogus', '1'], '--bogus is not an option of this benchmark; --help lists them.'],
    [['-r', '1'], '-r is not an option of this benchmark; --help lists them.'],
    [['--rounds'], '--rounds needs a value, e.g. --rounds 3.'],
    [['5'], '"5" is not an option: options are --name value; --help lists them.'],
  ])('refuses %j in one sentence', (argv, sentence) => {
    expect(parseBenchArgs(argv, 'usage', options)).toEqual({ kind: 'bad', sentence });
  });
});

/** Every benchmark the package's scripts run, by its source file. */
const packageRoot = fileURLToPath(new URL('../', import.meta.url));
const scripts = (JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
const benches = Object.entries(scripts)
  .filter(([name]) => name.startsWith('bench:'))
  .map(([name, command]) => [name, /src\/[a-z-]+\.ts/.exec(command)?.[0] as string] as const);

const run = async (file: string, args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', file, ...args], { cwd: packageRoot, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

// Each run starts a process that imports what its benchmark does (a few CPU seconds): every
// benchmark shows it reads its options first with --help, and one the refusals.
describe.concurrent('every benchmark', () => {
  it('has its source file', () => {
    expect(benches.length).toBeGreaterThanOrEqual(7);
    for (const [name, file] of benches) expect(file, name).toBeDefined();
  });

  it.each(benches)('%s prints its usage for --help, exit 0', { timeout: 120_000 }, async (name, file) => {
    const help = await run(file, ['--help']);
    expect(help, name).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^npm run ${name} -w @orgshield/bench -- \\[options\\]\n[\\s\\S]*\n {2}--help +prints this and exits$`, 'm'));
  });

  it('refuses an unknown option and a bad value in one sentence, exit 2', { timeout: 120_000 }, async () => {
    const [unknown, bad, region, twice] = await Promise.all([
      run('src/rollout-plan.ts', ['--nope', '1']),
      run('src/rollout-plan.ts', ['--runs', 'x']),
      run('src/scale-out.ts', ['--regions', 'us-east-1,mars']),
      run('src/rollout-fan-out.ts', ['--regions', 'eu-west-1,eu-west-1']),
    ]);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: '--nope is not an option of this benchmark; --help lists them.\n' });
    expect(bad).toEqual({ code: 2, stdout: '', stderr: '--runs "x" is not a number: give a non-negative number, e.g. --runs 10.\n' });
    expect(region).toEqual({ code: 2, stdout: '', stderr: '--regions "us-east-1,mars": "mars" is not a region name like eu-west-1; give them comma-separated, e.g. --regions us-east-1,eu-west-1.\n' });
    expect(twice).toEqual({ code: 2, stdout: '', stderr: '--regions "eu-west-1,eu-west-1" names eu-west-1 twice.\n' });
  });
});
