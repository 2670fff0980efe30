import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRecording, renderElasticScriptsZip, renderSessionScripts } from '@orgshield/session-recording';
import { startSandbox } from '@orgshield/sandbox';
import { runCli } from '../test/run-cli.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const examples = 'packages/session-recording/examples';

describe('orgshield recording scripts (end to end)', () => {
  it('writes config.json and the runnable recorder, and says the Image Assistant steps', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recording-scripts-'));
    const result = await runCli(['recording', 'scripts', `${examples}/admin-recording.yaml`, '--out', out], {});
    expect(result.code, result.stderr).toBe(0);
    const { recording } = await loadRecording(`${repoRoot}${examples}/admin-recording.yaml`);
    for (const script of renderSessionScripts(recording)) {
      expect(readFileSync(join(out, script.name), 'utf8')).toBe(script.content);
      expect(statSync(join(out, script.name)).mode & 0o777).toBe(script.executable ? 0o755 : 0o644);
      expect(result.stdout).toContain(join(out, script.name));
    }
    expect(result.stderr).toContain('Image Assistant has no API');
    expect(result.stderr).toContain('/opt/appstream/SessionScripts');
  });

  it('writes the zip for an Elastic fleet, and lists it with --output json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recording-scripts-'));
    const result = await runCli(['recording', 'scripts', `${examples}/elastic-windows-recording.yaml`, '--out', out, '--output', 'json'], {});
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { platform: string; files: { file: string }[]; imageAssistantSteps: string[] };
    expect(report.platform).toBe('windows');
    expect(report.files.map((entry) => entry.file)).toEqual(['config.json', 'orgshield-recorder.ps1', 'session-scripts.zip'].map((name) => join(out, name)));
    expect(report.imageAssistantSteps).toEqual([]);
    const { recording } = await loadRecording(`${repoRoot}${examples}/elastic-windows-recording.yaml`);
    expect(readFileSync(join(out, 'session-scripts.zip')).equals(renderElasticScriptsZip(recording))).toBe(true);
  });

  it('refuses a bad file with every problem at its line and field, exit code 2, nothing written', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'recording-bad-'));
    const bad = join(directory, 'bad.yaml');
    const text = readFileSync(`${repoRoot}${examples}/admin-recording.yaml`, 'utf8').replace('waitingTime: 30', 'waitingTime: 90').replace('type: ON_DEMAND', 'type: SPOT');
    writeFileSync(bad, text);
    const out = join(directory, 'out');
    const result = await runCli(['recording', 'scripts', bad, '--out', out], {});
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      `${bad}:19:16 sessionScripts.waitingTime: AppStream waits at most 60 seconds for session scripts`,
      `${bad}:29:11 appstream.fleet.type: must be "ALWAYS_ON" or "ON_DEMAND" or "ELASTIC", not "SPOT"`,
      `orgshield: ${bad} has 2 problems (listed above); nothing was done.`,
      '',
    ]);
    expect(() => statSync(out)).toThrow();
  });
});

describe('orgshield recording against the sandbox (end to end)', () => {
  it('plan shows the changes, setup makes them up to the image, a second plan shows only what waits for Image Assistant; erase is a dry run unless --yes', { timeout: 180_000 }, async () => {
    const sandbox = await startSandbox({ port: 0, accounts: 10, ous: 1, seed: 4, timeScale: 0.001 });
    try {
      const management = sandbox.world.org.managementAccountId;
      const accounts = sandbox.world.snapshot().accounts.filter((account) => account.status === 'ACTIVE' && account.id !== management).slice(0, 2).map((account) => account.id);
      const directory = mkdtempSync(join(tmpdir(), 'recording-e2e-'));
      const file = join(directory, 'recording.yaml');
      const text = readFileSync(`${repoRoot}${examples}/admin-recording.yaml`, 'utf8')
        .replace('  ous: [Root/Workloads/Prod]', `  accounts: [${accounts.map((account) => `"${account}"`).join(', ')}]`)
        .replace('regions: [eu-west-1]', 'regions: [us-east-1]');
      writeFileSync(file, text);
      const env = sandbox.env();

      const plan = await runCli(['recording', 'plan', file, '--output', 'json'], env);
      expect(plan.code, plan.stderr).toBe(0);
      const planned = JSON.parse(plan.stdout) as { targets: { account: string; steps: { step: string; changes: string[] }[] }[] };
      expect(planned.targets.map((target) => target.account)).toEqual(accounts);
      expect(planned.targets[0]!.steps.find((step) => step.step === 'fleet')?.changes).toEqual(['create ON_DEMAND fleet admin-fleet on image admin-recording-image', 'start fleet admin-fleet']);

      const setup = await runCli(['recording', 'setup', file, '--wait-seconds', '3'], env, { timeoutMs: 150_000 });
      // The image is made by hand: setup says so and exits 1, having done everything before it.
      expect(setup.code).toBe(1);
      expect(setup.stderr).toContain('Image Assistant');
      expect(setup.stderr).toContain('2 of 2 targets wait for their image');
      expect(setup.stderr).not.toContain('ada@example.com');

      const again = await runCli(['recording', 'plan', file, '--output', 'json'], env);
      const steps = (JSON.parse(again.stdout) as typeof planned).targets[0]!.steps.filter((step) => step.changes.length > 0).map((step) => step.step);
      expect(steps).toEqual(['image', 'fleet', 'stack', 'users']);

      const erase = await runCli(['recording', 'erase', file, '--user', 'Ada@Example.com'], env);
      expect(erase.code, erase.stderr).toBe(0);
      expect(erase.stderr).toContain('0 object versions would be erased; run again with --yes');
    } finally {
      await sandbox.close();
    }
  });
});
