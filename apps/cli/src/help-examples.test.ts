import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandPath, helpText } from './help-examples.js';
import { buildProgram } from './program.js';
import { runCli } from '../test/run-cli.js';

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

describe('--help of every command', () => {
  it('shows at least one example, for every command of the whole tree', async () => {
    const program = await buildProgram(['node', 'orgshield']);
    const commands = allCommands(program);
    expect(commands.length).toBeGreaterThan(40);
    const without = commands.filter((command) => !/\nExamples?:\n {2}(\$ )?orgshield /.test(helpText(command))).map((command) => commandPath(command) || '(orgshield)');
    expect(without).toEqual([]);
  }, 60_000);

  it('prints the examples through the built CLI', async () => {
    const help = await runCli(['rollout', 'rollback', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:\n  $ orgshield rollout rollback edge-lx3k9a2b1c --wait\n');
  }, 60_000);
});
