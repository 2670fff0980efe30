import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRollout, parseRolloutSource, RolloutFileError } from './rollout-loader.js';

const example = fileURLToPath(new URL('../examples/edge-rollout.yaml', import.meta.url));

const WAF = `name: waf
type: WAFV2
resourceTypes: [alb]
regions: [eu-west-1]
rules:
  defaultAction: ALLOW
`;

function problemsOf(text: string, policyFiles: Record<string, string> = { 'waf.yaml': WAF }) {
  try {
    parseRolloutSource({ file: 'rollout.yaml', text, policyFiles });
  } catch (error) {
    if (error instanceof RolloutFileError) return error.problems.map((p) => `${p.file}:${p.line ?? '?'} ${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('loadRollout', () => {
  it('loads the example with its policy files, defaults filled in', async () => {
    const loaded = await loadRollout(example);
    expect(loaded.rollout.name).toBe('edge-protection');
    expect(loaded.policies.map((policy) => [policy.spec.name, policy.origin])).toEqual([
      ['edge-waf-baseline', 'policies/regional-waf.yaml'],
      ['edge-shield', 'policies/regional-shield.yaml'],
    ]);
    expect(loaded.rollout.waves[0]).toMatchObject({ mode: 'audit', soakTime: 600_000, gates: { timeout: 3_600_000 } });
    expect(Object.keys(loaded.source.policyFiles)).toEqual(['policies/regional-waf.yaml', 'policies/regional-shield.yaml']);
  });

  it('reads policy files only from the rollout file\'s folder: "..", an absolute path and a link out are one sentence, exit 2', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'rollout-paths-')));
    await mkdir(join(dir, 'rollouts'));
    await writeFile(join(dir, 'secret.yaml'), 'not: yours\n');
    await symlink(join(dir, 'secret.yaml'), join(dir, 'rollouts', 'link.yaml'));
    const rollout = (policy: string) => `kind: Rollout\nname: r1\npolicies: [${JSON.stringify(policy)}]\nwaves:\n  - name: all\n    targets: { ous: [Root] }\n    mode: audit\n`;
    const folder = join(dir, 'rollouts');
    const cases: [string, string][] = [
      ['../secret.yaml', `The policy file "../secret.yaml" climbs out with ".."; name a path under ${folder} (the rollout file's folder).`],
      [join(dir, 'secret.yaml'), `The policy file ${JSON.stringify(join(dir, 'secret.yaml'))} is an absolute path; name one relative to ${folder} (the rollout file's folder).`],
      ['link.yaml', `The policy file "link.yaml" leads through a symbolic link to ${JSON.stringify(join(dir, 'secret.yaml'))}, outside ${folder} (the rollout file's folder); name a path under it.`],
    ];
    for (const [policy, message] of cases) {
      await writeFile(join(folder, 'rollout.yaml'), rollout(policy));
      const error = await loadRollout(join(folder, 'rollout.yaml')).catch((e: unknown) => e);
      expect(error).toMatchObject({ exitCode: 2, message });
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing rollout file in one sentence', async () => {
    await expect(loadRollout('/nonexistent/rollout.yaml')).rejects.toThrow('The rollout file /nonexistent/rollout.yaml does not exist; check the path.');
  });
});

describe('parseRolloutSource', () => {
  const base = `kind: Rollout
name: r1
policies: [waf.yaml]
waves:
  - name: canary
    targets: { ous: [Root/Canary] }
    mode: audit
`;

  it('accepts a minimal rollout', () => {
    expect(problemsOf(base)).toEqual([]);
  });

  it('points at the line and path of each bad field in the rollout', () => {
    const text = `kind: Rollout
name: r1
policies: [waf.yaml]
waves:
  - name: canary
    targets: { ous: [Root/Canary] }
    mode: enforce
    soakTime: 10 minutes
    gates:
      maxNonCompliantAccounts: -1
      haltOn: [X]
`;
    expect(problemsOf(text)).toEqual([
      'rollout.yaml:7 waves[0].mode: must be "audit" or "remediate", not "enforce"',
      'rollout.yaml:8 waves[0].soakTime: a duration looks like 30s, 10m or 1h30m',
      'rollout.yaml:10 waves[0].gates.maxNonCompliantAccounts: must be at least 0, not -1',
      'rollout.yaml:11 waves[0].gates.haltOn: unknown field "haltOn"',
    ]);
  });

  it('points into the policy file for a bad referenced spec, and into the rollout for an inline one', () => {
    expect(problemsOf(base, { 'waf.yaml': WAF.replace('defaultAction: ALLOW', 'defaultAction: DENY') })).toEqual([
      'waf.yaml:6 rules.defaultAction: must be "ALLOW" or "BLOCK", not "DENY"',
    ]);
    const inline = base.replace('policies: [waf.yaml]', 'policies:\n  - spec:\n      name: s\n      type: SHIELD_ADVANCED\n      resourceTypes: [eip, vpc]\n      regions: [eu-west-1]');
    expect(problemsOf(inline)).toEqual([
      expect.stringMatching(/^rollout\.yaml:7 policies\[0\]\.spec\.resourceTypes\[1\]: resource type "vpc" cannot be protected by a SHIELD_ADVANCED policy/),
    ]);
  });

  it('reports a policy file that was not read, duplicate waves and an audit copy name that collides', () => {
    const text = `kind: Rollout
name: r1
policies: [waf.yaml, other.yaml]
auditSuffix: -x
waves:
  - { name: a, targets: { all: true }, mode: audit }
  - { name: a, targets: { all: true }, mode: remediate }
`;
    expect(problemsOf(text, { 'waf.yaml': WAF })).toEqual([
      'rollout.yaml:7 waves[1].name: wave a is named twice',
    ]);
    const fixed = text.replace('  - { name: a, targets: { all: true }, mode: remediate }', '  - { name: b, targets: { all: true }, mode: remediate }');
    expect(problemsOf(fixed, { 'waf.yaml': WAF })).toEqual(['rollout.yaml:3 policies[1]: policy file other.yaml was not read; check the path']);
    expect(problemsOf(fixed, { 'waf.yaml': WAF, 'other.yaml': WAF.replace('name: waf', 'name: waf-x') })).toEqual([
      'rollout.yaml:4 auditSuffix: the audit copy of waf would take the name of policy waf-x; choose another auditSuffix',
    ]);
  });

  it('refuses what is not YAML, with its line', () => {
    expect(problemsOf('kind: Rollout\nname: [unclosed\n')[0]).toMatch(/^rollout\.yaml:\d+ : not valid YAML or JSON/);
  });
});
