import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli.js';

const GROUPS = ['org', 'policy', 'rollout', 'compliance', 'schedule', 'investigate', 'flows', 'sandbox', 'demo'];

describe('orgshield (the program, loading command groups on demand)', () => {
  it('lists every command group in its help', async () => {
    const help = await runCli(['--help'], {});
    expect(help.code).toBe(0);
    for (const group of GROUPS) expect(help.stdout).toMatch(new RegExp(`^  ${group} `, 'm'));
  }, 60_000);

  it('runs a group named after an option, and suggests a group for a misspelt one', async () => {
    const flows = await runCli(['--debug', 'flows', '--help'], {});
    expect(flows.code).toBe(0);
    expect(flows.stdout).toContain('Usage: orgshield flows');
    const typo = await runCli(['flow', 'analyze'], {});
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown command 'flow'");
    expect(typo.stderr).toContain('(Did you mean flows?)');
  }, 60_000);
});
