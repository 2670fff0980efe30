import { ListRootsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../test/run-cli.js';

describe('orgshield sandbox start', () => {
  it('prints the environment to export, answers the real SDK with it, and stops on SIGTERM', async () => {
    const child = spawnCli(['sandbox', 'start', '--port', '0', '--accounts', '12', '--ous', '2'], {});
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let stdout = '';
    const env = await new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no environment printed: ${stdout}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const vars = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
        if (vars['AWS_REGION']) {
          clearTimeout(timer);
          resolve(vars as Record<string, string>);
        }
      });
    });
    expect(env['AWS_ENDPOINT_URL']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new OrganizationsClient({
      endpoint: env['AWS_ENDPOINT_URL'],
      region: env['AWS_REGION'],
      credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' },
    });
    const roots = await client.send(new ListRootsCommand({}));
    expect(roots.Roots?.[0]?.Id).toMatch(/^r-/);
    client.destroy();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad port with one sentence and exit code 2', async () => {
    const result = await runCli(['sandbox', 'start', '--port', 'eighty'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a whole number, got "eighty".');
  });
});
