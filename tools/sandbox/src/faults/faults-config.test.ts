import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandboxConfigError } from '../sandbox-config-error.js';
import { startSandbox } from '../sandbox-server.js';
import { loadFaultsFile, parseFaultsConfig } from './faults-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-faults-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('faults config', () => {
  it('reads the YAML of the issue', () => {
    const path = file(
      'ok.yaml',
      `operations:\n  "organizations:*": { rate: 10, burst: 10, errorRate: 0.02, resetRate: 0.01 }\n  "fms:PutPolicy": { rate: 1, burst: 2, latencyMs: [50, 400] }\n`,
    );
    expect(loadFaultsFile(path)).toEqual({
      operations: {
        'organizations:*': { rate: 10, burst: 10, errorRate: 0.02, resetRate: 0.01 },
        'fms:PutPolicy': { rate: 1, burst: 2, latencyMs: [50, 400] },
      },
    });
  });

  it.each([
    [{ operations: { 'organizations:*': { rate: -1 } } }, /"operations"\."organizations:\*"\."rate" = -1: must be greater than 0/],
    [{ operations: { 'organizations:*': { rat: 1 } } }, /"operations"\."organizations:\*": Unrecognized key: "rat"/],
    [{ operations: { 'Organizations:list': { rate: 1 } } }, /"operations"\."Organizations:list": keys are "service:Operation" or "service:\*"/],
    [{ operations: { 's3:GetObject': { latencyMs: [10, 1] } } }, /"latencyMs" = \[10,1\]: must be \[min, max\] with min <= max/],
    [{ operations: { 's3:GetObject': { errorRate: 2 } } }, /"errorRate" = 2: must be between 0 and 1/],
    [{ operations: { 's3:GetObject': { burst: 3 } } }, /burst needs a rate/],
  ])('names the bad key of %j', (value, message) => {
    expect(() => parseFaultsConfig(value)).toThrow(message);
    expect(() => parseFaultsConfig(value)).toThrow(SandboxConfigError);
  });

  it('says which file is missing or not YAML', () => {
    expect(() => loadFaultsFile(join(dir, 'missing.yaml'))).toThrow(/faults file .*missing\.yaml cannot be read \(ENOENT\)/);
    expect(() => loadFaultsFile(file('bad.yaml', 'operations: [unclosed'))).toThrow(/faults file .*bad\.yaml is not valid YAML/);
    expect(() => loadFaultsFile(file('rate.yaml', 'operations:\n  "sts:*": { rate: fast }\n'))).toThrow(/faults file .*rate\.yaml: "operations"\."sts:\*"\."rate" = "fast": must be a number/);
  });

  it('reports every problem of a file, one line each naming the field and the value given', () => {
    const path = file('many.yaml', 'operations:\n  "sts:*": { rate: fast, burst: 0.5 }\n  "Fms:list": { rate: 1 }\n  "s3:GetObject": { errorRate: 2, rat: 3 }\n');
    let error: unknown;
    try {
      loadFaultsFile(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SandboxConfigError);
    const { message, problems, exitCode } = error as SandboxConfigError;
    expect(exitCode).toBe(2);
    expect(problems).toEqual([
      '"operations"."sts:*"."rate" = "fast": must be a number of requests per second',
      '"operations"."sts:*"."burst" = 0.5: must be a whole number',
      '"operations"."Fms:list": keys are "service:Operation" or "service:*"',
      '"operations"."s3:GetObject"."errorRate" = 2: must be between 0 and 1',
      '"operations"."s3:GetObject": Unrecognized key: "rat"',
    ]);
    const [first, ...lines] = message.split('\n');
    expect(first).toMatch(/^faults file .*many\.yaml has 5 problems; expected a shape like /);
    expect(lines).toEqual(problems.map((problem) => `  ${problem}`));
  });

  it('names every operation the sandbox does not serve', async () => {
    const started = startSandbox({ faults: { operations: { 'stz:*': { rate: 1 }, 'fms:Nope': { rate: 1 }, 'fms:PutPolicy': { rate: 1 } } } });
    await expect(started).rejects.toThrow(SandboxConfigError);
    await expect(started).rejects.toMatchObject({
      problems: ['"stz:*" names the service "stz", which the sandbox does not serve', '"fms:Nope" names no operation of fms (e.g. "fms:AssociateAdminAccount")'],
    });
  });
});
