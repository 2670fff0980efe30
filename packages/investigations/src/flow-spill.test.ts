import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

/** Starts test/spill-folder-process.ts; resolves with the child and its spill folder once the folder exists. */
async function holding(...args: string[]): Promise<{ child: ChildProcess; dir: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', 'test/spill-folder-process.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  while (!output.includes('\n')) await once(child.stdout!, 'data');
  return { child, dir: output.split('\n')[0]!, output: () => output };
}

describe('spill folders', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('go when %s ends the process, which then dies of the signal', async (signal) => {
    const { child, dir } = await holding();
    expect(existsSync(dir)).toBe(true);
    child.kill(signal);
    const [code, killedBy] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, killedBy }).toEqual({ code: null, killedBy: signal });
    expect(existsSync(dir)).toBe(false);
  });

  it('stay while a process that handles SIGTERM itself finishes (the worker letting analyses finish), and go when it exits', async () => {
    const { child, dir, output } = await holding('handles');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output()).toContain('still there: true');
    expect(existsSync(dir)).toBe(false);
  });
});
